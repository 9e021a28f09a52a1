/**
 * What a failure may tell the client. ffmpeg's and ffprobe's stderr, fs and
 * storage errors name server paths (`/tmp/ffmpeg-jobs/<id>-x/input_0.mp4`,
 * `/srv/storage/jobs/<id>/input/clip.mp4`) and the job's internal id, which
 * the client never sees otherwise; here they become the names the client
 * knows ("input 2", "output.mp4"), and the heap addresses in ffmpeg's log
 * prefixes are dropped, in one place: the job's failures pass
 * through `publicError` on their way out of runJob.
 */
import { AppError, type JobMessage, storageKeys } from '@media-foundry/shared';

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A path-ish token: no spaces, quotes or separators a message puts around a path. */
const TOKEN = `[^\\s'"\`,;()<>]`;

/** An absolute path of two or more segments not inside a word or a URL (`http://host/a/b` stays). */
const ABSOLUTE_PATH = new RegExp(`(?<![\\w:/.~-])(?:/${TOKEN}+){2,}/?`, 'g');

/** An input served to ffmpeg by the worker's input server (input-server.ts): its port and per-job path are ours. */
const SERVED_INPUT = /http:\/\/127\.0\.0\.1:\d+\/[0-9a-f]{32}\/[\w.%-]*/g;

/** ffmpeg's log prefix `[png @ 0x55d0c3a1b2c0]`: a heap address, no business of the client's (nor ASLR's). */
const LOG_CONTEXT_POINTER = / @ 0x[0-9a-f]+\]/g;

/** Replaces the server's names in `text` by the ones the client knows. */
export type Scrubber = (text: string) => string;

/**
 * The scrubber of one job: its temp dir `dir` (where the worker writes
 * `input.<ext>` or `input_<i>.<ext>`, and outputs under `out/`), the URL of
 * an input read by range through the input server, its staged
 * inputs' storage keys, and its internal id; then any absolute path left.
 */
export function jobScrubber(job: Pick<JobMessage, 'job_id' | 'inputs'>, dir: string): Scrubber {
  const single = job.inputs.length === 1;
  const inputName = (i: number) => (single ? 'the input' : `input ${i + 1}`);
  // a storage key may appear alone or at the end of the storage directory's path
  const anyPrefix = `(?:/${TOKEN}*/)?`;
  const keys = job.inputs.flatMap((input, i) =>
    input.source === 'storage' ? [[new RegExp(anyPrefix + escape(input.key), 'g'), inputName(i)] as const] : [],
  );
  const tempInput = new RegExp(`${escape(dir)}/input(?:_(\\d+))?\\.[A-Za-z0-9]+`, 'g');
  const jobFiles = new RegExp(`${anyPrefix}${escape(storageKeys.jobPrefix(job.job_id))}(?:[a-z]+/)?`, 'g');
  return (text) => {
    let out = text
      .replace(tempInput, (_m, i: string | undefined) => inputName(i === undefined ? 0 : Number(i)))
      .replace(SERVED_INPUT, inputName(0)); // only single-input jobs are served by range
    for (const [pattern, name] of keys) out = out.replace(pattern, name);
    return out
      .replaceAll(`${dir}/out/`, '')
      .replaceAll(`${dir}/`, '')
      .replaceAll(dir, "the job's working directory")
      .replace(jobFiles, '')
      .replaceAll(job.job_id, 'the job')
      .replace(ABSOLUTE_PATH, '<path>')
      .replace(LOG_CONTEXT_POINTER, ']');
  };
}

/** The failure as the client may see it: AppError (INTERNAL_ERROR for anything else) with server names scrubbed; code, kind and cause kept. */
export function publicError(err: unknown, scrub: Scrubber): AppError {
  const e = AppError.from(err);
  const message = scrub(e.message);
  const details = e.details === undefined ? undefined : scrub(e.details);
  if (message === e.message && details === e.details) return e;
  return new AppError(e.code, message, { details, kind: e.kind, cause: e.cause ?? e });
}
