/**
 * A client's URL read by range. The first request follows redirects hop by
 * hop through the URL guard (as a download does) and asks for the first
 * block; a `206` with a complete `Content-Range` proves the origin serves
 * ranges and tells the input's size. Every later read goes to the URL the
 * chain ended at, on the very address that first answered (no new DNS
 * answer can point it elsewhere), follows no redirect, and must answer
 * exactly the bytes asked of a resource of the same size: anything else is
 * refused (http-range.ts), and must be of the same version of the file: each
 * read sends the first answer's strong ETag (or its Last-Modified, when that
 * is a strong validator) as `If-Range`, so an origin whose file was replaced,
 * even by one of the same length, answers it whole and the job fails instead
 * of splicing two files; an answer that names another ETag (or, without one,
 * another Last-Modified) is refused too. An origin that does not
 * answer ranges is downloaded from its answer to that first request.
 */
import type { IncomingMessage } from 'node:http';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { errors } from '@media-foundry/shared';
import { type ByteRange, type FileVersion, fileVersion, parseContentRange, rangeAnswerProblem, versionProblem } from './http-range.js';
import { ArrivingBlock, blockRange, readExactly, type RangeSource } from './range-source.js';
import type { BudgetAttempt } from './input-budget.js';
import {
  type DownloadLimits,
  downloadDeadline,
  fetchFailure,
  isRedirect,
  openUrl,
  originGet,
  saveBody,
  stallGuard,
  statusFailure,
} from './url-fetch.js';

/**
 * The origin serves ranges: the first block it sends (`firstBytes` long, its
 * first chunk in, the rest on the way) and the source for the rest. Or it
 * does not: its answer is the whole file, to be saved (one request either way).
 */
export type OpenedOrigin =
  | {
      ranges: true;
      source: RangeSource;
      first: ArrivingBlock;
      firstBytes: number;
      ahead: LookAhead | null;
      /** Stops every read begun (the first block's, the look-ahead's): no one takes them. */
      cancel(): void;
    }
  | { ranges: false; save(path: string, budget: BudgetAttempt): Promise<void> };

/**
 * A read begun while the first block still arrived (`openOrigin`'s `lookAhead`): the bytes from the offset looked
 * ahead at to its block's end when they are a small part of that block (an MP4's `moov` at the end of the file
 * comes in a few KB, where its whole block may be hundreds), or else that whole block.
 */
export type LookAhead =
  | { kind: 'tail'; start: number; bytes: ArrivingBlock; /** Stops the read (no one takes it). */ cancel(): void }
  | { kind: 'block'; index: number; read: Promise<Buffer>; /** Stops the read (no one takes it). */ cancel(): void };

const rangeHeader = (range: ByteRange) => ({ range: `bytes=${range.start}-${range.end}` });

/**
 * How long one block may take: the connect timeout for the answer's head,
 * then the body at URL_MIN_BYTES_PER_SECOND (with one rate window of grace).
 */
function readDeadlineMs(limits: DownloadLimits, bytes: number): number {
  const body = limits.minBytesPerSecond > 0 ? (bytes / limits.minBytesPerSecond) * 1000 + limits.rateWindowMs : limits.timeoutMs;
  return Math.ceil(limits.connectTimeoutMs + Math.min(body, limits.timeoutMs));
}

/**
 * The body of a range answer, exactly `expected` bytes, with the stall and
 * rate limits of a download; `onChunk` is shown each chunk as it comes.
 */
async function readBody(
  res: IncomingMessage,
  expected: number,
  what: string,
  limits: DownloadLimits,
  signal: AbortSignal,
  onChunk?: (chunk: Buffer) => void,
) {
  let body!: Buffer;
  await pipeline(
    res,
    stallGuard(limits.stallMs),
    async (source: AsyncIterable<Buffer>) => {
      body = await readExactly(source, expected, what, onChunk);
    },
    { signal },
  );
  return body;
}

/**
 * Runs one request-and-body step with its deadline (on top of `base`, the
 * job's `signal` unless given), failures classified as a download's are.
 */
async function withDeadline<T>(
  ms: number,
  signal: AbortSignal,
  limits: DownloadLimits,
  bytes: number,
  step: (both: AbortSignal) => Promise<T>,
  base: AbortSignal = signal,
): Promise<T> {
  const deadline = AbortSignal.timeout(ms);
  try {
    return await step(AbortSignal.any([base, deadline]));
  } catch (err) {
    if (deadline.aborted && !signal.aborted)
      throw errors.jobFailed(
        'Input download is too slow',
        `the input URL did not send ${bytes} bytes within ${Math.round(ms / 1000)}s; URL_MIN_BYTES_PER_SECOND asks for at least ${limits.minBytesPerSecond} bytes a second`,
      );
    throw fetchFailure(err, signal, limits);
  }
}

/**
 * Starts reading, by range, the block holding `offset` — only the bytes from `offset` to that block's end when
 * they are a small part of it (everything ffmpeg and the header read want of it: the rest of that block, the end
 * of the media data, is fetched if ever asked for) — an offset that a lookAhead named, past the `from` bytes
 * already on their way. Null when there is nothing to read ahead.
 */
