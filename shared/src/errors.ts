/**
 * Error codes of the protocol (the spec's list, plus the few later issues add).
 * Clients see them in `{type: "error", code}`; they are the only codes we send.
 */
export const ErrorCode = {
  INVALID_JSON: 'INVALID_JSON',
  VALIDATION_ERROR: 'VALIDATION_ERROR',
  UNKNOWN_MESSAGE_TYPE: 'UNKNOWN_MESSAGE_TYPE',
  SUBMIT_FAILED: 'SUBMIT_FAILED',
  JOB_FAILED: 'JOB_FAILED',
  JOB_CANCELLED: 'JOB_CANCELLED',
  CANCEL_FAILED: 'CANCEL_FAILED',
  INVALID_BINARY: 'INVALID_BINARY',
  BINARY_ERROR: 'BINARY_ERROR',
  OUTPUT_SEND_FAILED: 'OUTPUT_SEND_FAILED',
  INTERNAL_ERROR: 'INTERNAL_ERROR',
  /** Too many messages, or too many jobs at once (a limit of ours, not in the original spec). */
  RATE_LIMITED: 'RATE_LIMITED',
  /** `resume_job` for an unknown or expired job, or with a wrong token. */
  RESUME_FAILED: 'RESUME_FAILED',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * What a failure says about trying again, decided where the error is raised
 * (never by reading messages later):
 * - `terminal`: the request itself cannot succeed (bad media, unsupported
 *   codec, validation, an origin's 404); the client hears at once;
 * - `transient`: infrastructure that may answer seconds later (storage 5xx,
 *   refused or timed-out connections, DNS, an origin's 5xx/429, a broker
 *   confirm timeout); retried with backoff, then handed to another worker;
 * - `internal`: our own bug; not retried.
 */
export type FailureKind = 'terminal' | 'transient' | 'internal';

export interface AppErrorOptions {
  details?: string | undefined;
  /** Defaults to `internal` for INTERNAL_ERROR and `terminal` for every other code. */
  kind?: FailureKind;
  cause?: unknown;
}

/**
 * The one error type that crosses a boundary. `code`, `message` and `details`
 * go to the client; `cause` goes only to the logs.
 */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly details: string | undefined;
  readonly kind: FailureKind;

  constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.details = options.details;
    this.kind = options.kind ?? (code === ErrorCode.INTERNAL_ERROR ? 'internal' : 'terminal');
  }

  /** Whether the same step may succeed if tried again later (a `transient` failure). */
  get retryable(): boolean {
    return this.kind === 'transient';
  }

  /** Wraps anything thrown into an AppError; unknown failures become INTERNAL_ERROR. */
  static from(err: unknown, fallback: ErrorCode = ErrorCode.INTERNAL_ERROR): AppError {
    if (err instanceof AppError) return err;
    const message = err instanceof Error ? err.message : String(err);
    return new AppError(fallback, fallback === ErrorCode.INTERNAL_ERROR ? 'Internal error' : message, {
      details: message,
      cause: err,
    });
  }
}

const STALLED_MESSAGE = 'Job stalled';

/** Whether the failure is a stall (no progress for FFMPEG_STALL_SECONDS). */
export function isStalled(err: unknown): boolean {
  return err instanceof AppError && err.message === STALLED_MESSAGE;
}

/** Shorthands, so the places that create errors read as what went wrong. */
export const errors = {
  invalidJson: (details: string) => new AppError(ErrorCode.INVALID_JSON, 'Message is not valid JSON', { details }),
  validation: (details: string) => new AppError(ErrorCode.VALIDATION_ERROR, 'Message validation failed', { details }),
  unknownType: (type: unknown) =>
    new AppError(ErrorCode.UNKNOWN_MESSAGE_TYPE, 'Unknown message type', {
      details: `type ${JSON.stringify(type) ?? 'undefined'} is not one of the client message types`,
    }),
  submitFailed: (details: string, cause?: unknown) => new AppError(ErrorCode.SUBMIT_FAILED, 'Failed to submit job', { details, cause }),
  jobFailed: (message: string, details?: string, cause?: unknown) => new AppError(ErrorCode.JOB_FAILED, message, { details, cause }),
  /** Infrastructure that may answer again soon (storage, an origin's 5xx, DNS, the broker): worth retrying. */
  transient: (message: string, details?: string, cause?: unknown) =>
    new AppError(ErrorCode.JOB_FAILED, message, { details, cause, kind: 'transient' }),
  /** A step that stopped making progress (no bytes, no ffmpeg output) for too long. */
  stalled: (details: string) => new AppError(ErrorCode.JOB_FAILED, STALLED_MESSAGE, { details }),
  jobCancelled: (details = "cancelled at the client's request") => new AppError(ErrorCode.JOB_CANCELLED, 'Job cancelled', { details }),
  cancelFailed: (details: string) => new AppError(ErrorCode.CANCEL_FAILED, 'Job not found or already completed', { details }),
  rateLimited: (details: string) => new AppError(ErrorCode.RATE_LIMITED, 'Rate limit exceeded', { details }),
  /** The gateway holds as many bytes for its clients as GATEWAY_BUFFER_BUDGET_MB allows: new work waits for another try. */
  gatewayBusy: (details: string) => new AppError(ErrorCode.RATE_LIMITED, 'Gateway busy; try again shortly', { details }),
  resumeFailed: (details: string) => new AppError(ErrorCode.RESUME_FAILED, 'Job cannot be resumed', { details }),
  invalidBinary: (details: string) => new AppError(ErrorCode.INVALID_BINARY, 'Invalid binary message format', { details }),
  binaryError: (details: string, cause?: unknown) =>
    new AppError(ErrorCode.BINARY_ERROR, 'Binary message processing error', { details, cause }),
  outputSendFailed: (details: string, cause?: unknown) =>
    new AppError(ErrorCode.OUTPUT_SEND_FAILED, 'Failed to send output file', { details, cause }),
};
