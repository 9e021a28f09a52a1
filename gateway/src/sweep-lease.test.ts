import { EventEmitter } from 'node:events';
import type { ConfirmChannel, ConsumeMessage, Logger } from '@media-foundry/shared/node';
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
  waitForConfirms() {
    return Promise.resolve();
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
      return Promise.resolve(ch as unknown as ConfirmChannel);
    },
  };
  const said: { level: string; msg: string }[] = [];
  const log = (level: string) => (_fields: unknown, msg?: string) => said.push({ level, msg: msg ?? String(_fields) });
  const logger = { info: log('info'), warn: log('warn'), debug: log('debug') } as unknown as Logger;
  return { lease: new SweepLease(broker as never, 'p.storage-sweeper', logger), channels, said };
}

describe('SweepLease', () => {
  it('consumes once, adds a token at each tick, and sweeps once a token is delivered to it', async () => {
    const { lease: l, channels } = lease();
    expect(await l.held()).toBe(false);
    expect(await l.held()).toBe(false); // waiting in line: no second channel
    expect(channels).toHaveLength(1);
    const ch = channels[0]!;
    expect(ch.asserted).toEqual([
      { queue: 'p.storage-sweeper', options: expect.objectContaining({ durable: true, arguments: { 'x-single-active-consumer': true } }) },
    ]);
    expect(ch.sent).toBe(2); // one a tick: a token lost (a purge, a policy) is replaced at the next
    ch.deliver!(token(1));
    expect(l.holds).toBe(true);
    expect(await l.held()).toBe(true);
    expect(l.signal.aborted).toBe(false);
  });

  it('keeps the newest token and acknowledges the one it held: none is held past a tick, one remains', async () => {
    const { lease: l, channels, said } = lease();
    await l.held();
    const ch = channels[0]!;
    const first = token(1);
    ch.deliver!(first);
    const sweep = l.signal;
    const second = token(2);
    ch.deliver!(second);
    expect(ch.acked).toEqual([first]);
    const third = token(3);
    ch.deliver!(third);
    expect(ch.acked).toEqual([first, second]);
    expect(l.holds).toBe(true);
    expect(sweep.aborted).toBe(false); // the same turn goes on
    expect(said.filter((s) => s.msg.startsWith('this gateway sweeps storage'))).toHaveLength(1);
  });

  it("says so when the broker refuses the lease's channel, and consumes afresh at the next tick", async () => {
    const { lease: l, channels, said } = lease();
    await l.held();
    channels[0]!.deliver!(token(1));
    const refused = Object.assign(new Error('PRECONDITION_FAILED - delivery acknowledgement timed out'), { code: 406 });
    channels[0]!.emit('error', refused);
    channels[0]!.emit('close');
    expect(said.find((s) => s.level === 'warn')?.msg).toBe(
      'the broker closed the storage sweeper lease channel; this gateway does not sweep',
    );
    expect(l.holds).toBe(false);
    await l.held();
    expect(channels).toHaveLength(2);
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
    expect(channels[0]!.sent).toBe(1);
  });

  it('consumes afresh when the broker cancels its consumer (the queue was deleted)', async () => {
    const { lease: l, channels } = lease();
    await l.held();
    channels[0]!.deliver!(null);
    expect(channels[0]!.closed).toBe(true);
    await l.held();
    expect(channels).toHaveLength(2);
  });

  it('given up while it starts consuming: adds no token, drops the channel, ignores what that channel delivers', async () => {
    const { lease: l, channels } = lease();
    const ticking = l.held(); // consume() under way: waiting for assertQueue's answer
    const releasing = l.release();
    expect(await ticking).toBe(false);
    await releasing;
    const ch = channels[0]!;
    expect(ch.sent).toBe(0);
    expect(ch.closed).toBe(true);
    ch.deliver?.(token(1)); // a late delivery on the dropped channel: handed back with it
    expect(l.holds).toBe(false);
    expect(await l.held()).toBe(false);
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
