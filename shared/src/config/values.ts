/**
 * The kinds of value the environment variables hold, as zod schemas, and the
 * units they are converted from: each service's schema (base.ts, gateway.ts,
 * worker.ts) is built from these.
 */
import { z } from 'zod';

/** Bytes in a MiB: every `_MB` variable is converted with it, once, at start-up. */
export const MiB = 1024 * 1024;
/** Milliseconds in a second: every `_SECONDS` variable is converted with it, once, at start-up. */
export const SECOND_MS = 1000;

/** `_MB` → bytes. */
export const mibToBytes = (mib: number): number => mib * MiB;
/** `_SECONDS` → ms. */
export const secondsToMs = (seconds: number): number => seconds * SECOND_MS;

export const port = z.coerce.number().int().min(0).max(65535);
export const positiveInt = z.coerce.number().int().positive();
export const nonNegativeInt = z.coerce.number().int().nonnegative();
/** Seconds a Node timer waits: more than 2^31-1 ms overflows and fires at once. */
export const timerSeconds = positiveInt.max(2_147_483);
/** A shared secret (HMAC or JWT key). */
export const secret = z.string().min(32, 'must be at least 32 characters');

/** A comma-separated list, entries trimmed, empty ones dropped. */
export const commaList = z
  .string()
  .default('')
  .transform((s) =>
    s
      .split(',')
      .map((e) => e.trim())
      .filter(Boolean),
  );

/** Comma-separated host names, IPs or CIDRs (URL_ALLOWLIST, WEBHOOK_ALLOWLIST), as a list. */
export const addressAllowlist = commaList.pipe(
  z.array(z.string().regex(/^[A-Za-z0-9.:_\-[\]]+(\/\d{1,3})?$/, 'must be host names, IPs or CIDRs, comma-separated')),
);

/** The spec writes levels upper-case (LOG_LEVEL=INFO); pino wants lower-case. */
export const logLevel = z
  .string()
  .transform((s) =>
    s
      .toLowerCase()
      .replace(/^warning$/, 'warn')
      .replace(/^critical$/, 'fatal'),
  )
  .pipe(z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']));
