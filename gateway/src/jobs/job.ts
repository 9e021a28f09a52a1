/**
 * A job as one gateway follows it for one connection. The job itself lives
 * in RabbitMQ (its message) and storage (its record, state and result); a
 * gateway only follows it while a connection holds it, from `start_job` or
 * `resume_job` until its result is delivered or the connection goes.
 *
 *   uploading ──files staged──▶ submitting ──published──▶ waiting ──final reply──▶ delivering ──▶ ended
 *   resuming ──record, result, state read──▶ waiting (or delivering, when the result is stored)
 *   any phase ──cancel, close, failure, resumed elsewhere──▶ ended
 */
import type { AppError, DeliveryMethod, ProgressStage, ReplyExchangeMessage } from '@media-foundry/shared';
import type { Logger } from '@media-foundry/shared/node';
import type { Principal } from '../auth.js';
import type { ClientSocket } from '../client-socket.js';
import type { UploadStaging } from './upload-staging.js';

export type JobPhase = 'uploading' | 'submitting' | 'resuming' | 'waiting' | 'delivering' | 'ended';

/**
 * Why a gateway stopped following a job. The first three end the job for
 * its client (counted in metrics); the others only end this gateway's part:
 * `abandoned` an upload never finished, `detached` the connection closed,
 * `taken` a connection elsewhere resumed it, `refused` a resume that failed.
 */
export type Outcome = 'completed' | 'failed' | 'cancelled' | 'abandoned' | 'detached' | 'taken' | 'refused';

/** The connection holding a job now. */
export interface JobHolder {
  readonly id: string;
  readonly principal: Principal;
  readonly socket: ClientSocket;
  readonly log: Logger;
}

export interface GatewayJob {
  /** The internal id: workers, storage and the reply exchange know the job by it. */
  readonly id: string;
  /** The id the client knows the job by. */
  readonly clientId: string;
  holder: JobHolder;
  phase: JobPhase;
  /** Who submitted it (API key id, JWT subject, or connection). */
  owner: string;
  tenant: string;
  tenantKey: string;
  operation: string;
  deliveryMethod: DeliveryMethod;
  /** Hex SHA-256 of the resume token's secret. */
  resumeDigest: string;
  /** The last progress relayed: the client only ever sees it go forward. */
  progress: { percentage: number; stage: ProgressStage } | null;
  /** Place among its client's waiting jobs, while it waits (null once it started, or when unknown). */
  queuePosition: number | null;
  /**
   * When it was last told its place, which place that was, and the timer
   * that tells it the latest place once PROGRESS_INTERVAL_MS has passed since.
   */
  positionSentAt: number;
  positionTold: number | null;
  positionTimer: NodeJS.Timeout | null;
  /** Replies that came while the job was being submitted or resumed: relayed once that is done. */
  held: ReplyExchangeMessage[];
  /**
   * A cancel_job awaits its answer: JOB_CANCELLED when the job ends cancelled, else CANCEL_FAILED (end() sends
   * it). Asked while the job was being submitted or resumed, it is applied once that is done.
   */
  cancelRequested: boolean;
  /** The submission under way (submitting phase): a resume of the job on another connection waits for it. */
  submission: Promise<void> | null;
  /** Why the submission failed, for a resume that waited for it. */
  submitFailure: AppError | null;
  /**
   * The connection closed while the job was being submitted (or resumed, after asking to cancel it): stop
   * following once it is published (or its resume checks out), applying the cancel it asked for.
   */
  detached: boolean;
  /** A connection on another gateway resumed it while it was being submitted: a submission that fails is told there. */
  claimedElsewhere: boolean;
  staging: UploadStaging | null;
  /** A write of its own still in flight (the record, stored again after all): its files are removed once it settles. */
  pendingWrite: Promise<void> | null;
  /** Storage keys of its staged inputs, once published; null where this gateway does not know them (a resumed job). */
  inputKeys: readonly string[] | null;
  startedAt: number;
  /** When its result was stored, for a job resumed after it finished (null otherwise: its result is stored just now). */
  finishedAt: number | null;
  traceparent: string;
  log: Logger;
}
