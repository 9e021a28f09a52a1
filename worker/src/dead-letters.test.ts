import { ErrorCode, type FinalReply, topology } from '@media-foundry/shared';
import type { Broker, Channel, ConsumeMessage, JobStore, Logger } from '@media-foundry/shared/node';
import { DeadLetters } from './dead-letters.js';
import type { ReplyPublisher } from './replies.js';

/** A channel that records what DeadLetters does with it, and hands back its consumer. */
function fakeChannel() {
  const calls = { acked: 0, consumer: null as ((msg: ConsumeMessage | null) => void) | null };
  const ch = {
    assertExchange: () => Promise.resolve(),
    assertQueue: () => Promise.resolve(),
    bindQueue: () => Promise.resolve(),
    prefetch: () => Promise.resolve(),
    consume: (_q: string, fn: (msg: ConsumeMessage | null) => void) => {
      calls.consumer = fn;
      return Promise.resolve({ consumerTag: 't' });
    },
    ack: () => (calls.acked += 1),
    nack: () => {},
  };
  return { ch: ch as unknown as Channel, calls };
}

const logger = { error: () => {}, warn: () => {}, info: () => {}, debug: () => {}, child: () => logger } as unknown as Logger;

describe('DeadLetters', () => {
  it("answers a dead-lettered job and queues its end for the job's webhook", async () => {
    const { ch, calls } = fakeChannel();
    let setup: ((ch: Channel) => Promise<void>) | undefined;
    const broker = {
      channel: (o: { setup: (ch: Channel) => Promise<void> }) => {
        setup = o.setup;
        return { close: () => Promise.resolve() };
      },
    } as unknown as Broker;
    const sent: FinalReply[] = [];
    const replies = { send: (_r: unknown, reply: FinalReply) => (sent.push(reply), Promise.resolve()) } as unknown as ReplyPublisher;
    const store = { readResult: () => Promise.resolve(null), writeResult: () => Promise.resolve() } as unknown as JobStore;
    const finished: { webhook: unknown; reply: FinalReply }[] = [];
    new DeadLetters(broker, topology('t'), { jobDeliveryLimit: 3 }, replies, store, logger, {
      finished: (webhook, reply) => (finished.push({ webhook, reply }), Promise.resolve()),
    });
    await setup!(ch);
    const webhook = { url: 'https://hooks.example.com/a', job_id: 'clip-42' };
    calls.consumer!({
      content: Buffer.from(JSON.stringify({ job_id: 'j1', operation: 'probe', inputs: [], webhook })),
      properties: { correlationId: 'j1', headers: {} },
      fields: {},
    } as unknown as ConsumeMessage);
    await new Promise((r) => setTimeout(r, 20));
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ type: 'error', job_id: 'j1', code: ErrorCode.JOB_FAILED });
    expect(finished).toEqual([{ webhook, reply: sent[0] }]);
    expect(calls.acked).toBe(1);
  });
});
