import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AppError, errors, failureKind, type JobMessageInput, type OperationName } from '@media-foundry/shared';
import { isNotFound, type Storage } from '@media-foundry/shared/node';
import { movieBoxSearchFrom } from './ffmpeg/mp4-info.js';
import type { BudgetAttempt, InputBudget } from './input-budget.js';
import type { InputServer, ServedInput } from './input-server.js';
import { GrowingFile } from './growing-file.js';
import { type LookAhead, openOrigin, openOriginStream, startLookAhead } from './origin-range-source.js';
import { type ArrivingBlock, BlockReader, type RangeSource, readExactly } from './range-source.js';
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

/** A staged upload (or any stored object) read by range: S3 GetObject with `Range`, or a slice of the fs driver's file. */
export function storageRangeSource(storage: Storage, key: string, size: number): RangeSource {
  return {
    size,
    async read(range) {
      try {
        return await readExactly(await storage.get(key, range.start, range.end), range.end - range.start + 1, `storage key ${key}`);
      } catch (err) {
        if (err instanceof AppError) throw err;
        throw storageFailure(`storage key ${key}`, err);
      }
    },
  };
}

/**
 * Operations that read only part of their input — the headers, then a seek
 * and a few seconds — and so read it by range where it is instead of
 * downloading it whole (a thumbnail at 0:05 of a 2 GB file moves a few MB).
 * The others decode everything; they download.
 */
export const PARTIAL_READ_OPERATIONS: ReadonlySet<OperationName> = new Set(['thumbnail', 'probe', 'trim', 'gif']);

/** Bytes per range read: small enough that a seek wastes little, large enough that a request's cost is amortised. */
export const RANGE_BLOCK_BYTES = 512 * 1024;
/** Blocks kept per input (8 MiB): the headers ffprobe read are still there when ffmpeg opens the input. */
const RANGE_CACHE_BLOCKS = 16;

/** How an input read by range arrived: served to ffmpeg, or downloaded after all (the origin answered with the whole file). */
export type RangedInput = { served: ServedInput } | { path: string };

/**
 * Serves one of the job's inputs to ffmpeg by range through `server`. An
 * origin that answers the first range request with the whole file is
 * downloaded into `dir` (once made) from that answer (one request either
 * way); null when the input cannot be read by range otherwise (an empty object): the caller
 * downloads it. A staged upload is read from storage by range; a URL from
 * the origin it resolved to (origin-range-source.ts). Every byte read counts
 * against the job's input budget.
 */
export async function openRangedInput(
  input: JobMessageInput,
  dir: Promise<string>,
  server: InputServer,
  storage: Storage,
  limits: InputLimits,
  signal: AbortSignal,
  budget: BudgetAttempt,
  retrying: <T>(what: string, step: () => Promise<T>) => Promise<T>,
): Promise<RangedInput | null> {
  let source: RangeSource;
  let first: ArrivingBlock | undefined;
  let ahead: LookAhead | null = null;
  let name: string;
  if (input.source === 'storage') {
    const size = await storage.size(input.key).catch((err: unknown) => {
      throw storageFailure(`storage key ${input.key}`, err);
    });
    if (size === 0) return null;
    source = storageRangeSource(storage, input.key, size);
    name = localInputName(input.filename);
  } else {
    name = localInputName(new URL(input.url).pathname);
    // an MP4 whose moov follows its mdat: the moov's block comes alongside the first
    const opened = await openOrigin(input.url, limits, signal, RANGE_BLOCK_BYTES, movieBoxSearchFrom);
    if (!opened.ranges) {
      const path = join(await dir, name);
      await opened.save(path, budget);
      return { path };
    }
    if (!budget.take(opened.firstBytes)) {
      opened.cancel();
      throw budget.exceeded();
    }
    ({ source, first, ahead } = opened);
  }
  const reader = new BlockReader(source, { blockBytes: RANGE_BLOCK_BYTES, cacheBlocks: RANGE_CACHE_BLOCKS, budget, retrying });
  if (first) reader.seedArriving(0, first);
  if (ahead) takeLookAhead(reader, ahead);
  return { served: server.serve(reader, name, signal) };
}

/** Gives `reader` the reads begun ahead (an MP4's index), or stops those it does not take. */
function takeLookAhead(reader: BlockReader, ahead: LookAhead): void {
  const taken = ahead.kind === 'tail' ? reader.seedTail(ahead.start, ahead.bytes) : reader.adopt(ahead.index, ahead.read);
  if (!taken) ahead.cancel();
}

/**
 * Operations that read all of their one input: ffmpeg reads its file while
 * it downloads (growing-file.ts) instead of after.
 */
export const STREAMED_READ_OPERATIONS: ReadonlySet<OperationName> = new Set([
  'compress',
  'convert',
  'extract_audio',
  'remove_audio',
  'speed',
  'filter',
]);

/** An input's file served to ffmpeg while it downloads into `path`. */
export interface StreamedInput {
  served: ServedInput;
  /** Where the file is written: whole once `downloaded` resolves. */
  path: string;
  /** The download's end; rejects with its failure. */
  downloaded: Promise<void>;
  /** When the download ended (ms since the epoch); null while it goes on, or after it failed. */
  downloadedAt(): number | null;
  /** Stops serving and downloading; resolves once the file is closed (before the job's temp dir goes). */
  stop(): Promise<void>;
}

