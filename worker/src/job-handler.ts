/**
 * One job taken from a tenant's queue, from its message to its settlement:
 * skip it if it already ended (or another live worker runs it), stop if it
 * was cancelled, run it, and end it with exactly one final reply, stored
 * before it is published and published before the job is acked.
 *
 * Outcomes: success and terminal failures are final (stored, published,
 * acked). A transient failure that outlived the in-job retries goes back to
 * the queue for another worker while deliveries are left
 * (JOB_DELIVERY_LIMIT), and is final only on the last one. Shutdown hands
 * running jobs back to the queue.
 */
import {
  AppError,
  type WorkerConfig,
  ErrorCode,
  errors,
  type FinalReply,
  INLINE_OUTPUT_HEADER,
  type JobResult,
  type OutputsByKey,
  parseJson,
  isStalled,
  jobMessage,
  type JobMessage,
  retryTransient,
  sleep,
} from '@media-foundry/shared';
import {
  type JobStore,
  literalUrlProblem,
  type Logger,
  parseAllowlist,
  parseTraceparent,
  type Storage,
  type UrlAllowlist,
  webhookProblem,
} from '@media-foundry/shared/node';
import { storageFailure } from './inputs.js';
import { type JobOutcome, type JobRunnerDeps, type ProgressUpdate, runJob } from './job-runner.js';
import type { WorkerMetrics } from './metrics.js';
import { ProgressReporter } from './progress-reporter.js';
import { StageClock } from './stage-clock.js';
import { answerJobId, type ReplyPublisher, type ReplyRoute } from './replies.js';
import type { ClusterView } from './scheduler/cluster-view.js';
import type { Delivery } from './scheduler/job-puller.js';
import type { WebhookDispatcher } from './webhooks/dispatcher.js';

export interface HandlerDeps {
  config: WorkerConfig;
  storage: Storage;
  store: JobStore;
  replies: ReplyPublisher;
  view: Pick<ClusterView, 'heldEarlierElsewhere' | 'finished' | 'whenTold'>;
  /** The job's final answer was published: remembered and told to the other workers (a copy delivered again is not run). */
  onFinished(jobId: string): void;
  metrics: WorkerMetrics;
  logger: Logger;
  runner: JobRunnerDeps;
  /** Where a job's end (and, when asked, its stage changes) goes to its webhook: queued, never waited for. */
  webhooks: Pick<WebhookDispatcher, 'finished' | 'stageChanged'>;
  /** WEBHOOK_ALLOWLIST, parsed: a webhook URL refused on its face is a VALIDATION_ERROR. */
  webhookAllowlist: UrlAllowlist;
}

/**
 * Why a running job's AbortController fired: a cancel ends it; a shutdown or a yield (fair share) hands it back to
 * its queue; `superseded`: storage says it ended or was cancelled before this delivery (JobHandler.lookUp);
 * `copy`: another worker runs this very job and took it first (JobHandler.standDownCopies): it waits for that run.
 */
type AbortReason = 'cancel' | 'shutdown' | 'yield' | 'superseded' | 'finished' | 'copy';

/** How long a worker remembers a job it cancelled, for a copy of it that waited behind that run (JobHandler.handle). */
const CANCELLED_MEMORY_MS = 10 * 60_000;
/** The longest a job waits for its worker's report to come back before it looks for an earlier copy elsewhere (ClusterView.whenTold). */
const TOLD_WAIT_MS = 1000;

/** What storage says of a job just taken (JobHandler.lookUp). */
type Verdict =
  { kind: 'run' } | { kind: 'stored'; result: JobResult } | { kind: 'cancelled' } | { kind: 'answered' } | { kind: 'failed'; err: unknown };

/**
 * Parses a job message: the job, or the error to answer it with. A URL input
 * forbidden on its face (localhost, a literal private address) is a
 * VALIDATION_ERROR here, as at the gateway; names that only resolve to such
 * addresses are refused when fetched.
 */
export function parseJob(content: Buffer, allow: UrlAllowlist = parseAllowlist([])): JobMessage | AppError {
  const parsed = parseJson(jobMessage, content.toString('utf8'));
  if (!parsed.ok) return parsed.json ? errors.validation(parsed.error) : errors.invalidJson(`job message body: ${parsed.error}`);
  for (const [i, input] of parsed.data.inputs.entries()) {
    const problem = input.source === 'url' ? literalUrlProblem(input.url, allow) : null;
    if (problem) return errors.validation(`inputs[${i}].url: ${problem} (URL_ALLOWLIST may allow it)`);
  }
  return parsed.data;
}

