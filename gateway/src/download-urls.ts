/**
 * Download URLs for `delivery_method: "url"`: a URL the store signs itself
 * where it can (a presigned S3 GET); with fs, a URL of the gateway itself (`/files/<key>`) signed with
 * HMAC-SHA256 over the key and its expiry, served by file-route.ts.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Storage } from '@media-foundry/shared/node';

export interface DownloadUrls {
  /** A URL for the object under `key`, valid for `ttlSeconds`. */
  urlFor(key: string, filename: string, ttlSeconds: number): Promise<string>;
  /** The storage key a signed gateway URL grants, or null when it is forged or expired. */
  verify(key: string, expires: string, signature: string, now?: number): string | null;
}

export function createDownloadUrls(
  storage: Storage,
  /** Where the gateway is reached (read when a URL is made: the port is known only after listening). */
  baseUrl: () => string,
  secret: string = randomBytes(32).toString('hex'),
): DownloadUrls {
  const sign = (key: string, expires: number) => createHmac('sha256', secret).update(`${key}\n${expires}`).digest('base64url');
  return {
    async urlFor(key, filename, ttlSeconds) {
      // an output path (`720p/seg_003.ts`) downloads as its last part
      if (storage.presign) return storage.presign(key, ttlSeconds, filename.slice(filename.lastIndexOf('/') + 1));
      const expires = Math.floor(Date.now() / 1000) + ttlSeconds;
      const path = key.split('/').map(encodeURIComponent).join('/');
      return `${baseUrl().replace(/\/+$/, '')}/files/${path}?expires=${expires}&sig=${sign(key, expires)}`;
    },
    verify(key, expires, signature, now = Date.now()) {
      const at = Number(expires);
      if (!Number.isInteger(at) || at * 1000 < now) return null;
      const expected = Buffer.from(sign(key, at));
      const given = Buffer.from(signature);
      return given.length === expected.length && timingSafeEqual(given, expected) ? key : null;
    },
  };
}
