/**
 * Webhook events go through RabbitMQ, so that a worker that stops (or dies)
 * loses none and a job never waits for a receiver:
 *
 *   job ends ──publish──▶ <prefix>.webhooks ──any worker──▶ attempt
 *      5xx / timeout / network ──▶ <prefix>.webhooks.retry.<ms> (messages expire after <ms>) ──▶ back to <prefix>.webhooks
 *
 * One durable queue per wait of the schedule (schedule.ts): a queue with a
 * single TTL expires its messages in order. An attempt is acked only after
 * its outcome is settled (the retry published with a confirm), so a worker
 * that stops mid-attempt hands the event back and another one tries again,
 * with the same idempotency id. Delivery is at least once.
 */
import { type WorkerConfig, type FinalReply, type JobWebhook, parseJson, type ProgressReply } from '@media-foundry/shared';
import type { Broker, ChannelWrapper, ConfirmChannel, ConsumeMessage, Logger, prom, UrlAllowlist } from '@media-foundry/shared/node';
import { finalTask, stageTask, webhookTask, type WebhookTask } from './events.js';
import { configuredDelaysMs } from './schedule.js';
import { sendWebhook, type AttemptResult } from './sender.js';

/** Attempts one worker makes at once (each is one HTTP request, most of it waiting). */
const WEBHOOK_PREFETCH = 32;

export interface WebhookQueues {
  main: string;
  retry(delayMs: number): string;
}

export function webhookQueues(prefix: string): WebhookQueues {
  return { main: `${prefix}.webhooks`, retry: (delayMs) => `${prefix}.webhooks.retry.${delayMs}ms` };
}

/** Final outcomes of an event: delivered | rejected (4xx) | blocked (private address) | failed (retries used up) | invalid. */
export type DeliveryOutcome = 'delivered' | 'rejected' | 'blocked' | 'failed' | 'invalid';

export interface DispatcherDeps {
  broker: Broker;
  prefix: string;
  config: Pick<WorkerConfig, 'webhookSecret' | 'webhookTimeoutMs' | 'webhookMaxAttempts' | 'webhookRetryBaseMs'>;
  allowlist: UrlAllowlist;
  deliveries: prom.Counter<'outcome'>;
  logger: Logger;
}

/** Where a task goes, for logs: the origin only (a path or query may hold the receiver's own token). */
function target(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(not a URL)';
  }
}

