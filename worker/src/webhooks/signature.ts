/**
 * The MediaFoundry-Signature header:
 * `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">,v2=<hex HMAC-SHA256 of "<t>.<event id>.<body>">`
 * under WEBHOOK_SECRET. The timestamp is signed with the body so that a
 * receiver can refuse old requests replayed at it; v2 signs the event id
 * (MediaFoundry-Event-Id) too, so a request replayed within the tolerance
 * under another id cannot pass a receiver's de-duplication as a new event.
 * v1 stays for receivers written against it. Each attempt is signed
 * afresh, so `t` is the time of the attempt, not of the event.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'MediaFoundry-Signature';

/** Hex HMAC-SHA256 of `${timestamp}.${body}` (v1). */
export function signature(secret: string, timestamp: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

/** Hex HMAC-SHA256 of `${timestamp}.${eventId}.${body}` (v2). */
export function signatureV2(secret: string, timestamp: number, eventId: string, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${eventId}.${body}`).digest('hex');
}

/** The header's value for event `eventId` with `body`, signed at `timestamp` (unix seconds). */
export function signatureHeader(secret: string, body: string, timestamp: number, eventId: string): string {
  return `t=${timestamp},v1=${signature(secret, timestamp, body)},v2=${signatureV2(secret, timestamp, eventId, body)}`;
}

/** The `t` and every `v1` and `v2` of a header (unknown schemes are ignored, so a later one can be added beside these). */
export function parseSignatureHeader(header: string): { timestamp: number; v1: string[]; v2: string[] } | null {
  let timestamp: number | null = null;
  const v1: string[] = [];
  const v2: string[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't' && /^\d{1,12}$/.test(value)) timestamp = Number(value);
    else if ((key === 'v1' || key === 'v2') && /^[0-9a-f]{64}$/.test(value)) (key === 'v1' ? v1 : v2).push(value);
  }
  return timestamp === null || v1.length + v2.length === 0 ? null : { timestamp, v1, v2 };
}

/**
 * Whether `header` signs `body` under `secret` at a time within
 * `toleranceSeconds` of `nowSeconds` (what a receiver checks; docs/WEBHOOKS.md
 * shows the same in a few lines of Node and Python). With `eventId` (the
 * MediaFoundry-Event-Id received) a v2 signature of it is required; without,
 * a v1 one is enough.
 */
export function verifySignature(
  secret: string,
  header: string,
  body: string,
  nowSeconds: number,
  { eventId, toleranceSeconds = 300 }: { eventId?: string; toleranceSeconds?: number } = {},
): boolean {
  const parsed = parseSignatureHeader(header);
  if (!parsed || Math.abs(nowSeconds - parsed.timestamp) > toleranceSeconds) return false;
  const [candidates, expectedHex] =
    eventId === undefined
      ? [parsed.v1, signature(secret, parsed.timestamp, body)]
      : [parsed.v2, signatureV2(secret, parsed.timestamp, eventId, body)];
  const expected = Buffer.from(expectedHex, 'hex');
  return candidates.some((v) => timingSafeEqual(Buffer.from(v, 'hex'), expected));
}
