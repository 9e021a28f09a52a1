import { join } from 'node:path';
import { errors, type JobMessageInput } from '@media-foundry/shared';
import type { Storage } from '@media-foundry/shared/node';
import { type DownloadLimits, downloadUrl } from './url-fetch.js';

export type InputLimits = DownloadLimits;

/** A safe local extension from a URL path or file name (ffmpeg probes the content anyway). */
export function localInputName(nameOrPath: string, base = 'input'): string {
  const ext = /\.([A-Za-z0-9]{1,10})$/.exec(nameOrPath)?.[1]?.toLowerCase();
  return `${base}.${ext ?? 'bin'}`;
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
  await downloadUrl(input.url, path, limits, signal);
  return path;
}
