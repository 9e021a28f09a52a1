/**
 * One webhook attempt: a POST of the task's body, signed, to an address the
 * guard allows (url-guard.ts, checked on the very connection that is made,
 * as for URL inputs, so DNS cannot be rebound between check and use), within
 * a timeout; redirects are not followed. The answer says what to do next.
 */
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { addressProblem, type UrlAllowlist } from '@media-foundry/shared/node';
import { BlockedAddress, guardedLookup } from '../url-fetch.js';
import { statusVerdict } from './schedule.js';
import { SIGNATURE_HEADER, signatureHeader } from './signature.js';
import type { WebhookTask } from './events.js';

export const EVENT_ID_HEADER = 'MediaFoundry-Event-Id';
export const EVENT_HEADER = 'MediaFoundry-Event';
export const ATTEMPT_HEADER = 'MediaFoundry-Attempt';

export interface SendOptions {
  secret: string;
  /** The whole attempt, until the answer's status, ms. */
  timeoutMs: number;
  allowlist: UrlAllowlist;
  /** Unix seconds (tests pin it). */
  nowSeconds?: () => number;
}

/**
 * `delivered` (2xx); `retry` (5xx, 408, 429, a timeout or a network error);
 * `rejected` (another status: a 4xx, a redirect); `blocked` (a private
 * address the allow-list does not name; never retried).
 */
export interface AttemptResult {
  verdict: 'delivered' | 'retry' | 'rejected' | 'blocked';
  status?: number;
  error?: string;
}

/** The request headers of attempt number `attempt` (1 for the first). */
export function webhookHeaders(task: WebhookTask, attempt: number, secret: string, nowSeconds: number): Record<string, string> {
  return {
    'content-type': 'application/json',
    'user-agent': 'media-foundry-webhooks',
    [SIGNATURE_HEADER]: signatureHeader(secret, task.body, nowSeconds, task.id),
    [EVENT_ID_HEADER]: task.id,
    [EVENT_HEADER]: task.event,
    [ATTEMPT_HEADER]: String(attempt),
  };
}

export function sendWebhook(task: WebhookTask, attempt: number, options: SendOptions): Promise<AttemptResult> {
  let url: URL;
  try {
    url = new URL(task.url);
  } catch {
    return Promise.resolve({ verdict: 'rejected', error: 'not a URL' });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return Promise.resolve({ verdict: 'rejected', error: `${url.protocol} URL` });
  // a literal IP skips DNS (and so the guarded lookup): check it here
  const literal = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(literal)) {
    const problem = addressProblem(literal, literal, options.allowlist);
    if (problem) return Promise.resolve({ verdict: 'blocked', error: problem });
  }
  const now = options.nowSeconds?.() ?? Math.floor(Date.now() / 1000);
  const body = Buffer.from(task.body);
  const client = url.protocol === 'https:' ? https : http;
  return new Promise<AttemptResult>((resolve) => {
    const req = client.request(
      url,
      {
        method: 'POST',
        // no pooled sockets to receivers: every attempt connects (and is checked) anew
        agent: false,
        lookup: guardedLookup(url.hostname, options.allowlist),
        signal: AbortSignal.timeout(options.timeoutMs),
        headers: { ...webhookHeaders(task, attempt, options.secret, now), 'content-length': String(body.length) },
      },
      (res) => {
        const status = res.statusCode ?? 0;
        // the answer's body is not read: the connection goes at once (no pooling), rather than drain a body that may not end
        res.destroy();
        res.on('error', () => {});
        resolve({ verdict: statusVerdict(status), status });
      },
    );
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err instanceof BlockedAddress) return resolve({ verdict: 'blocked', error: err.message });
      const why =
        err.name === 'AbortError' || err.name === 'TimeoutError'
          ? `no answer within ${options.timeoutMs / 1000}s`
          : err.message || err.code;
      resolve({ verdict: 'retry', error: why ?? String(err) });
    });
    req.end(body);
  });
}
