import { join } from 'node:path';
import { errors, failureKind, type JobMessageInput } from '@media-foundry/shared';
import { isNotFound, type Storage } from '@media-foundry/shared/node';
import type { InputBudget } from './input-budget.js';
import { type DownloadLimits, downloadUrl } from './url-fetch.js';

export type InputLimits = DownloadLimits;

/** A safe local extension from a URL path or file name (ffmpeg probes the content anyway). */
export function localInputName(nameOrPath: string, base = 'input'): string {
  const ext = /\.([A-Za-z0-9]{1,10})$/.exec(nameOrPath)?.[1]?.toLowerCase();
  return `${base}.${ext ?? 'bin'}`;
}

/** A storage failure as the job sees it: gone for good, worth retrying, or ours. */
export function storageFailure(what: string, err: unknown) {
  const details = `${what}: ${(err as Error).message}`;
  if (isNotFound(err)) return errors.jobFailed('Staged input is missing', details, err);
  if (failureKind(err) === 'transient') return errors.transient('Storage is unavailable', details, err);
  return errors.jobFailed('Storage failed', details, err);
}

/**
 * Brings one of the job's inputs into `dir` as `<base>.<ext>` and returns its
 * path. The worker fetches URLs itself, so ffmpeg only ever opens local files.
 * Failures are classified (see url-fetch.ts and storageFailure); the caller
 * retries. Every byte counts against the job's `budget` (MAX_JOB_INPUT_MB);
 * a failed attempt gives its bytes back.
 */
export async function fetchInput(
  input: JobMessageInput,
  dir: string,
  base: string,
  storage: Storage,
  limits: InputLimits,
  signal: AbortSignal,
  budget: InputBudget,
): Promise<string> {
  const attempt = budget.attempt();
  try {
    if (input.source === 'storage') {
      const path = join(dir, localInputName(input.filename, base));
      // a staged upload is complete: its size counts against the job's budget before it is copied
      const size = await storage.size(input.key).catch((err: unknown) => {
        throw storageFailure(`storage key ${input.key}`, err);
      });
      if (!attempt.take(size)) throw attempt.exceeded();
      try {
        await storage.getFile(input.key, path);
      } catch (err) {
        throw storageFailure(`storage key ${input.key}`, err);
      }
      return path;
    }
    const path = join(dir, localInputName(new URL(input.url).pathname, base));
    await downloadUrl(input.url, path, limits, signal, attempt);
    return path;
  } catch (err) {
    attempt.release();
    throw err;
  }
}