/** The error reply for a failure. */
function errorReply(jobId: string, e: AppError): FinalReply {
  return { type: 'error', job_id: jobId, code: e.code, message: e.message, details: e.details };
}

export class JobHandler {
  /** Jobs this worker handles; `running` once it found no earlier copy elsewhere and went on to run it. */
  private readonly active = new Map<string, { controller: AbortController; done: Promise<void>; running: boolean }>();
  /** Jobs this worker cancelled while they ran, and when (kept CANCELLED_MEMORY_MS). */
  private readonly cancelledHere = new Map<string, number>();
  private readonly allowlist: UrlAllowlist;

  constructor(private readonly deps: HandlerDeps) {
    this.allowlist = parseAllowlist(deps.config.urlAllowlist);
  }

  get activeJobs(): number {
    return this.active.size;
  }

  isActive(jobId: string): boolean {
    return this.active.has(jobId);
  }

  /** A cancellation for a job this worker runs (others ignore it; the storage marker stops queued copies). */
  cancel(jobId: string): void {
    const active = this.active.get(jobId);
    if (!active) return;
    this.deps.logger.info({ job_id: jobId }, 'cancelling running job');
    const now = Date.now();
    for (const [id, at] of this.cancelledHere) if (now - at > CANCELLED_MEMORY_MS) this.cancelledHere.delete(id);
    this.cancelledHere.set(jobId, now);
    active.controller.abort('cancel' satisfies AbortReason);
  }

  /**
   * Stops a running job and hands it back to its queue: its slot goes to a
   * tenant that waits (scheduler/fair-share.ts). False when this worker runs
   * no such job (yet, or any more), or it is stopping already.
   */
  yieldSlot(jobId: string): boolean {
    const active = this.active.get(jobId);
    if (!active || active.controller.signal.aborted) return false;
    active.controller.abort('yield' satisfies AbortReason);
    return true;
  }

  /**
   * Stops a job this worker runs when another worker turns out to have taken
   * it first (ClusterView.heldEarlierElsewhere, asked at each peer report).
   * Two copies of one job taken at nearly the same moment can both start: the
   * later one's worker may decide before the earlier one's report reaches it.
   * Once each has heard of the other, both order them alike and only the
   * later stands down: it waits for the earlier run, as a copy that saw it in
   * time does, and answers with its result (handle()).
   */
  standDownCopies(): void {
    for (const [jobId, entry] of this.active)
      if (entry.running && !entry.controller.signal.aborted && this.deps.view.heldEarlierElsewhere(jobId))
        entry.controller.abort('copy' satisfies AbortReason);
  }

