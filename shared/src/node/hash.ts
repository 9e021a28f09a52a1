import { createHash } from 'node:crypto';

/** The SHA-256 digest of a UTF-8 text, as bytes (for timingSafeEqual). */
export function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** The SHA-256 digest of a UTF-8 text, as lowercase hex (stored digests, stable ids). */
export function sha256Hex(text: string): string {
  return sha256(text).toString('hex');
}
