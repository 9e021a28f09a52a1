/**
 * The MediaFoundry-Signature header: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`
 * under WEBHOOK_SECRET. The timestamp is signed with the body so that a
 * receiver can refuse old requests replayed at it; each attempt is signed
 * afresh, so `t` is the time of the attempt, not of the event.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'MediaFoundry-Signature';

/** Hex HMAC-SHA256 of `${timestamp}.${body}`. */
export function signature(secret: string, timestamp: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

/** The header's value for `body` signed at `timestamp` (unix seconds). */
export function signatureHeader(secret: string, body: string, timestamp: number): string {
  return `t=${timestamp},v1=${signature(secret, timestamp, body)}`;
}

/** The `t` and every `v1` of a header (unknown schemes are ignored, so a later `v2` can be added beside `v1`). */
export function parseSignatureHeader(header: string): { timestamp: number; v1: string[] } | null {
  let timestamp: number | null = null;
  const v1: string[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't' && /^\d{1,12}$/.test(value)) timestamp = Number(value);
    else if (key === 'v1' && /^[0-9a-f]{64}$/.test(value)) v1.push(value);
  }
  return timestamp === null || v1.length === 0 ? null : { timestamp, v1 };
}

/**
 * Whether `header` signs `body` under `secret` at a time within
 * `toleranceSeconds` of `nowSeconds` (what a receiver checks; docs/WEBHOOKS.md
 * shows the same in a few lines of Node and Python).
 */
export function verifySignature(secret: string, header: string, body: string, nowSeconds: number, toleranceSeconds = 300): boolean {
  const parsed = parseSignatureHeader(header);
  if (!parsed || Math.abs(nowSeconds - parsed.timestamp) > toleranceSeconds) return false;
  const expected = Buffer.from(signature(secret, parsed.timestamp, body), 'hex');
  return parsed.v1.some((v) => timingSafeEqual(Buffer.from(v, 'hex'), expected));
}