  async handle(delivery: Delivery): Promise<void> {
    const { logger, view } = this.deps;
    const message = delivery.message;
    const replyTo = message.properties.replyTo as string | undefined;
    const parsed = parseJob(message.content, this.allowlist);
    const job =
      parsed instanceof AppError
        ? parsed
        : (webhookProblem(parsed.webhook, Boolean(this.deps.config.webhookSecret), this.deps.webhookAllowlist) ?? parsed);
    if (job instanceof AppError) {
      const jobId = answerJobId(message);
      logger.warn({ job_id: jobId, details: job.details }, 'rejected an invalid job message');
      // answered like any job's end: an answer the broker will not confirm hands the message back (it comes
      // again, or is dead-lettered after JOB_DELIVERY_LIMIT), instead of acking it unanswered
      try {
        await retryTransient(() => this.deps.replies.send({ jobId, replyTo }, errorReply(jobId, job)), {
          budgetMs: this.deps.config.transientRetryMs,
        });
      } catch (err) {
        logger.warn({ err, job_id: jobId }, 'could not answer an invalid job; handing it back');
        delivery.requeue();
        return;
      }
      delivery.ack();
      return;
    }
    const route: ReplyRoute = { jobId: job.job_id, replyTo };
    const traceHeader: unknown = message.properties.headers?.traceparent;
    // a header of another type (a table whose `toString` is not a function) must not throw here
    const trace = typeof traceHeader === 'string' ? parseTraceparent(traceHeader) : null;
    const log = logger.child({ job_id: job.job_id, operation: job.operation, ...(trace ? { trace_id: trace.traceId } : {}) });
    // A copy of a job this very worker runs (its channel went with a reconnect and the broker gave the job
    // back): wait for that run to end; its stored result answers this copy.
    const earlier = this.active.get(job.job_id);
    if (earlier) {
      log.info('this worker runs this job already; waiting for that run to end');
      await earlier.done;
      // cancelled meanwhile: that run removed its files, the cancel marker with them; this copy must not run
      if (this.cancelledHere.has(job.job_id)) {
        log.info({ details: 'cancelled while another copy of it ran here' }, 'job cancelled');
        await this.endCancelled(delivery, job, route, errors.jobCancelled('cancelled before it started'), log);
        return;
      }
    }
    let finish!: () => void;
    const entry = { controller: new AbortController(), done: new Promise<void>((r) => (finish = r)), running: false };
    this.active.set(job.job_id, entry);
    try {
      // Another live worker that took this very job earlier runs it (a copy routed twice or delivered
      // again): wait for that run, then use its result. Asked once the others have heard we hold it (a broker
      // round trip): of two copies taken at the same moment, the later one's worker then usually sees the earlier.
      await view.whenTold(job.job_id, TOLD_WAIT_MS);
      for (;;) {
        const controller = entry.controller;
        if (view.heldEarlierElsewhere(job.job_id)) {
          log.info('another worker runs this job; waiting for it to end');
          while (view.heldEarlierElsewhere(job.job_id) && !controller.signal.aborted) await sleep(1000, controller.signal);
          if (
            controller.signal.reason === ('shutdown' satisfies AbortReason) ||
            controller.signal.reason === ('yield' satisfies AbortReason)
          )
            return delivery.requeue();
        }
        entry.running = true;
        // A job that already ended (its ack was lost, or it was routed twice) is answered with its stored
        // result, not run again; one cancelled while it waited is skipped. The look-up goes on alongside the
        // job's first steps (downloading or range-reading its input, describing it, maybe with ffprobe), which
        // change nothing anyone else sees: nothing is reported and no ffmpeg starts until it has cleared the
        // job. One storage round trip less on every job's path.
        const verdict = this.lookUp(job, controller.signal);
        const cleared = verdict.then((v) => v.kind === 'run');
        void verdict.then((v) => {
          if (v.kind !== 'run') controller.abort('superseded' satisfies AbortReason);
        });
        const running = this.run(delivery, job, route, controller, log, cleared);
        const v = await verdict;
        if (await running) {
          // Stood down (standDownCopies): the copy waits here for the earlier run, as one that saw it in time
          // does, rather than going back to its queue (a hand-back counts as a delivery toward JOB_DELIVERY_LIMIT).
          // Whatever of this run still goes on in the background stops; a cancel or a shutdown reaches the wait.
          log.info('another worker took this job first and runs it; this copy stands down');
          entry.running = false;
          entry.controller = new AbortController();
          controller.abort('finished' satisfies AbortReason);
          continue;
        }
        if (v.kind === 'failed') await this.fail(delivery, job, route, storageFailure('looking up the job in storage', v.err), log);
        else if (v.kind === 'stored') {
          log.info('job already finished; publishing its stored result again');
          await this.end(delivery, job, route, v.result.reply, log, { inline: v.result.inline });
        } else if (v.kind === 'cancelled') {
          log.info({ details: 'cancelled before it started' }, 'job cancelled');
          await this.endCancelled(delivery, job, route, errors.jobCancelled('cancelled before it started'), log);
        } else if (v.kind === 'answered') {
          log.info('job answered already (here or by another worker), its result delivered; settling this copy without running it');
          delivery.ack();
        }
        return;
      }
    } finally {
      if (this.active.get(job.job_id) === entry) this.active.delete(job.job_id);
      // whatever of the run still goes on in the background (an input block read ahead, retrying) stops now
      entry.controller.abort('finished' satisfies AbortReason);
      finish();
    }
  }

  /**
   * Whether the job is to run: not when its result is stored already, a
   * cancel marker (or a cancel broadcast meanwhile) says it was cancelled,
   * or its answer went out lately (`ClusterView.finished`) though its files
   * are gone. A store that cannot say is a transient failure like any other. Never rejects.
   */
  private async lookUp(job: JobMessage, signal: AbortSignal): Promise<Verdict> {
    const { store } = this.deps;
    try {
      // both at once; the marker's failure counts only when there is no result
      const cancelMark = store.isCancelled(job.job_id);
      cancelMark.catch(() => {});
      const stored = await store.readResult(job.job_id);
      if (stored) return { kind: 'stored', result: stored };
      if (signal.reason === ('cancel' satisfies AbortReason) || (await cancelMark)) return { kind: 'cancelled' };
      // answered lately (here, or by a worker that told `job_finished`) and its files removed since: the gateway
      // delivered the result. A copy of it came back (an ack lost with a connection, or a hand-back by the broker
      // while that run went on)
      if (this.deps.view.finished(job.job_id)) return { kind: 'answered' };
      return { kind: 'run' };
    } catch (err) {
      return { kind: 'failed', err };
    }
  }

