/**
 * Download URLs for `delivery_method: "url"`: a URL the store signs itself
 * where it can (a presigned S3 GET); with fs, a URL of the gateway itself (`/files/<key>`) signed with
 * HMAC-SHA256 over the key and its expiry, served by file-route.ts.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Storage } from '@media-foundry/shared/node';

/** What a gateway URL serves when it was made without a content type. */
export const DEFAULT_CONTENT_TYPE = 'application/octet-stream';

export interface DownloadUrls {
  /** A URL for the object under `key`, valid for `ttlSeconds`, served as `contentType`. */
  urlFor(key: string, filename: string, ttlSeconds: number, contentType?: string): Promise<string>;
  /**
   * The storage key a signed gateway URL grants, or null when it is forged or
   * expired. The content type (the URL's `type`) is signed too: the file
   * route answers with it, so it must be the one the gateway put there.
   */
  verify(key: string, expires: string, signature: string, now?: number, contentType?: string): string | null;
}

/**
 * Where the gateway's own download URLs point: PUBLIC_BASE_URL, else
 * `http://<WS_HOST>:<port>` — with `localhost` for a wildcard WS_HOST
 * (0.0.0.0, ::), which is no address a client can reach, and brackets round
 * an IPv6 address.
 */
export function publicBaseUrl(config: { publicBaseUrl?: string | undefined; wsHost: string }, port: number): string {
  if (config.publicBaseUrl) return config.publicBaseUrl;
  const host = config.wsHost === '0.0.0.0' || config.wsHost === '::' ? 'localhost' : config.wsHost;
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

export function createDownloadUrls(
  storage: Storage,
  /** Where the gateway is reached (read when a URL is made: the port is known only after listening). */
  baseUrl: () => string,
  secret: string = randomBytes(32).toString('hex'),
): DownloadUrls {
  const sign = (key: string, expires: number, type: string) =>
    createHmac('sha256', secret).update(`${key}\n${expires}\n${type}`).digest('base64url');
  return {
    async urlFor(key, filename, ttlSeconds, contentType = DEFAULT_CONTENT_TYPE) {
      // S3 answers with the ContentType the worker stored the object with; an output path (`720p/seg_003.ts`)
      // downloads as its last part
      if (storage.presign) return storage.presign(key, ttlSeconds, filename.slice(filename.lastIndexOf('/') + 1));
      const expires = Math.floor(Date.now() / 1000) + ttlSeconds;
      const path = key.split('/').map(encodeURIComponent).join('/');
      const type = encodeURIComponent(contentType);
      return `${baseUrl().replace(/\/+$/, '')}/files/${path}?expires=${expires}&type=${type}&sig=${sign(key, expires, contentType)}`;
    },
    verify(key, expires, signature, now = Date.now(), contentType = DEFAULT_CONTENT_TYPE) {
      const at = Number(expires);
      if (!Number.isInteger(at) || at * 1000 < now) return null;
      const expected = Buffer.from(sign(key, at, contentType));
      const given = Buffer.from(signature);
      return given.length === expected.length && timingSafeEqual(given, expected) ? key : null;
    },
  };
}
