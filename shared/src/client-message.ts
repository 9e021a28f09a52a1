import { AppError, errors } from './errors.js';
import { clientMessages, type ClientMessage, type ClientMessageType, type ServerMessageOf } from './protocol.js';
import { formatIssues } from './validation.js';

export type ParsedClientMessage =
  | { ok: true; message: ClientMessage }
  /** `jobId` is the raw message's `job_id` when it had a string one, so the error can name the job. */
  | { ok: false; error: AppError; jobId: string | null };

/**
 * Parses one text frame into a validated client message, or the error the
 * client gets back (INVALID_JSON, UNKNOWN_MESSAGE_TYPE, VALIDATION_ERROR).
 */
export function parseClientMessage(text: string): ParsedClientMessage {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return { ok: false, error: errors.invalidJson((err as Error).message), jobId: null };
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    return { ok: false, error: errors.validation('message must be a JSON object with a "type" field'), jobId: null };
  const { type, job_id } = raw as { type?: unknown; job_id?: unknown };
  const jobId = typeof job_id === 'string' && job_id.length <= 128 ? job_id : null;
  if (typeof type !== 'string' || !Object.hasOwn(clientMessages, type)) return { ok: false, error: errors.unknownType(type), jobId };
  const parsed = clientMessages[type as ClientMessageType].safeParse(raw);
  if (!parsed.success) return { ok: false, error: errors.validation(formatIssues(parsed.error)), jobId };
  return { ok: true, message: parsed.data as ClientMessage };
}

/** The `error` message a client gets for a failure (anything not an AppError is an INTERNAL_ERROR). */
export function errorMessageFor(jobId: string | null, err: unknown): ServerMessageOf<'error'> {
  const e = AppError.from(err);
  return { type: 'error', job_id: jobId, code: e.code, message: e.message, ...(e.details ? { details: e.details } : {}) };
}
