import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AppError, errors, type JobMessageInput } from '@media-foundry/shared';
import type { Storage } from '@media-foundry/shared/node';

export interface InputLimits {
  maxBytes: number;
  timeoutMs: number;
}

/** A safe local extension from a URL path or file name (ffmpeg probes the content anyway). */
export function localInputName(nameOrPath: string, base = 'input'): string {
  const ext = /\.([A-Za-z0-9]{1,10})$/.exec(nameOrPath)?.[1]?.toLowerCase();
  return `${base}.${ext ?? 'bin'}`;
}

/** Counts bytes going through and fails once they pass the limit. */
function byteLimit(maxBytes: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      seen += chunk.length;
      if (seen > maxBytes)
        done(errors.jobFailed('Input is too large', `more than MAX_FILE_SIZE_MB (${Math.round(maxBytes / 1048576)} MiB)`));
      else done(null, chunk);
    },
  });
}

/**
 * Brings one of the job's inputs into `dir` as `<base>.<ext>` and returns its
 * path. The worker fetches URLs itself, so ffmpeg only ever opens local files.
 */
export async function fetchInput(
  input: JobMessageInput,
  dir: string,
  base: string,
  storage: Storage,
  limits: InputLimits,
  signal: AbortSignal,
): Promise<string> {
  if (input.source === 'storage') {
    const path = join(dir, localInputName(input.filename, base));
    try {
      await storage.getFile(input.key, path);
    } catch (err) {
      throw errors.jobFailed('Staged input is missing', `storage key ${input.key}: ${(err as Error).message}`, err);
    }
    return path;
  }
  const path = join(dir, localInputName(new URL(input.url).pathname, base));
  const timeout = AbortSignal.timeout(limits.timeoutMs);
  let res: Response;
  try {
    res = await fetch(input.url, { signal: AbortSignal.any([signal, timeout]), redirect: 'follow' });
  } catch (err) {
    if (signal.aborted) throw errors.jobCancelled();
    throw errors.jobFailed('Could not download the input URL', describeFetchError(err, timeout, limits), err);
  }
  if (!res.ok || !res.body) {
    await res.body?.cancel();
    throw errors.jobFailed('Could not download the input URL', `HTTP ${res.status} ${res.statusText}`.trim());
  }
  const declared = Number(res.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > limits.maxBytes) {
    await res.body.cancel();
    throw errors.jobFailed('Input is too large', `Content-Length ${declared} exceeds MAX_FILE_SIZE_MB`);
  }
  try {
    await pipeline(Readable.fromWeb(res.body as never), byteLimit(limits.maxBytes), createWriteStream(path));
  } catch (err) {
    if (signal.aborted) throw errors.jobCancelled();
    if (err instanceof AppError) throw err;
    throw errors.jobFailed('Could not download the input URL', describeFetchError(err, timeout, limits), err);
  }
  return path;
}

function describeFetchError(err: unknown, timeout: AbortSignal, limits: InputLimits): string {
  if (timeout.aborted) return `download took longer than ${limits.timeoutMs / 1000}s`;
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err as Error).message;
}