export class WebhookDispatcher {
  private readonly queues: WebhookQueues;
  private readonly delays: number[];
  /** Null without WEBHOOK_SECRET: no job can have a webhook then, and the queues are not even declared. */
  private readonly publisher: ChannelWrapper | null;
  private consumerChannel: ChannelWrapper | null = null;
  private consumer: { ch: ConfirmChannel; tag: string } | null = null;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly deps: DispatcherDeps) {
    this.queues = webhookQueues(deps.prefix);
    this.delays = configuredDelaysMs(deps.config);
    this.publisher = deps.config.webhookSecret
      ? deps.broker.channel({
          name: 'webhooks-out',
          confirm: true,
          setup: (ch: ConfirmChannel) => this.declare(ch),
        })
      : null;
  }

  private async declare(ch: ConfirmChannel): Promise<void> {
    await ch.assertQueue(this.queues.main, { durable: true });
    for (const ms of new Set(this.delays))
      await ch.assertQueue(this.queues.retry(ms), {
        durable: true,
        arguments: { 'x-message-ttl': ms, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': this.queues.main },
      });
  }

  /**
   * Queues a job's final reply for its webhook, if it has one that asked for
   * this outcome. Resolves once RabbitMQ confirmed it (or it could not be
   * queued: logged, counted); never throws. The job is acked after this, so a
   * worker that dies in between leaves the job to be delivered again, which
   * queues the event then (same event id).
   */
  finished(webhook: JobWebhook | undefined, reply: FinalReply, log: Logger): Promise<void> {
    return this.emit(finalTask(webhook, reply), log);
  }

  /** Queues a change of stage, if the webhook asked for `stage`. */
  stageChanged(webhook: JobWebhook | undefined, reply: ProgressReply, seq: number, log: Logger): void {
    void this.emit(stageTask(webhook, reply, seq), log);
  }

  /** Resolves once RabbitMQ confirmed the event, or it could not be queued (logged and counted); never rejects. */
  private emit(task: WebhookTask | null, log: Logger): Promise<void> {
    if (!task || !this.publisher) return Promise.resolve();
    return this.publisher
      .sendToQueue(this.queues.main, Buffer.from(JSON.stringify(task)), {
        persistent: true,
        contentType: 'application/json',
        messageId: task.id,
      })
      .then(() => log.debug({ event: task.event, event_id: task.id }, 'webhook event queued'))
      .catch((err: unknown) => {
        log.warn({ err, event: task.event, event_id: task.id }, 'webhook event not queued; it is not sent');
        this.deps.deliveries.inc({ outcome: 'failed' });
      });
  }

  /** Starts taking events from the queue (only with WEBHOOK_SECRET: events are never sent unsigned). */
  start(): void {
    if (!this.deps.config.webhookSecret) return;
    this.consumerChannel = this.deps.broker.channel({
      name: 'webhooks-in',
      confirm: true,
      setup: async (ch: ConfirmChannel) => {
        await this.declare(ch);
        await ch.prefetch(WEBHOOK_PREFETCH);
        const { consumerTag } = await ch.consume(this.queues.main, (msg) => {
          if (!msg) return;
          const attempt = this.attempt(ch, msg);
          this.inFlight.add(attempt);
          void attempt.finally(() => this.inFlight.delete(attempt));
        });
        this.consumer = { ch, tag: consumerTag };
      },
    });
  }

  private async attempt(ch: ConfirmChannel, msg: ConsumeMessage): Promise<void> {
    const { logger, config } = this.deps;
    const parsed = parseJson(webhookTask, msg.content.toString('utf8'));
    if (!parsed.ok || !config.webhookSecret) {
      logger.error({ secret_set: Boolean(config.webhookSecret) }, 'dropped a webhook event this worker cannot send');
      this.deps.deliveries.inc({ outcome: 'invalid' });
      return this.settle(() => ch.ack(msg));
    }
    const task = parsed.data;
    const number = task.attempts + 1;
    const log = logger.child({ job_id: task.job_id, event: task.event, event_id: task.id, attempt: number, target: target(task.url) });
    let result: AttemptResult;
    try {
      result = await sendWebhook(task, number, {
        secret: config.webhookSecret,
        timeoutMs: config.webhookTimeoutMs,
        allowlist: this.deps.allowlist,
      });
    } catch (err) {
      result = { verdict: 'retry', error: (err as Error).message };
    }
    const why = { status: result.status, error: result.error };
    if (result.verdict === 'delivered') {
      log.info({ status: result.status }, 'webhook delivered');
      this.deps.deliveries.inc({ outcome: 'delivered' });
    } else if (result.verdict === 'retry' && number < config.webhookMaxAttempts) {
      const delay = this.delays[number - 1]!;
      log.info({ ...why, retry_in_ms: delay }, 'webhook attempt failed; will retry');
      try {
        await this.publishRetry(ch, { ...task, attempts: number }, delay);
      } catch (err) {
        // not settled: back to the queue (and tried again at once)
        log.warn({ err }, 'could not schedule the webhook retry');
        return this.settle(() => ch.nack(msg, false, true));
      }
    } else {
      const outcome = result.verdict === 'retry' ? 'failed' : result.verdict;
      log.warn({ ...why, outcome, attempts: number }, 'webhook not delivered; giving up');
      this.deps.deliveries.inc({ outcome });
    }
    this.settle(() => ch.ack(msg));
  }

  private publishRetry(ch: ConfirmChannel, task: WebhookTask, delayMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      ch.sendToQueue(
        this.queues.retry(delayMs),
        Buffer.from(JSON.stringify(task)),
        { persistent: true, contentType: 'application/json', messageId: task.id },
        (err) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve()),
      );
    });
  }

  /** Acks or nacks on the channel the message came on; a channel that is gone has handed it back already. */
  private settle(action: () => void): void {
    try {
      action();
    } catch (err) {
      this.deps.logger.debug({ err }, 'webhook event not settled: its channel is gone (it is delivered again)');
    }
  }

  /**
   * Stops taking events, lets the attempts under way end (each within
   * WEBHOOK_TIMEOUT_SECONDS) and closes: events waiting for a retry stay in
   * RabbitMQ for the workers that remain or come next.
   */
  async stop(): Promise<void> {
    const consumer = this.consumer;
    this.consumer = null;
    await consumer?.ch.cancel(consumer.tag).catch(() => {});
    await Promise.allSettled([...this.inFlight]);
    await Promise.allSettled([this.consumerChannel?.close(), this.publisher?.close()]);
  }
}
