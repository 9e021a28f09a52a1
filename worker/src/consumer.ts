import {
  AppError,
  type Config,
  controlMessage,
  ErrorCode,
  errors,
  formatIssues,
  jobMessage,
  type JobMessage,
  type JobReply,
  storageKeys,
  type Topology,
} from '@media-foundry/shared';
import {
  type Broker,
  type Channel,
  type ChannelWrapper,
  type ConsumeMessage,
  declareJobTopology,
  type Logger,
  parseTraceparent,
  type Storage,
} from '@media-foundry/shared/node';
import { ProgressThrottle } from './ffmpeg/progress.js';
import { runJob, type JobRunnerDeps, type ProgressUpdate } from './job-runner.js';
import type { WorkerMetrics } from './metrics.js';
import { ReplyPublisher } from './replies.js';
import { parseAllowlist } from './url-guard.js';

/** Progress replies per job are throttled to this interval (≤ 4 a second). */
const PROGRESS_INTERVAL_MS = 250;

export interface ConsumerDeps {
  metrics: WorkerMetrics;
  config: Config;
  topology: Topology;
  broker: Broker;
  storage: Storage;
  logger: Logger;
}

/** Why a running job's AbortController fired. */
type AbortReason = 'cancel' | 'shutdown';

interface ActiveJob {
  job: JobMessage;
  controller: AbortController;
  done: Promise<void>;
}

/**
 * Takes jobs off the jobs queue, at most MAX_CONCURRENT_JOBS at a time
 * (prefetch), runs them and acks each only after its final reply is confirmed.
 */
export class JobConsumer {
  private readonly channel: ChannelWrapper;
  private readonly control: ChannelWrapper;
  private readonly deadLetters: ChannelWrapper;
  private readonly replies: ReplyPublisher;
  private readonly active = new Map<string, ActiveJob>();
  private readonly runnerDeps: JobRunnerDeps;
  /** Bumped on every (re)connect: a delivery from an older channel must not be acked on the new one. */
  private generation = 0;
  private stopping = false;

  constructor(private readonly deps: ConsumerDeps) {
    const { config, topology, broker } = deps;
    this.runnerDeps = { config, storage: deps.storage, allowlist: parseAllowlist(config.URL_ALLOWLIST) };
    this.replies = new ReplyPublisher(broker, config.PUBLISH_TIMEOUT_SECONDS * 1000);
    this.channel = broker.connection.createChannel({
      name: 'jobs',
      confirm: false,
      setup: (ch: Parameters<typeof declareJobTopology>[0]) => declareJobTopology(ch, topology, config.JOB_DELIVERY_LIMIT),
    });
    this.channel.on('connect', () => (this.generation += 1));
    // A private, auto-deleted queue on the control fanout: every worker hears every cancellation.
    this.deadLetters = broker.connection.createChannel({
      name: 'dead-letters',
      confirm: false,
      setup: async (ch: Channel) => {
        await declareJobTopology(ch, topology, config.JOB_DELIVERY_LIMIT);
        await ch.prefetch(1);
        await ch.consume(topology.deadLetterQueue, (msg) => msg && void this.onDeadLetter(ch, msg));
      },
    });
    this.control = broker.connection.createChannel({
      name: 'control',
      confirm: false,
      setup: async (ch: Channel) => {
        await ch.assertExchange(topology.controlExchange, 'fanout', { durable: true });
        const { queue } = await ch.assertQueue('', { exclusive: true, autoDelete: true });
        await ch.bindQueue(queue, topology.controlExchange, '');
        await ch.consume(queue, (msg) => msg && this.onControl(msg), { noAck: true });
      },
    });
  }

