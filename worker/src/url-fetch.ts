/**
 * Downloads a client's URL to a file: http/https only, every address the
 * name resolves to checked (url-guard.ts) on the very connection that is made
 * (so DNS cannot be rebound between check and use), redirects followed and
 * re-checked hop by hop, size- and time-limited: a connect-and-headers
 * timeout, a stall timeout (no bytes), a minimum rate and a total timeout;
 * the file's size and the job's inputs together (MAX_JOB_INPUT_MB). Failures say whether a
 * retry may help (`transient`: the origin's 5xx/429, refused or reset
 * connections, DNS trouble) or not (404, a blocked address, a stall).
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { createWriteStream } from 'node:fs';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { isIP } from 'node:net';
import { Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AppError, errors } from '@media-foundry/shared';
import { addressProblem, bareHost, fileClosed, TRANSIENT_NETWORK_CODES, type UrlAllowlist } from '@media-foundry/shared/node';
import type { BudgetAttempt } from './input-budget.js';

export interface DownloadLimits {
  maxBytes: number;
  /** The whole download, ms. */
  timeoutMs: number;
  /** Until the response headers arrive (per hop), ms. */
  connectTimeoutMs: number;
  /** No byte for this long mid-body is a stall, ms. */
  stallMs: number;
  /** The body must average at least this many bytes a second over each `rateWindowMs` (URL_MIN_BYTES_PER_SECOND); 0: no minimum. */
  minBytesPerSecond: number;
  rateWindowMs: number;
  allowlist: UrlAllowlist;
  maxRedirects?: number;
}

/** HTTP statuses that say "not now" rather than "no". */
const TRANSIENT_STATUSES = new Set([408, 425, 429, 500, 502, 503, 504]);

export class BlockedAddress extends Error {}

/** A `lookup` for http.request that refuses forbidden addresses. */
export function guardedLookup(hostname: string, allow: UrlAllowlist): LookupFunction {
  return (host, options, callback) => {
    dnsLookup(host, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err, '', 0);
      for (const a of addresses) {
        const problem = addressProblem(a.address, hostname, allow);
        if (problem) return callback(new BlockedAddress(problem), '', 0);
      }
      const first = addresses[0]!;
      if ((options as { all?: boolean }).all) (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      else callback(null, first.address, first.family);
    });
  };
}

export class ConnectTimeout extends Error {}

/** A `lookup` that answers one address already checked (a range read goes back to the very address the first request reached). */
function pinnedLookup(address: string): LookupFunction {
  const family = isIP(address);
  return (_host, options, callback) => {
    if ((options as { all?: boolean }).all) (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, [{ address, family }]);
    else callback(null, address, family);
  };
}

export interface OriginRequest {
  /** Extra request headers (a `range`). */
  headers?: Record<string, string>;
  /** Connect to this address instead of resolving the name again (it was checked when first reached). */
  pinnedAddress?: string;
}

/**
 * One GET of `url` (no redirects followed: the caller decides), on an
 * address the guard allows; rejects with ConnectTimeout when no response
 * head arrives within `connectTimeoutMs`.
 */
export function originGet(url: URL, limits: DownloadLimits, signal: AbortSignal, request: OriginRequest = {}): Promise<IncomingMessage> {
  // a literal IP skips DNS, so check it here
  const literal = bareHost(url.hostname);
  if (isIP(literal)) {
    const problem = addressProblem(literal, literal, limits.allowlist);
    if (problem) return Promise.reject(new BlockedAddress(problem));
  }
  const lookup = request.pinnedAddress ? pinnedLookup(request.pinnedAddress) : guardedLookup(url.hostname, limits.allowlist);
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.get(url, { lookup, signal, headers: { 'user-agent': 'media-foundry', ...request.headers } }, (res) => {
      clearTimeout(timer);
      resolve(res);
    });
    const timer = setTimeout(() => req.destroy(new ConnectTimeout()), limits.connectTimeoutMs);
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** Fails with a stall when no chunk passes for `stallMs`. */
export function stallGuard(stallMs: number): Transform {
  let seen = 0;
  let timer: NodeJS.Timeout;
  const guard: Transform = new Transform({
    transform(chunk: Buffer, _enc, done) {
      seen += chunk.length;
      arm();
      done(null, chunk);
    },
    flush(done) {
      clearTimeout(timer);
      done();
    },
    destroy(err, done) {
      clearTimeout(timer);
      done(err);
    },
  });
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(
      () =>
        guard.destroy(
          errors.stalled(
            `the input download received no data for ${Math.round(stallMs / 1000)}s (FFMPEG_STALL_SECONDS) after ${seen} bytes`,
          ),
        ),
      stallMs,
    );
  };
  arm();
  return guard;
}

