/**
 * A running job's progress, as its client and whoever resumes it see it:
 * replies throttled to four a second, the job's state in storage every few
 * seconds, and its webhook told of each change of stage.
 */
import { type JobMessage, PROGRESS_INTERVAL_MS } from '@media-foundry/shared';
import type { JobStore, Logger } from '@media-foundry/shared/node';
import { ProgressThrottle } from './ffmpeg/progress.js';
import type { ProgressUpdate } from './job-runner.js';
import type { ReplyPublisher, ReplyRoute } from './replies.js';
import type { WebhookDispatcher } from './webhooks/dispatcher.js';

/** The job's state in storage is written at most this often: coarse, for clients that resume elsewhere. */
export const STATE_INTERVAL_MS = 5000;

/** Where progress goes. */
export interface ProgressDeps {
  replies: Pick<ReplyPublisher, 'send'>;
  store: Pick<JobStore, 'writeState'>;
  webhooks: Pick<WebhookDispatcher, 'stageChanged'>;
}

/**
 * Progress to the client (throttled) and, coarser, to storage for whoever
 * resumes the job. An update the throttle drops is held, and the latest one
 * held is sent once the interval has passed: runs shorter than the interval
 * (thumbnails, a short GIF) still show their steps instead of a jump from
 * the first to the last.
 */
export class ProgressReporter {
  private readonly throttle = new ProgressThrottle<ProgressUpdate>(PROGRESS_INTERVAL_MS);
  /** The first update is stored at once: a resume anywhere knows the job is running. */
  private stateWrittenAt = -Infinity;
  /** The stage last reported, and how many changes of stage there were (the webhook's `stage` events; never throttled away). */
  private stage: ProgressUpdate['stage'] | null = null;
  private stageChanges = 0;
  private held: ProgressUpdate | null = null;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  /** Updates made before the job was cleared to run, in order (the latest sent once it is, all dropped if it is not); null after. */
  private early: ProgressUpdate[] | null = [];
  /** Not cleared to run (it ended or was cancelled before): nothing of this run is reported, even an update made before it noticed. */
  private refused = false;

  constructor(
    private readonly route: ReplyRoute,
    private readonly deps: ProgressDeps,
    private readonly log: Logger,
    private readonly webhook?: JobMessage['webhook'],
    /** Absent: cleared already. */
    cleared?: Promise<boolean>,
  ) {
    if (!cleared) {
      this.early = null;
      return;
    }
    void cleared.then((go) => {
      const early = this.early ?? [];
      this.early = null;
      if (!go) {
        this.refused = true;
        this.close();
        // a run that ended before it was cleared (its input could not be read) has its final reply to send: no earlier steps
      } else if (!this.closed && early.length > 0) {
        // the webhook hears each change of stage; the client the latest step only: the earlier ones would
        // arrive with it, at the moment the job clears, for nothing but one more reply each on its path
        for (const update of early.slice(0, -1)) this.noteStage(update);
        this.report(early[early.length - 1]!);
      }
    });
  }

  report(update: ProgressUpdate): void {
    if (this.refused) return;
    if (this.early) {
      this.early.push(update);
      return;
    }
    this.noteStage(update);
    // every retry is news: never throttled away
    const next = this.throttle.offer(update, update.stage === 'retrying');
    if (!next) {
      this.hold(update);
      return;
    }
    this.held = null;
    const jobId = this.route.jobId;
    this.deps.replies
      .send(this.route, { type: 'progress', job_id: jobId, ...next })
      .catch((err: unknown) => this.log.debug({ err }, 'progress reply not published'));
    if (Date.now() - this.stateWrittenAt < STATE_INTERVAL_MS) return;
    this.stateWrittenAt = Date.now();
    const { stage, percentage, message } = next;
    this.deps.store
      .writeState(jobId, { stage, percentage, ...(message ? { message } : {}) })
      .catch((err: unknown) => this.log.debug({ err }, 'job state not stored'));
  }

  /** A change of stage is told to the webhook (never throttled away). */
  private noteStage(update: ProgressUpdate): void {
    if (update.stage === this.stage) return;
    this.stage = update.stage;
    this.stageChanges += 1;
    this.deps.webhooks.stageChanged(this.webhook, { type: 'progress', job_id: this.route.jobId, ...update }, this.stageChanges, this.log);
  }

  /** Nothing held is sent any more (the run ended: its final reply follows). */
  close(): void {
    this.closed = true;
    this.early = null; // held steps of a run that ended before it was cleared are dropped, whichever callback runs first
    this.held = null;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private hold(update: ProgressUpdate): void {
    if (this.closed) return;
    this.held = update;
    this.timer ??= setTimeout(() => {
      this.timer = null;
      const held = this.held;
      this.held = null;
      if (held && !this.closed) this.report(held);
    }, PROGRESS_INTERVAL_MS);
    this.timer.unref();
  }
}