/**
 * Downloads one input into `dir` while serving it through `server` as far
 * as it has come: ffmpeg starts on its first bytes. A URL is fetched in one
 * request (`openOriginStream`), a staged upload by one GetObject. When the
 * source serves ranges (storage does; an origin that answered `206` does),
 * an MP4's index after its media data is read by range at once, alongside
 * the download (the look-ahead a ranged input has). A URL answer that does
 * not tell its size (chunked) is downloaded whole first, as before:
 * `{ path }`; an empty input is null (the caller downloads it). Every
 * downloaded byte counts against `budget` (a staged upload's size, before
 * it is read, as when it is copied), and the block read ahead once more.
 */
export async function openStreamedInput(
  input: JobMessageInput,
  dir: Promise<string>,
  server: InputServer,
  storage: Storage,
  limits: InputLimits,
  signal: AbortSignal,
  budget: BudgetAttempt,
  retrying: <T>(what: string, step: () => Promise<T>, stepSignal?: AbortSignal) => Promise<T>,
): Promise<StreamedInput | { path: string } | null> {
  const stop = new AbortController();
  const both = AbortSignal.any([signal, stop.signal]);
  let size: number | null;
  let source: RangeSource | null;
  let save: (target: string | Writable) => Promise<void>;
  /** Saves the rest from `from`, asked again by range; null when the source cannot. */
  let resume: ((from: number, target: Writable) => Promise<void>) | null;
  let cancel: () => void;
  let name: string;
  if (input.source === 'storage') {
    const key = input.key;
    name = localInputName(input.filename);
    size = await storage.size(key).catch((err: unknown) => {
      throw storageFailure(`storage key ${key}`, err);
    });
    if (size === 0) return null;
    if (!budget.take(size)) throw budget.exceeded();
    const body = await storage.get(key).catch((err: unknown) => {
      throw storageFailure(`storage key ${key}`, err);
    });
    source = storageRangeSource(storage, key, size);
    const saveFrom = (from: Readable, target: string | Writable) =>
      pipeline(from, typeof target === 'string' ? createWriteStream(target) : target, { signal: both }).catch((err: unknown) => {
        throw both.aborted ? errors.jobCancelled() : err instanceof AppError ? err : storageFailure(`storage key ${key}`, err);
      });
    const whole = size;
    save = (target) => saveFrom(body, target);
    resume = async (from, target) => {
      const rest = await storage.get(key, from, whole - 1).catch((err: unknown) => {
        throw storageFailure(`storage key ${key}`, err);
      });
      await saveFrom(rest, target);
    };
    cancel = () => body.destroy();
  } else {
    const opened = await openOriginStream(input.url, limits, both);
    ({ size, source, cancel } = opened);
    name = localInputName(new URL(input.url).pathname);
    save = (target) => opened.save(target, budget);
    const resumeUrl = opened.resume;
    resume = resumeUrl && ((from, target) => resumeUrl(from, target, budget));
  }
  let growing: GrowingFile;
  try {
    const path = join(await dir, name);
    if (!size) {
      await save(path);
      return { path };
    }
    growing = await GrowingFile.create(path, size);
  } catch (err) {
    cancel();
    throw err;
  }
  const file = growing;
  // a download cut part way goes on from where it stopped (the job's retries), while ffmpeg waits
  let started = false;
  const again = resume;
  const download = again
    ? retrying(
        'downloading the input',
        async () => {
          if (!started) {
            started = true;
            return save(file.sink());
          }
          const from = await file.settled();
          // every byte came before the answer failed: nothing is left to ask for
          return from < file.size ? again(from, file.sink()) : undefined;
        },
        both,
      )
    : save(file.sink());
  let downloadedAt: number | null = null;
  const downloaded = download.then(
    () => {
      downloadedAt = Date.now();
      growing.complete();
    },
    (err: unknown) => {
      growing.fail(err);
      throw err;
    },
  );
  downloaded.catch(() => {}); // its failure is every waiting read's, and so the job's
  // the file's own reads are not counted: the download counts its bytes; the look-ahead's are counted again
  const reader = new BlockReader(growing, {
    blockBytes: RANGE_BLOCK_BYTES,
    cacheBlocks: RANGE_CACHE_BLOCKS,
    budget,
    retrying: (_what, step) => step(),
  });
  const ranges = source;
  if (ranges)
    growing.first.then(
      (head) => {
        const ahead = startLookAhead(ranges, movieBoxSearchFrom(head, ranges.size), RANGE_BLOCK_BYTES, RANGE_BLOCK_BYTES, both);
        if (ahead) takeLookAhead(reader, ahead);
      },
      () => {},
    );
  const served = server.serve(reader, name, signal);
  return {
    served,
    path: growing.path,
    downloaded,
    downloadedAt: () => downloadedAt,
    stop: async () => {
      served.close();
      stop.abort();
      await downloaded.catch(() => {});
      await growing.close();
    },
  };
}
