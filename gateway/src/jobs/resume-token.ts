/**
 * Resume tokens: `<internal job id>.<secret>`. The job's record in storage
 * keeps only the SHA-256 of the secret, so any gateway can check a token and
 * none can make one from what is stored. Compared in constant time.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { sha256Hex } from '@media-foundry/shared/node';

/** A new token for a job, and the digest its record keeps. */
export function newResumeToken(internalId: string): { token: string; digest: string } {
  const secret = randomBytes(24).toString('base64url');
  return { token: `${internalId}.${secret}`, digest: sha256Hex(secret) };
}

/** Internal job ids are the UUIDs the gateway makes (randomUUID). */
const INTERNAL_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * The internal job id a token names (not yet checked); null when it is not a
 * token at all. Only a UUID passes: the id becomes a routing key and a storage
 * key before the token is checked, so nothing else a client sends may.
 */
export function tokenJobId(token: string): string | null {
  const dot = token.indexOf('.');
  if (dot <= 0 || dot >= token.length - 1) return null;
  const id = token.slice(0, dot);
  return INTERNAL_ID.test(id) ? id : null;
}

/** Whether `token` is the one whose secret's digest is `digest`. */
export function tokenMatches(token: string, digest: string): boolean {
  const dot = token.indexOf('.');
  if (dot <= 0) return false;
  const given = Buffer.from(sha256Hex(token.slice(dot + 1)), 'hex');
  const expected = Buffer.from(digest, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