  /**
   * A job RabbitMQ dead-lettered after JOB_DELIVERY_LIMIT deliveries — each
   * one ended with its worker dying or stalling — gets its final answer here,
   * so the client is not left waiting forever.
   */
  private async onDeadLetter(ch: Channel, msg: ConsumeMessage): Promise<void> {
    const replyTo = msg.properties.replyTo as string | undefined;
    const jobId = String(msg.properties.correlationId ?? 'unknown');
    const deliveries = Number(msg.properties.headers?.['x-delivery-count'] ?? this.deps.config.JOB_DELIVERY_LIMIT);
    this.deps.logger.error({ job_id: jobId, deliveries, body: msg.content.toString('utf8').slice(0, 2000) }, 'job dead-lettered');
    try {
      if (replyTo)
        await this.reply(replyTo, {
          type: 'error',
          job_id: jobId,
          code: ErrorCode.JOB_FAILED,
          message: 'Job abandoned after repeated worker failures',
          details: `the job was delivered ${deliveries} times and every worker running it died or stalled; it was dead-lettered (JOB_DELIVERY_LIMIT)`,
        });
      ch.ack(msg);
    } catch (err) {
      this.deps.logger.warn({ err, job_id: jobId }, 'could not answer a dead-lettered job; will retry');
      ch.nack(msg, false, true);
    }
  }

  private onControl(msg: ConsumeMessage): void {
    let parsed;
    try {
      parsed = controlMessage.safeParse(JSON.parse(msg.content.toString('utf8')));
    } catch {
      parsed = null;
    }
    if (!parsed?.success) {
      this.deps.logger.warn('ignored an invalid control message');
      return;
    }
    const active = this.active.get(parsed.data.job_id);
    if (!active) return; // not ours; if it is still queued, the storage marker stops it
    this.deps.logger.info({ job_id: parsed.data.job_id }, 'cancelling running job');
    active.controller.abort('cancel' satisfies AbortReason);
  }

  /** Starts consuming; the consumer is re-created after every reconnect. */
  async start(): Promise<void> {
    const { topology, config } = this.deps;
    await this.channel.consume(
      topology.jobsQueue,
      (msg) => {
        const generation = this.generation;
        void this.handle(msg, generation);
      },
      { prefetch: config.MAX_CONCURRENT_JOBS },
    );
  }

  get activeJobs(): number {
    return this.active.size;
  }

  isActive(jobId: string): boolean {
    return this.active.has(jobId);
  }

  /** Jobs waiting in the queue (for /health); null while the broker is unreachable. */
  async queueDepth(): Promise<number | null> {
    try {
      return (await this.channel.checkQueue(this.deps.topology.jobsQueue)).messageCount;
    } catch {
      return null;
    }
  }

