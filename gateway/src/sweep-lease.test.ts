import { EventEmitter } from 'node:events';
import { type Channel, type ConsumeMessage, createLogger } from '@media-foundry/shared/node';
import { SweepLease } from './sweep-lease.js';

/** A channel that records what the lease does, and lets the test deliver to its consumer. */
class FakeChannel extends EventEmitter {
  deliver: ((m: ConsumeMessage | null) => void) | null = null;
  acked: ConsumeMessage[] = [];
  sent = 0;
  closed = false;
  asserted: unknown[] = [];
  assertQueue(queue: string, options: unknown) {
    this.asserted.push({ queue, options });
    return Promise.resolve({ queue });
  }
  prefetch() {
    return Promise.resolve();
  }
  consume(_queue: string, onMessage: (m: ConsumeMessage | null) => void) {
    this.deliver = onMessage;
    return Promise.resolve({ consumerTag: 'c' });
  }
  sendToQueue() {
    this.sent += 1;
    return true;
  }
  ack(m: ConsumeMessage) {
    this.acked.push(m);
  }
  close() {
    this.closed = true;
    this.emit('close');
    return Promise.resolve();
  }
}

const token = (n: number) => ({ content: Buffer.from('token'), fields: { deliveryTag: n } }) as unknown as ConsumeMessage;

function lease() {
  const channels: FakeChannel[] = [];
  const broker = {
    state: () => 'connected' as const,
    rawChannel: () => {
      const ch = new FakeChannel();
      channels.push(ch);
      return Promise.resolve(ch as unknown as Channel);
    },
  };
  return { lease: new SweepLease(broker as never, 'p.storage-sweeper', createLogger('test', 'silent')), channels };
}

describe('SweepLease', () => {
  it('consumes once, adds one token, and sweeps once a token is delivered to it', async () => {
    const { lease: l, channels } = lease();
    expect(await l.held()).toBe(false);
    expect(await l.held()).toBe(false); // waiting in line: no second channel, no second token
    expect(channels).toHaveLength(1);
    const ch = channels[0]!;
    expect(ch.asserted).toEqual([
      { queue: 'p.storage-sweeper', options: expect.objectContaining({ arguments: { 'x-single-active-consumer': true } }) },
    ]);
    expect(ch.sent).toBe(1);
    ch.deliver!(token(1));
    expect(l.holds).toBe(true);
    expect(await l.held()).toBe(true);
    expect(l.signal.aborted).toBe(false);
  });

  it('acknowledges tokens past its own (one per deployment), keeping its own', async () => {
    const { lease: l, channels } = lease();
    await l.held();
    const ch = channels[0]!;
    const own = token(1);
    ch.deliver!(own);
    const extra = token(2);
    ch.deliver!(extra);
    expect(ch.acked).toEqual([extra]);
    expect(l.holds).toBe(true);
  });

  it('loses the turn with its channel (the token goes back to the queue), stopping a sweep, and consumes afresh', async () => {
    const { lease: l, channels } = lease();
    await l.held();
    channels[0]!.deliver!(token(1));
    const sweep = l.signal;
    channels[0]!.emit('close');
    expect(sweep.aborted).toBe(true);
    expect(l.holds).toBe(false);
    expect(await l.held()).toBe(false);
    expect(channels).toHaveLength(2);
    expect(channels[1]!.sent).toBe(1);
  });

  it('consumes afresh when the broker cancels its consumer (the queue was deleted)', async () => {
    const { lease: l, channels } = lease();
    await l.held();
    channels[0]!.deliver!(null);
    expect(channels[0]!.closed).toBe(true);
    await l.held();
    expect(channels).toHaveLength(2);
  });

  it('gives the token back by closing its channel on release, and takes no turn after', async () => {
    const { lease: l, channels } = lease();
    await l.held();
    channels[0]!.deliver!(token(1));
    const sweep = l.signal;
    await l.release();
    expect(channels[0]!.closed).toBe(true);
    expect(sweep.aborted).toBe(true);
    expect(l.holds).toBe(false);
    expect(await l.held()).toBe(false);
    expect(channels).toHaveLength(1);
  });
});