export function startLookAhead(
  source: RangeSource,
  offset: number | null,
  from: number,
  blockBytes: number,
  signal: AbortSignal,
): LookAhead | null {
  if (offset === null || offset < from || offset >= source.size) return null;
  const index = Math.floor(offset / blockBytes);
  const range = blockRange(index, blockBytes, source.size);
  const stop = new AbortController();
  const both = AbortSignal.any([signal, stop.signal]);
  const cancel = () => stop.abort();
  if (offset > range.start && range.end - offset < blockBytes / 4)
    return { kind: 'tail', start: offset, bytes: new ArrivingBlock(() => source.read({ start: offset, end: range.end }, both)), cancel };
  const read = source.read(range, both);
  read.catch(() => {}); // its taker (BlockReader.adopt) sees a failure; until then it is no one's
  return { kind: 'block', index, read, cancel };
}

/**
 * Opens `url` asking for its first `blockBytes`: an origin that answers the
 * range is read by range from then on; one that answers with the whole file
 * is downloaded from that very answer.
 *
 * `lookAhead`, shown the first chunk of the first block and the input's
 * size, may name an offset past that block that will be read next (an MP4's
 * `moov` after its `mdat`: mp4-info.ts): its block is fetched at once,
 * alongside the rest of the first block, instead of one round trip after it.
 */
export async function openOrigin(
  url: string,
  limits: DownloadLimits,
  signal: AbortSignal,
  blockBytes: number,
  lookAhead?: (head: Buffer, size: number) => number | null,
): Promise<OpenedOrigin> {
  const asked = { start: 0, end: blockBytes - 1 };
  // the first answer may turn out to be the whole download: it runs under the download's deadline
  const download = downloadDeadline(limits, signal);
  const { res, url: final } = await openUrl(url, limits, download.signal, rangeHeader(asked)).catch(download.fail);
  const save = (body: IncomingMessage): OpenedOrigin => ({
    ranges: false,
    save: (path, budget) => saveBody(body, path, limits, download.signal, budget).catch(download.fail),
  });
  if (res.statusCode !== 206) return save(res); // no ranges: this answer is the whole file
  const declared = parseContentRange(res.headers['content-range']);
  const address = res.socket.remoteAddress;
  if (declared && declared.total > limits.maxBytes) {
    res.destroy();
    throw errors.jobFailed('Input is too large', `the input URL declares ${declared.total} bytes, more than MAX_FILE_SIZE_MB`);
  }
  if (!declared || declared.start !== 0 || declared.end !== Math.min(asked.end, declared.total - 1) || !address) {
    // a part, but not the one asked for (a cap of the origin's own, a length it does not tell): not the whole
    // file either. It is asked for again whole, without a range
    res.destroy();
    return save(await askWhole(url, limits, download));
  }
  const bytes = declared.end + 1;
  const size = declared.total;
  const source = originRangeSource(final, address, size, limits, versionOf(res));
  const found: { ahead: LookAhead | null } = { ahead: null };
  // a first block that fails before its first chunk stops its look-ahead too; `cancel` stops all
  const stopAll = new AbortController();
  const seeFirst = (head: Buffer) => {
    found.ahead = startLookAhead(source, lookAhead?.(head, size) ?? null, bytes, blockBytes, AbortSignal.any([signal, stopAll.signal]));
  };
  let seen = false;
  const first = new ArrivingBlock((onChunk) =>
    withDeadline(
      readDeadlineMs(limits, bytes),
      signal,
      limits,
      bytes,
      (both) =>
        readBody(res, bytes, 'the input URL', limits, AbortSignal.any([both, stopAll.signal]), (chunk) => {
          if (!seen) seeFirst(chunk);
          seen = true;
          onChunk(chunk);
        }),
      download.signal,
    ),
  );
  // the rest of the block comes while the caller goes on (an MP4's header is described from its first bytes);
  // a read that fails after its first chunk is the reader's to fetch again
  await first.head(1).catch((err: unknown) => {
    stopAll.abort();
    throw err;
  });
  return { ranges: true, first, firstBytes: bytes, source, ahead: found.ahead, cancel: () => stopAll.abort() };
}

/** The whole file, asked again without a range (a range answer was not one to trust): a `200` or the download fails. */
async function askWhole(url: string, limits: DownloadLimits, download: ReturnType<typeof downloadDeadline>): Promise<IncomingMessage> {
  const whole = await openUrl(url, limits, download.signal).catch(download.fail);
  if (whole.res.statusCode !== 200) {
    whole.res.destroy();
    download.fail(
      errors.jobFailed(
        'Could not download the input URL',
        `the origin answered a request for the whole file with HTTP ${whole.res.statusCode}`,
      ),
    );
  }
  return whole.res;
}

/**
 * An origin's whole file in one answer, for an operation that reads all of it (growing-file.ts): its size, when
 * the answer tells it, and, when the origin serves ranges, a source for reads ahead of the download (an MP4's
 * index after its media data).
 */
