import { ErrorCode, type FinalReply, type OutputsByKey, topology } from '@media-foundry/shared';
import type { Broker, Channel, ConsumeMessage, JobStore, Logger } from '@media-foundry/shared/node';
import { thumbnailResult } from '@media-foundry/test-support';
import { DEAD_LETTER_ATTEMPTS, DeadLetters } from './dead-letters.js';
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

/** DeadLetters on a fake broker and `store`: what it sends (with any inline outputs), queues for webhooks and acks. */
async function deadLetters(store: JobStore, send: () => Promise<void> = () => Promise.resolve()) {
  const { ch, calls } = fakeChannel();
  let setup: ((ch: Channel) => Promise<void>) | undefined;
  const broker = {
    channel: (o: { setup: (ch: Channel) => Promise<void> }) => {
      setup = o.setup;
      return { close: () => Promise.resolve() };
    },
  } as unknown as Broker;
  const sent: { reply: FinalReply; inline: OutputsByKey | undefined }[] = [];
  const replies = {
    send: (_r: unknown, reply: FinalReply, inline?: OutputsByKey) => send().then(() => void sent.push({ reply, inline })),
  } as unknown as ReplyPublisher;
  const finished: { webhook: unknown; reply: FinalReply }[] = [];
  new DeadLetters(broker, topology('t'), { jobDeliveryLimit: 3 }, replies, store, logger, {
    finished: (webhook, reply) => (finished.push({ webhook, reply }), Promise.resolve()),
  });
  await setup!(ch);
  /** Dead-letters a job message and lets DeadLetters answer it. */
  const deliver = async (body: object, properties: Record<string, unknown> = { correlationId: 'j1' }) => {
    calls.consumer!({
      content: Buffer.from(JSON.stringify(body)),
      properties: { ...properties, headers: {} },
      fields: {},
    } as unknown as ConsumeMessage);
    await new Promise((r) => setTimeout(r, 20));
  };
  return { deliver, sent, finished, calls };
}

describe('DeadLetters', () => {
  it("answers by the body's job_id, what publishers key on, whatever the message's properties say", async () => {
    const store = { readResult: () => Promise.resolve(null), writeResult: () => Promise.resolve() } as unknown as JobStore;
    const { deliver, sent } = await deadLetters(store);
    // a framework that stamps every message with a message_id of its own, and no correlation_id
    await deliver({ job_id: 'backend-1', operation: 'probe', inputs: [] }, { messageId: '5f0e3c1a-8b7d-4e21-9f3a-0c6d2b1e4a77' });
    // a correlation_id that is no job id at all
    await deliver({ job_id: 'backend-2', operation: 'probe', inputs: [] }, { correlationId: 'req 42' });
    expect(sent.map((s) => s.reply.job_id)).toEqual(['backend-1', 'backend-2']);
  });

  it("answers a dead-lettered job and queues its end for the job's webhook", async () => {
    const store = { readResult: () => Promise.resolve(null), writeResult: () => Promise.resolve() } as unknown as JobStore;
    const { deliver, sent, finished, calls } = await deadLetters(store);
    const webhook = { url: 'https://hooks.example.com/a', job_id: 'clip-42' };
    await deliver({ job_id: 'j1', operation: 'probe', inputs: [], webhook });
    expect(sent).toHaveLength(1);
    expect(sent[0]!.reply).toMatchObject({ type: 'error', job_id: 'j1', code: ErrorCode.JOB_FAILED });
    expect(finished).toEqual([{ webhook, reply: sent[0]!.reply }]);
    expect(calls.acked).toBe(1);
  });

  it('answers a job that finished before it was dead-lettered with its stored result, the outputs it holds riding along', async () => {
    const { reply, inline } = thumbnailResult('j1');
    const writes: unknown[] = [];
    const store = {
      readResult: () => Promise.resolve({ reply, finished_at: new Date().toISOString(), inline }),
      writeResult: (r: unknown) => (writes.push(r), Promise.resolve()),
    } as unknown as JobStore;
    const { deliver, sent, calls } = await deadLetters(store);
    await deliver({ job_id: 'j1', operation: 'thumbnail', inputs: [] });
    expect(sent).toEqual([{ reply, inline }]);
    expect(writes).toEqual([]);
    expect(calls.acked).toBe(1);
  });

  it('tries again, rather than answer JOB_FAILED over a stored result it could not read', async () => {
    const { reply } = thumbnailResult('j1');
    const writes: unknown[] = [];
    let storage = 'down';
    const store = {
      readResult: () =>
        storage === 'down'
          ? Promise.reject(new Error('storage (S3) GetObject: 503'))
          : Promise.resolve({ reply, finished_at: '2026-11-27T00:00:00Z' }),
      writeResult: (r: unknown) => (writes.push(r), Promise.resolve()),
    } as unknown as JobStore;
    const { deliver, sent, calls } = await deadLetters(store);
    await deliver({ job_id: 'j1', operation: 'thumbnail', inputs: [] });
    expect([sent, writes, calls.acked]).toEqual([[], [], 0]); // handed back for another try
    storage = 'up';
    await deliver({ job_id: 'j1', operation: 'thumbnail', inputs: [] });
    expect(sent.map((s) => s.reply)).toEqual([reply]);
    expect(writes).toEqual([]);
    expect(calls.acked).toBe(1);
  });

  it('gives a job up after DEAD_LETTER_ATTEMPTS failed answers, rather than send it round for ever', async () => {
    const store = { readResult: () => Promise.resolve(null), writeResult: () => Promise.resolve() } as unknown as JobStore;
    // a reply_to queue that refuses every publish (x-overflow: reject-publish, full)
    const { deliver, calls } = await deadLetters(store, () => Promise.reject(new Error('message nacked')));
    for (let i = 1; i < DEAD_LETTER_ATTEMPTS; i++) await deliver({ job_id: 'j1', operation: 'probe', inputs: [] });
    expect(calls.acked).toBe(0);
    await deliver({ job_id: 'j1', operation: 'probe', inputs: [] });
    expect(calls.acked).toBe(1);
  });
});