  /**
   * Runs the job and settles it, once `cleared` says it may run; until then
   * its first steps go on but report nothing, and when it may not, it stands
   * down without settling anything (handle() answers).
   */
  private async run(
    delivery: Delivery,
    job: JobMessage,
    route: ReplyRoute,
    controller: AbortController,
    log: Logger,
    cleared: Promise<boolean>,
  ): Promise<boolean> {
    const { metrics } = this.deps;
    const operation = job.operation;
    const started = Date.now();
    void cleared.then(
      (go) =>
        go &&
        log.info(
          { redelivered: delivery.deliveryCount > 0, deliveries: delivery.deliveryCount + 1, tenant: delivery.tenantKey },
          'job started',
        ),
    );
    const clock = new StageClock();
    if (job.submitted_at) clock.add('queue_wait', started - Date.parse(job.submitted_at));
    const progress = new ProgressReporter(route, this.deps, log, job.webhook, cleared);
    let outcome: JobOutcome;
    try {
      // what the run reports once it was stopped (cancelled, handed back, or finished: an input block read ahead
      // that retries) is stale; the handler reports a hand-back itself
      const report = (u: ProgressUpdate) => !controller.signal.aborted && progress.report(u);
      outcome = await runJob(job, this.deps.runner, report, controller.signal, log, {
        clock,
        onRunSpeed: (speed) => metrics.encodeSpeed.observe({ operation }, speed),
        cleared,
        // only gateways read this job's result: a small output is kept in it, no object of its own
        storeInResult:
          delivery.message.properties.headers?.[INLINE_OUTPUT_HEADER] === true && !route.replyTo && !job.webhook
            ? (reply, inline) => this.deps.store.writeResult(reply, inline, { patient: false })
            : undefined,
      });
      // a cancel during the last steps (storing the outputs, which take no signal) cancels the job all the same:
      // its client was told JOB_CANCELLED when it asked
      if (controller.signal.reason === ('cancel' satisfies AbortReason)) throw errors.jobCancelled();
      progress.close();
    } catch (err) {
      progress.close();
      if (!(await cleared)) return false;
      if (controller.signal.reason === ('shutdown' satisfies AbortReason)) {
        log.warn('job interrupted by shutdown; handing it back to the queue');
        metrics.jobs.inc({ operation, outcome: 'requeued' });
        delivery.requeue();
        return false;
      }
      // another worker took this job first: handle() waits for that run and answers with its result
      if (controller.signal.reason === ('copy' satisfies AbortReason)) return true;
      if (controller.signal.reason === ('yield' satisfies AbortReason)) {
        log.info('job yields its slot to a waiting client; handing it back to the queue');
        progress.report({
          stage: 'retrying',
          percentage: 0,
          message: "paused to give another client's waiting job a slot; it starts again on the next free one",
        });
        metrics.jobs.inc({ operation, outcome: 'yielded' });
        delivery.requeue();
        return false;
      }
      // cancelled, whatever the cancel interrupted (a wait between a failed store's retries ends in that failure)
      const e = controller.signal.reason === ('cancel' satisfies AbortReason) ? errors.jobCancelled() : AppError.from(err);
      if (e.code === ErrorCode.JOB_CANCELLED) {
        log.info({ details: e.details }, 'job cancelled');
        metrics.jobs.inc({ operation, outcome: 'cancelled' });
        await this.endCancelled(delivery, job, route, e, log);
        return false;
      }
      if (isStalled(e)) metrics.stalled.inc({ operation });
      await this.fail(delivery, job, route, e, log, progress);
      return false;
    }
    const final = outcome.reply;
    await clock.time('reply', () => this.end(delivery, job, route, final, log, { store: !outcome.resultStored, inline: outcome.inline }));
    log.info({ ms: Date.now() - started, outputs: final.outputs.length, stages_ms: clock.summary() }, 'job completed');
    metrics.jobs.inc({ operation, outcome: 'completed' });
    metrics.jobSeconds.observe({ operation }, (Date.now() - started) / 1000);
    for (const [stage, seconds] of clock.entries()) metrics.stageSeconds.observe({ operation, stage }, seconds);
    return false;
  }

