/**
 * Who a WebSocket client is, decided once on the HTTP upgrade. With API_KEYS
 * or JWT_SECRET configured, a client must present a key or token as
 * `Authorization: Bearer …` or `?token=…` (browsers cannot set headers on a
 * WebSocket); otherwise the gateway runs open.
 */
import { timingSafeEqual } from 'node:crypto';
import { sha256 } from '@media-foundry/shared/node';
import { jwtVerify } from 'jose';

/** The identity jobs belong to; with auth off, each connection is its own client. */
export interface Principal {
  readonly id: string;
  readonly kind: 'api_key' | 'jwt' | 'anonymous';
}

/** What `authenticate` answers with auth off (server.ts gives each connection its own id). */
const ANONYMOUS: Principal = Object.freeze({ id: 'anonymous', kind: 'anonymous' });

export interface Authenticator {
  readonly enabled: boolean;
  /** The principal for a presented token, or null when it is not valid. */
  authenticate(token: string | null): Promise<Principal | null>;
}

/** The token from `Authorization: Bearer <t>`, else from the `token` query parameter. */
export function presentedToken(authorization: string, query: string): string | null {
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1];
  if (bearer) return bearer;
  return new URLSearchParams(query).get('token');
}

export function createAuthenticator(options: { apiKeys: readonly string[]; jwtSecret?: string | undefined }): Authenticator {
  // compare digests: equal length, and timingSafeEqual does not leak where a guess diverges.
  // One principal per key, shared by all its connections: an open socket keeps its principal.
  const keys = options.apiKeys.map((k) => ({
    digest: sha256(k),
    principal: Object.freeze({ id: `key:${sha256(k).toString('hex').slice(0, 12)}`, kind: 'api_key' }) satisfies Principal,
  }));
  const jwtKey = options.jwtSecret ? new TextEncoder().encode(options.jwtSecret) : null;
  return {
    enabled: keys.length > 0 || jwtKey !== null,
    async authenticate(token) {
      if (keys.length === 0 && !jwtKey) return ANONYMOUS;
      if (!token) return null;
      const digest = sha256(token);
      let match: Principal | null = null;
      for (const key of keys) if (timingSafeEqual(digest, key.digest)) match = key.principal; // no early exit
      if (match) return match;
      if (jwtKey && token.split('.').length === 3) {
        try {
          // a token without `exp` would authenticate for ever: only rotating JWT_SECRET could end it
          const { payload } = await jwtVerify(token, jwtKey, { algorithms: ['HS256'], requiredClaims: ['exp', 'sub'] });
          if (typeof payload.sub === 'string' && payload.sub) return { id: `jwt:${payload.sub}`, kind: 'jwt' };
        } catch {
          return null;
        }
      }
      return null;
    },
  };
}

/** Whether a browser's Origin may connect (no list: any; no Origin header: not a browser, allowed). */
export function originAllowed(origin: string, allowed: readonly string[]): boolean {
  return allowed.length === 0 || origin === '' || allowed.includes(origin);
}
