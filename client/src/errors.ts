/**
 * Errors a caller of the client sees: the server's `{code, message, details}`
 * as they came, or one of the client's own codes for what happens on this
 * side (the connection, an input that cannot be read, a local check).
 */
import type { ErrorCode } from '@media-foundry/shared';

/** Failures that happen on the client's side of the wire. */
export const ClientErrorCode = {
  /** The first connection could not be opened (server down, wrong URL, refused API key). */
  CONNECTION_FAILED: 'CONNECTION_FAILED',
  /** The connection dropped and could not be re-established within the reconnect budget, or the job could not go on after it. */
  CONNECTION_LOST: 'CONNECTION_LOST',
  /** The client was closed with jobs still running. */
  CLIENT_CLOSED: 'CLIENT_CLOSED',
  /** An input could not be read (a missing file, a stream that failed). */
  INPUT_ERROR: 'INPUT_ERROR',
  /** Writing an output failed (disk full, no permission) or the platform cannot save files. */
  OUTPUT_ERROR: 'OUTPUT_ERROR',
} as const;
export type ClientErrorCode = (typeof ClientErrorCode)[keyof typeof ClientErrorCode];

/** Every code a MediaFoundryError may carry: the protocol's, then the client's own. */
export type MediaFoundryErrorCode = ErrorCode | ClientErrorCode;

/** The one error type the client throws and rejects with. */
export class MediaFoundryError extends Error {
  readonly code: MediaFoundryErrorCode;
  readonly details: string | undefined;
  /** The job it concerns, when it concerns one. */
  readonly jobId: string | null;

  constructor(code: MediaFoundryErrorCode, message: string, options: { details?: string; jobId?: string | null; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'MediaFoundryError';
    this.code = code;
    this.details = options.details;
    this.jobId = options.jobId ?? null;
  }

  /** `message: details`, the way a person reads it. */
  override toString(): string {
    return `${this.code}: ${this.message}${this.details ? ` (${this.details})` : ''}`;
  }
}