  /** A cancelled job's answer; its files are removed only once it is acked, so a copy delivered after a crash in between still finds the marker. */
  private async endCancelled(delivery: Delivery, job: JobMessage, route: ReplyRoute, e: AppError, log: Logger): Promise<void> {
    await this.end(delivery, job, route, errorReply(job.job_id, e), log);
    // a channel that closed before the ack (a lost connection) left the job in its queue: the copy another worker
    // takes must find the cancel marker, or it runs the job again
    if (!delivery.live) {
      log.warn('the cancelled job went back to its queue before its ack; its files and cancel marker stay for that copy');
      return;
    }
    await this.deps.store.remove(job.job_id).catch((err: unknown) => log.warn({ err }, 'could not remove the files of a cancelled job'));
  }

  /**
   * A failure: a transient one goes back to the queue for another worker
   * while deliveries are left (this one plus `deliveryCount` earlier ones;
   * RabbitMQ allows JOB_DELIVERY_LIMIT returns), anything else — or the last
   * delivery — is the job's final answer.
   */
  private async fail(delivery: Delivery, job: JobMessage, route: ReplyRoute, e: AppError, log: Logger, progress?: ProgressReporter) {
    const { metrics, config } = this.deps;
    const operation = job.operation;
    if (e.retryable && delivery.deliveryCount < config.jobDeliveryLimit) {
      const why = e.details ? `${e.message}: ${e.details}` : e.message;
      log.warn({ err: e.cause ?? e, deliveries: delivery.deliveryCount + 1 }, 'transient failure outlasted the retries; requeueing');
      (progress ?? new ProgressReporter(route, this.deps, log, job.webhook)).report({
        stage: 'retrying',
        percentage: 0,
        message: `${why}; handing the job to another worker`,
      });
      metrics.jobs.inc({ operation, outcome: 'requeued' });
      delivery.requeue();
      return;
    }
    log.warn({ code: e.code, details: e.details, err: e.cause ?? e }, 'job failed');
    metrics.jobs.inc({ operation, outcome: 'failed' });
    await this.end(delivery, job, route, errorReply(job.job_id, e), log, { store: true });
  }

  /**
   * The job's last word: its result stored (so any gateway finds it), then
   * published, then the job acked. A reply the broker will not confirm
   * within the retry budget leaves the job to be delivered again, and the
   * next worker publishes the stored result. Only then is the end queued for
   * the job's webhook (a stored result published again is the same event, with the same id).
   */
  private async end(
    delivery: Delivery,
    job: JobMessage,
    route: ReplyRoute,
    final: FinalReply,
    log: Logger,
    {
      store: storeIt = false,
      inline,
    }: {
      /** Store the result first (not when it is stored already: the stored one published again, or JobOutcome.resultStored). */
      store?: boolean;
      /** Output bytes to relay with a completed reply (JobOutcome.inline). */
      inline?: OutputsByKey | undefined;
    } = {},
  ): Promise<void> {
    const { store, config } = this.deps;
    if (storeIt)
      await store.writeResult(final).catch((err: unknown) => log.warn({ err }, 'result not stored; resuming elsewhere will not find it'));
    try {
      await retryTransient(() => this.deps.replies.send(route, final, inline), { budgetMs: config.transientRetryMs });
    } catch (err) {
      log.error({ err }, 'final reply not published; the job goes back to the queue');
      delivery.requeue();
      return;
    }
    // queued before the ack (see WebhookDispatcher.finished), but a broker that will not confirm does not hold the job
    const queued = new AbortController();
    await Promise.race([
      this.deps.webhooks.finished(job.webhook, final, log).finally(() => queued.abort()),
      sleep(config.transientRetryMs, queued.signal),
    ]);
    // told only once the webhook is queued: a copy settled as answered must not skip it
    this.deps.onFinished(job.job_id);
    delivery.ack();
  }

  /**
   * Lets running jobs finish for up to `graceMs`, then aborts the rest (they
   * go back to the queue).
   */
  async stop(graceMs: number): Promise<void> {
    const running = [...this.active.values()];
    if (running.length === 0) return;
    this.deps.logger.info({ running: running.length, grace_ms: graceMs }, 'waiting for running jobs');
    const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), graceMs).unref());
    const all = Promise.all(running.map((j) => j.done));
    if ((await Promise.race([all, timer])) === 'timeout') {
      for (const j of this.active.values()) j.controller.abort('shutdown' satisfies AbortReason);
      await all;
    }
  }
}
