/**
 * Jobs RabbitMQ dead-lettered after JOB_DELIVERY_LIMIT deliveries — each one
 * ended with its worker dying or stalling — get their final answer here, so
 * the client is not left waiting forever: a JOB_FAILED reply, stored as the
 * job's result too (a client that resumes later finds it).
 */
import { type WorkerConfig, ErrorCode, jobId as jobIdSchema, type Topology } from '@media-foundry/shared';
import {
  type Broker,
  type Channel,
  type ChannelWrapper,
  type ConsumeMessage,
  declareJobTopology,
  type JobStore,
  type Logger,
} from '@media-foundry/shared/node';
import { answerJobId, type ReplyPublisher } from './replies.js';
import type { WebhookDispatcher } from './webhooks/dispatcher.js';
import { webhookOf } from './webhooks/events.js';

/** Tries to answer one dead-lettered job (a second apart) before it is given up, logged with its body. */
export const DEAD_LETTER_ATTEMPTS = 60;

export class DeadLetters {
  private readonly channel: ChannelWrapper;
  /** Failed tries per job id while it is retried, and when the last one was (entries of jobs gone elsewhere are pruned). */
  private readonly attempts = new Map<string, { tries: number; at: number }>();

  constructor(
    broker: Broker,
    topology: Topology,
    config: Pick<WorkerConfig, 'jobDeliveryLimit'>,
    private readonly replies: ReplyPublisher,
    private readonly store: JobStore,
    private readonly logger: Logger,
    private readonly webhooks?: Pick<WebhookDispatcher, 'finished'>,
  ) {
    this.channel = broker.channel({
      name: 'dead-letters',
      confirm: false,
      setup: async (ch: Channel) => {
        await declareJobTopology(ch, topology, config.jobDeliveryLimit);
        await ch.prefetch(1);
        await ch.consume(topology.deadLetterQueue, (msg) => msg && void this.answer(ch, msg));
      },
    });
  }

  private async answer(ch: Channel, msg: ConsumeMessage): Promise<void> {
    const replyTo = msg.properties.replyTo as string | undefined;
    const jobId = answerJobId(msg);
    const death = (msg.properties.headers?.['x-death'] as { count?: number; queue?: string }[] | undefined)?.[0];
    const body = () => msg.content.toString('utf8').slice(0, 2000);
    // logged with its body once, not on every try to answer it
    if (!this.attempts.has(jobId)) this.logger.error({ job_id: jobId, queue: death?.queue, body: body() }, 'job dead-lettered');
    const reply = {
      type: 'error' as const,
      job_id: jobId,
      code: ErrorCode.JOB_FAILED,
      message: 'Job abandoned after repeated worker failures',
      details:
        'every worker that took the job died, stalled or was stopped before finishing it, as many times as JOB_DELIVERY_LIMIT allows; it was dead-lettered',
    };
    try {
      if (jobIdSchema.safeParse(jobId).success) {
        // a run that finished but could not be acked has its result stored already: that is the answer. A store
        // that cannot say is tried again: guessing 'none' would overwrite a completed job's result with JOB_FAILED
        const stored = await this.store.readResult(jobId);
        if (!stored)
          await this.store.writeResult(reply).catch((err: unknown) => this.logger.warn({ err, job_id: jobId }, 'result not stored'));
        await this.replies.send({ jobId, replyTo }, stored?.reply ?? reply, stored?.inline);
        await this.webhooks?.finished(webhookOf(msg.content), stored?.reply ?? reply, this.logger.child({ job_id: jobId }));
      }
      this.attempts.delete(jobId);
      ch.ack(msg);
    } catch (err) {
      // the dead-letter queue has no delivery limit of its own: a reply_to that refuses every publish must not
      // keep the job (and its republished answer) going round for ever
      const now = Date.now();
      for (const [id, a] of this.attempts) if (now - a.at > 10 * 60_000) this.attempts.delete(id);
      const tries = (this.attempts.get(jobId)?.tries ?? 0) + 1;
      if (tries >= DEAD_LETTER_ATTEMPTS) {
        this.attempts.delete(jobId);
        this.logger.error({ err, job_id: jobId, tries, body: body() }, 'could not answer a dead-lettered job; giving up');
        ch.ack(msg);
        return;
      }
      this.attempts.set(jobId, { tries, at: now });
      this.logger.warn({ err, job_id: jobId }, 'could not answer a dead-lettered job; will retry');
      setTimeout(() => {
        try {
          ch.nack(msg, false, true);
        } catch {
          // channel gone: redelivered anyway
        }
      }, 1000).unref();
    }
  }

  close(): Promise<void> {
    return this.channel.close();
  }
}
