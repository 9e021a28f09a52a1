/**
 * Downloads a client's URL to a file: http/https only, every address the
 * name resolves to checked (url-guard.ts) on the very connection that is made
 * (so DNS cannot be rebound between check and use), redirects followed and
 * re-checked hop by hop, size- and time-limited.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { createWriteStream } from 'node:fs';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { isIP } from 'node:net';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AppError, errors } from '@media-foundry/shared';
import { addressProblem, type UrlAllowlist } from './url-guard.js';

export interface DownloadLimits {
  maxBytes: number;
  timeoutMs: number;
  allowlist: UrlAllowlist;
  maxRedirects?: number;
}

class BlockedAddress extends Error {}

/** A `lookup` for http.request that refuses forbidden addresses. */
function guardedLookup(hostname: string, allow: UrlAllowlist): LookupFunction {
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

function get(url: URL, limits: DownloadLimits, signal: AbortSignal): Promise<IncomingMessage> {
  // a literal IP skips DNS, so check it here
  const literal = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(literal)) {
    const problem = addressProblem(literal, literal, limits.allowlist);
    if (problem) return Promise.reject(new BlockedAddress(problem));
  }
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.get(
      url,
      { lookup: guardedLookup(url.hostname, limits.allowlist), signal, headers: { 'user-agent': 'media-foundry' } },
      resolve,
    );
    req.on('error', reject);
  });
}

/** Fails once more than `maxBytes` went through. */
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

/** Downloads `url` to `path`; throws JOB_FAILED (or JOB_CANCELLED when `signal` aborts). */
export async function downloadUrl(url: string, path: string, limits: DownloadLimits, signal: AbortSignal): Promise<void> {
  const timeout = AbortSignal.timeout(limits.timeoutMs);
  const both = AbortSignal.any([signal, timeout]);
  const fail = (err: unknown): never => {
    if (signal.aborted) throw errors.jobCancelled();
    if (err instanceof AppError) throw err;
    if (err instanceof BlockedAddress) throw errors.jobFailed('Input URL is not allowed', err.message);
    if (timeout.aborted)
      throw errors.jobFailed('Could not download the input URL', `download took longer than ${limits.timeoutMs / 1000}s`);
    const e = err as NodeJS.ErrnoException;
    throw errors.jobFailed('Could not download the input URL', e.message || e.code || String(err), err);
  };
  let current = new URL(url);
  for (let hop = 0; ; hop++) {
    if (current.protocol !== 'http:' && current.protocol !== 'https:')
      throw errors.jobFailed('Input URL is not allowed', `${current.protocol} URLs are not fetched (redirect to ${current.href})`);
    const res = await get(current, limits, both).catch(fail);
    const status = res.statusCode ?? 0;
    if (status >= 300 && status < 400 && res.headers.location) {
      res.resume();
      if (hop >= (limits.maxRedirects ?? 5)) throw errors.jobFailed('Could not download the input URL', 'too many redirects');
      current = new URL(res.headers.location, current);
      continue;
    }
    if (status < 200 || status >= 300) {
      res.resume();
      throw errors.jobFailed('Could not download the input URL', `HTTP ${status} ${res.statusMessage ?? ''}`.trim());
    }
    const declared = Number(res.headers['content-length']);
    if (Number.isFinite(declared) && declared > limits.maxBytes) {
      res.destroy();
      throw errors.jobFailed('Input is too large', `Content-Length ${declared} exceeds MAX_FILE_SIZE_MB`);
    }
    await pipeline(res, byteLimit(limits.maxBytes), createWriteStream(path), { signal: both }).catch(fail);
    return;
  }
}