/**
 * Fails when a window of `windowMs` passes with fewer than `minBytesPerSecond`
 * × the window's seconds received: an origin that trickles (a byte every few
 * seconds never trips the stall guard) fails within one window, not after
 * URL_FETCH_TIMEOUT_SECONDS. Not transient: retrying a deliberately slow
 * origin would hold the worker slot again for every retry and redelivery.
 */
function rateGuard(minBytesPerSecond: number, windowMs: number): Transform {
  const floor = Math.ceil((minBytesPerSecond * windowMs) / 1000);
  let inWindow = 0;
  let timer: NodeJS.Timeout | undefined;
  const guard: Transform = new Transform({
    transform(chunk: Buffer, _enc, done) {
      inWindow += chunk.length;
      done(null, chunk);
    },
    flush(done) {
      clearInterval(timer);
      done();
    },
    destroy(err, done) {
      clearInterval(timer);
      done(err);
    },
  });
  if (minBytesPerSecond > 0)
    timer = setInterval(() => {
      if (inWindow < floor)
        guard.destroy(
          errors.jobFailed(
            'Input download is too slow',
            `the input URL sent ${inWindow} bytes in ${windowMs / 1000}s; URL_MIN_BYTES_PER_SECOND asks for at least ${minBytesPerSecond} bytes a second`,
          ),
        );
      inWindow = 0;
    }, windowMs);
  return guard;
}

/** Fails once more than `maxBytes` went through, or the job's inputs together are over `budget`. */
function byteLimit(maxBytes: number, budget: BudgetAttempt): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      seen += chunk.length;
      if (seen > maxBytes)
        done(errors.jobFailed('Input is too large', `more than MAX_FILE_SIZE_MB (${Math.round(maxBytes / 1048576)} MiB)`));
      else if (!budget.take(chunk.length)) done(budget.exceeded());
      else done(null, chunk);
    },
  });
}

/**
 * A failed request or body as the job sees it: cancelled, not allowed,
 * worth retrying (no answer in time, a refused or reset connection) or final.
 */
export function fetchFailure(err: unknown, signal: AbortSignal, limits: Pick<DownloadLimits, 'connectTimeoutMs'>): AppError {
  if (signal.aborted) return errors.jobCancelled();
  if (err instanceof AppError) return err;
  if (err instanceof BlockedAddress) return errors.jobFailed('Input URL is not allowed', err.message);
  if (err instanceof ConnectTimeout)
    return errors.transient('Could not download the input URL', `no answer within ${limits.connectTimeoutMs / 1000}s`, err);
  const e = err as NodeJS.ErrnoException;
  const why = e.message || e.code || String(err);
  if (e.code === 'ENOTFOUND') return errors.jobFailed('Could not download the input URL', why, err);
  if (TRANSIENT_NETWORK_CODES.has(e.code ?? '') || /socket hang up|aborted/i.test(e.message ?? ''))
    return errors.transient('Could not download the input URL', why, err);
  return errors.jobFailed('Could not download the input URL', why, err);
}

/** An origin's answer that is not a success: transient for "not now" statuses, final otherwise. */
export function statusFailure(res: IncomingMessage): AppError {
  const status = res.statusCode ?? 0;
  const why = `HTTP ${status} ${res.statusMessage ?? ''}`.trim();
  return TRANSIENT_STATUSES.has(status)
    ? errors.transient('Could not download the input URL', why)
    : errors.jobFailed('Could not download the input URL', why);
}

/** The next URL of a redirect chain, refused when it leaves http(s) or the chain is too long. */
export function redirectTarget(res: IncomingMessage, from: URL, hop: number, limits: Pick<DownloadLimits, 'maxRedirects'>): URL {
  if (hop >= (limits.maxRedirects ?? 5)) throw errors.jobFailed('Could not download the input URL', 'too many redirects');
  const next = new URL(res.headers.location!, from);
  if (next.protocol !== 'http:' && next.protocol !== 'https:')
    throw errors.jobFailed('Input URL is not allowed', `${next.protocol} URLs are not fetched (redirect to ${next.href})`);
  return next;
}

