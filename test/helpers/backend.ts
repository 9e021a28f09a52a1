/**
 * A backend that talks to media-foundry over AMQP, as docs/AMQP.md tells
 * one to: it publishes jobs to the intake queue with its own `reply_to` and
 * collects the replies there.
 */
import amqplib from 'amqplib';
import { AMQP_URL } from './stack.js';

export interface Backend {
  /** Publishes a job to `<prefix>.jobs`, persistent, replies to this backend. */
  publish(job: { job_id: string } & Record<string, unknown>): void;
  /** Resolves when the broker confirmed every publish so far. */
  confirmed(): Promise<void>;
  /** Every reply received, in order. */
  replies: Record<string, unknown>[];
  /** Waits until every one of `jobIds` has a `completed` reply (or the time runs out). */
  completed(jobIds: string[], timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * Connections a test opened and did not close (it failed before its `close()`): closed after the test file, or
 * Jest would stay up on them after the run.
 */
const open = new Set<amqplib.ChannelModel>();
afterAll(async () => {
  const left = [...open];
  open.clear();
  await Promise.all(left.map((conn) => conn.close().catch(() => {})));
});

export async function connectBackend(prefix: string): Promise<Backend> {
  const conn = await amqplib.connect(AMQP_URL);
  open.add(conn);
  const ch = await conn.createConfirmChannel();
  const { queue: replyQueue } = await ch.assertQueue('', { exclusive: true });
  const replies: Record<string, unknown>[] = [];
  await ch.consume(replyQueue, (m) => m && replies.push(JSON.parse(m.content.toString()) as Record<string, unknown>), { noAck: true });
  const done = (id: string) => replies.some((r) => r.job_id === id && r.type === 'completed');
  return {
    publish: (job) => {
      ch.sendToQueue(`${prefix}.jobs`, Buffer.from(JSON.stringify(job)), {
        persistent: true,
        replyTo: replyQueue,
        correlationId: job.job_id,
        contentType: 'application/json',
      });
    },
    confirmed: () => ch.waitForConfirms(),
    replies,
    completed: async (jobIds, timeoutMs = 90_000) => {
      const deadline = Date.now() + timeoutMs;
      while (jobIds.some((id) => !done(id)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    },
    // once: the file's own clean-up may come after this helper's (Jest runs afterAll hooks in the order they were declared)
    close: () => (open.delete(conn) ? conn.close() : Promise.resolve()),
  };
}