export interface StreamedOrigin {
  /** From `Content-Range` or `Content-Length`; null when the answer tells neither (chunked). */
  size: number | null;
  /** Later reads by range, on the address that answered; null when the origin does not serve ranges. */
  source: RangeSource | null;
  /** Saves the answer's body to `target` under the download's limits (its deadline, stall and rate guards, size, `budget`). */
  save(target: string | Writable, budget: BudgetAttempt): Promise<void>;
  /**
   * Saves the bytes from `from` to the end, asked again by range (a download cut part way), as `save` does, under
   * the same deadline; null when the origin does not serve ranges.
   */
  resume: ((from: number, target: Writable, budget: BudgetAttempt) => Promise<void>) | null;
  /** Drops the answer unread. */
  cancel(): void;
}

/**
 * Opens `url` for the whole file as `Range: bytes=0-`: a `206` for all of it
 * proves the origin serves ranges (and tells the size) in the same request a
 * download makes; a `200` is the whole file as well. A range answer that is
 * not the whole file is not trusted: the file is asked for again, whole.
 */
export async function openOriginStream(url: string, limits: DownloadLimits, signal: AbortSignal): Promise<StreamedOrigin> {
  const download = downloadDeadline(limits, signal);
  const opened = await openUrl(url, limits, download.signal, { range: 'bytes=0-' }).catch(download.fail);
  let res = opened.res;
  let source: RangeSource | null = null;
  let size: number | null = null;
  const version = versionOf(res);
  if (res.statusCode === 206) {
    const declared = parseContentRange(res.headers['content-range']);
    const address = res.socket.remoteAddress;
    if (declared && declared.start === 0 && declared.end === declared.total - 1 && address) {
      size = declared.total;
      if (size <= limits.maxBytes) source = originRangeSource(opened.url, address, size, limits, version);
    } else {
      res.destroy();
      res = await askWhole(url, limits, download);
    }
  }
  if (size === null) {
    const length = res.headers['content-length'];
    size = length !== undefined && /^\d+$/.test(length) ? Number(length) : null;
  }
  if (size !== null && size > limits.maxBytes) {
    res.destroy();
    throw errors.jobFailed('Input is too large', `the input URL declares ${size} bytes, more than MAX_FILE_SIZE_MB`);
  }
  const body = res;
  const whole = size;
  const address = res.socket.remoteAddress;
  return {
    size,
    source,
    save: (target, budget) => saveBody(body, target, limits, download.signal, budget).catch(download.fail),
    resume:
      source && whole !== null && address
        ? async (from, target, budget) => {
            const rest = await rangeAnswer(
              opened.url,
              address,
              { start: from, end: whole - 1 },
              whole,
              limits,
              download.signal,
              version,
            ).catch(download.fail);
            await saveBody(rest, target, limits, download.signal, budget).catch(download.fail);
          }
        : null,
    cancel: () => body.destroy(),
  };
}

/** The version of the file an answer is of (http-range.ts `fileVersion`). */
const versionOf = (res: IncomingMessage) => fileVersion(res.headers.etag, res.headers['last-modified'], res.headers.date);

/**
 * A range request to `url` on `address` (the one that first answered), redirects refused, answered with
 * exactly `range` of the `version` of a resource of `size` bytes it first answered with: its answer, the body
 * unread; anything else throws.
 */
async function rangeAnswer(
  url: URL,
  address: string,
  range: ByteRange,
  size: number,
  limits: DownloadLimits,
  signal: AbortSignal,
  version: FileVersion | null,
) {
  const headers = { ...rangeHeader(range), ...(version?.ifRange ? { 'if-range': version.ifRange } : {}) };
  const res = await originGet(url, limits, signal, { headers, pinnedAddress: address });
  const status = res.statusCode ?? 0;
  // bodies not read are dropped with their connection, never drained (openUrl)
  if (isRedirect(res)) {
    res.destroy();
    throw errors.jobFailed(
      'Input URL is not allowed',
      `the origin redirected a range request to ${res.headers.location}; reads after the first follow no redirects`,
    );
  }
  if (status !== 206) {
    res.destroy();
    if (status >= 200 && status < 300)
      throw errors.jobFailed(
        'Input changed while being read',
        `the origin answered a range request with HTTP ${status}${version?.ifRange ? `: the file is no longer the one first read (If-Range ${version.ifRange})` : ''}`,
      );
    throw statusFailure(res);
  }
  const problem = rangeAnswerProblem(res.headers['content-range'], range, size) ?? versionProblem(version, res.headers);
  if (problem) {
    res.destroy();
    throw errors.jobFailed('Input changed while being read', problem);
  }
  return res;
}

function originRangeSource(url: URL, address: string, size: number, limits: DownloadLimits, version: FileVersion | null): RangeSource {
  return {
    size,
    read(range, signal) {
      const bytes = range.end - range.start + 1;
      return withDeadline(readDeadlineMs(limits, bytes), signal, limits, bytes, async (both) => {
        const res = await rangeAnswer(url, address, range, size, limits, both, version);
        return readBody(res, bytes, `bytes ${range.start}-${range.end} of the input URL`, limits, both);
      });
    },
  };
}