/** Whether a response is a redirect the fetcher follows. */
export function isRedirect(res: IncomingMessage): boolean {
  const status = res.statusCode ?? 0;
  return status >= 300 && status < 400 && !!res.headers.location;
}

/**
 * Requests `url` (with `headers`), following redirects hop by hop through
 * the guard; returns the first answer that is not a redirect, when it is a
 * success (its body unread), with the URL it came from. Throws as a
 * download fails (fetchFailure, statusFailure). The body of a redirect or
 * an error is not drained but dropped with its connection: one that never
 * ends would be read outside every byte limit.
 */
export async function openUrl(
  url: string,
  limits: DownloadLimits,
  signal: AbortSignal,
  headers?: Record<string, string>,
): Promise<{ res: IncomingMessage; url: URL }> {
  let current = new URL(url);
  if (current.protocol !== 'http:' && current.protocol !== 'https:')
    throw errors.jobFailed('Input URL is not allowed', `${current.protocol} URLs are not fetched`);
  for (let hop = 0; ; hop++) {
    const res = await originGet(current, limits, signal, headers ? { headers } : {});
    if (isRedirect(res)) {
      res.destroy();
      current = redirectTarget(res, current, hop, limits);
      continue;
    }
    const status = res.statusCode ?? 0;
    if (status < 200 || status >= 300) {
      res.destroy();
      throw statusFailure(res);
    }
    return { res, url: current };
  }
}

/**
 * Writes a successful answer's body to `target` (a path, or a stream such as
 * growing-file.ts's), under the download's limits:
 * MAX_FILE_SIZE_MB (declared or counted), the job's input budget, the stall
 * and minimum-rate guards. Resolves once the file is closed.
 */
export async function saveBody(
  res: IncomingMessage,
  target: string | Writable,
  limits: DownloadLimits,
  signal: AbortSignal,
  budget: BudgetAttempt,
) {
  const declared = Number(res.headers['content-length']);
  if (Number.isFinite(declared) && declared > limits.maxBytes) {
    res.destroy();
    throw errors.jobFailed('Input is too large', `Content-Length ${declared} exceeds MAX_FILE_SIZE_MB`);
  }
  const file = typeof target === 'string' ? createWriteStream(target) : target;
  try {
    await pipeline(
      res,
      stallGuard(limits.stallMs),
      rateGuard(limits.minBytesPerSecond, limits.rateWindowMs),
      byteLimit(limits.maxBytes, budget),
      file,
      { signal },
    );
  } finally {
    // an abort can fail the pipeline while the file is still being opened: the
    // download is over only once it is closed (else it appears after the temp dir's removal began)
    await fileClosed(file);
  }
}

/** The download's whole-time limit (URL_FETCH_TIMEOUT_SECONDS) with `signal`, and how failures read under it. */
export function downloadDeadline(limits: DownloadLimits, signal: AbortSignal) {
  const timeout = AbortSignal.timeout(limits.timeoutMs);
  return {
    signal: AbortSignal.any([signal, timeout]),
    fail: (err: unknown): never => {
      if (timeout.aborted && !signal.aborted && !(err instanceof AppError) && !(err instanceof BlockedAddress))
        throw errors.jobFailed('Could not download the input URL', `download took longer than ${limits.timeoutMs / 1000}s`);
      throw fetchFailure(err, signal, limits);
    },
  };
}

/**
 * Downloads `url` to `path`; throws JOB_FAILED (transient or not; see above)
 * or JOB_CANCELLED when `signal` aborts. `budget` counts the bytes against
 * the job's MAX_JOB_INPUT_MB.
 */
export async function downloadUrl(
  url: string,
  path: string,
  limits: DownloadLimits,
  signal: AbortSignal,
  budget: BudgetAttempt,
): Promise<void> {
  const deadline = downloadDeadline(limits, signal);
  const { res } = await openUrl(url, limits, deadline.signal).catch(deadline.fail);
  await saveBody(res, path, limits, deadline.signal, budget).catch(deadline.fail);
}