  private async handle(msg: ConsumeMessage, generation: number): Promise<void> {
    const { logger } = this.deps;
    const replyTo = msg.properties.replyTo as string | undefined;
    const job = this.parse(msg);
    if (job instanceof AppError) {
      const jobId = String(msg.properties.correlationId ?? 'unknown');
      logger.warn({ job_id: jobId, details: job.details }, 'rejected an invalid job message');
      if (replyTo)
        await this.reply(replyTo, { type: 'error', job_id: jobId, code: job.code, message: job.message, details: job.details }).catch(
          () => {},
        );
      this.settle(msg, generation, 'ack');
      return;
    }
    const trace = parseTraceparent(String(msg.properties.headers?.traceparent ?? ''));
    const log = logger.child({ job_id: job.job_id, operation: job.operation, ...(trace ? { trace_id: trace.traceId } : {}) });
    const { metrics } = this.deps;
    const operation = job.operation;
    const controller = new AbortController();
    let finish!: () => void;
    this.active.set(job.job_id, { job, controller, done: new Promise((r) => (finish = r)) });
    const started = Date.now();
    log.info({ redelivered: msg.fields.redelivered }, 'job started');
    if (job.submitted_at) metrics.queueWaitSeconds.observe({ operation }, Math.max(0, started - Date.parse(job.submitted_at)) / 1000);
    const throttle = new ProgressThrottle<ProgressUpdate>(PROGRESS_INTERVAL_MS);
    const report = (update: ProgressUpdate) => {
      const next = throttle.offer(update);
      if (next && replyTo)
        this.reply(replyTo, { type: 'progress', job_id: job.job_id, ...next }).catch((err: unknown) =>
          log.warn({ err }, 'progress reply not published'),
        );
    };
    try {
      let final: JobReply;
      try {
        if (await this.isCancelled(job.job_id)) throw errors.jobCancelled('cancelled before it started');
        final = await runJob(job, this.runnerDeps, report, controller.signal, log, (speed) =>
          metrics.encodeSpeed.observe({ operation }, speed),
        );
        log.info({ ms: Date.now() - started, outputs: final.outputs.length }, 'job completed');
        metrics.jobs.inc({ operation, outcome: 'completed' });
        metrics.jobSeconds.observe({ operation }, (Date.now() - started) / 1000);
      } catch (err) {
        if (controller.signal.reason === ('shutdown' satisfies AbortReason)) {
          log.warn('job interrupted by shutdown; handing it back to the queue');
          metrics.jobs.inc({ operation, outcome: 'requeued' });
          this.settle(msg, generation, 'requeue');
          return;
        }
        const e = AppError.from(err);
        metrics.jobs.inc({ operation, outcome: e.code === ErrorCode.JOB_CANCELLED ? 'cancelled' : 'failed' });
        if (e.code === ErrorCode.JOB_CANCELLED) {
          log.info({ details: e.details }, 'job cancelled');
          await this.deps.storage.deletePrefix(storageKeys.jobPrefix(job.job_id)).catch(() => {});
        } else log.warn({ code: e.code, details: e.details, err: e.cause ?? e }, 'job failed');
        final = { type: 'error', job_id: job.job_id, code: e.code, message: e.message, details: e.details };
      }
      if (replyTo) await this.reply(replyTo, final);
      this.settle(msg, generation, 'ack');
    } catch (err) {
      // The final reply could not be published: leave the message unacked so it is delivered again.
      log.error({ err }, 'final reply not published; the job will be redelivered');
    } finally {
      this.active.delete(job.job_id);
      finish();
    }
  }

  /** The gateway's cancellation marker; a storage hiccup must not lose the job, so errors count as "not cancelled". */
  private isCancelled(jobId: string): Promise<boolean> {
    return this.deps.storage.exists(storageKeys.cancelled(jobId)).catch(() => false);
  }

  private parse(msg: ConsumeMessage): JobMessage | AppError {
    let raw: unknown;
    try {
      raw = JSON.parse(msg.content.toString('utf8'));
    } catch (err) {
      return errors.invalidJson(`job message body: ${(err as Error).message}`);
    }
    const parsed = jobMessage.safeParse(raw);
    return parsed.success ? parsed.data : errors.validation(formatIssues(parsed.error));
  }

  private reply(replyTo: string, reply: JobReply): Promise<void> {
    return this.replies.send(replyTo, reply);
  }

  private settle(msg: ConsumeMessage, generation: number, how: 'ack' | 'requeue'): void {
    // After a reconnect the broker has already requeued this delivery; its tag means nothing on the new channel.
    if (generation !== this.generation) return;
    if (how === 'ack') this.channel.ack(msg);
    else this.channel.nack(msg, false, true);
  }

  /**
   * Stops taking jobs, lets running ones finish for up to `graceMs`, then
   * aborts the rest and hands them back to the queue.
   */
  async stop(graceMs: number): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    await this.channel.cancelAll().catch(() => {});
    const running = [...this.active.values()];
    if (running.length > 0) {
      this.deps.logger.info({ running: running.length, grace_ms: graceMs }, 'waiting for running jobs');
      const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), graceMs).unref());
      const all = Promise.all(running.map((j) => j.done));
      if ((await Promise.race([all, timer])) === 'timeout') {
        for (const j of this.active.values()) j.controller.abort('shutdown' satisfies AbortReason);
        await all;
      }
    }
    await this.replies.close().catch(() => {});
    await this.control.close().catch(() => {});
    await this.deadLetters.close().catch(() => {});
    await this.channel.close().catch(() => {});
  }
}
