/**
 * Retrying transient failures: exponential backoff with jitter, bounded by a
 * time budget. Which failures are transient is data on the error (`kind`),
 * decided where it was raised (see FailureKind in errors.ts).
 */
import type { FailureKind } from './errors.js';

export interface BackoffPolicy {
  /** Delay ceiling of the first retry, ms; doubles with each retry. */
  baseMs: number;
  /** Largest delay, ms. */
  capMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 250, capMs: 8000 };

/**
 * The delay before retry number `attempt` (0 for the first retry): "equal
 * jitter" — half the exponential ceiling plus a random half, so many clients
 * hit by the same outage spread out but none retries at once.
 */
export function backoffDelay(attempt: number, policy: BackoffPolicy = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** The kind an error declares (`kind` on AppError, StorageError, …); anything unlabelled is our bug. */
export function failureKind(err: unknown): FailureKind {
  const kind = (err as { kind?: unknown } | null)?.kind;
  return kind === 'terminal' || kind === 'transient' || kind === 'internal' ? kind : 'internal';
}

export interface RetryOptions {
  /** Retries stop once this long has passed since the step first ran, ms. */
  budgetMs: number;
  /** Aborting stops waiting and rethrows the last failure. */
  signal?: AbortSignal | undefined;
  /** Told before each wait: the failure, the retry number (1, 2, …) and the wait. */
  onRetry?: ((err: unknown, retry: number, delayMs: number) => void) | undefined;
  policy?: BackoffPolicy;
  now?: () => number;
  random?: () => number;
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Runs `step` until it succeeds, retrying only `transient` failures, with
 * backoff, while the budget lasts; then throws the last failure. A retry that
 * would start after the budget is not made.
 */
export async function retryTransient<T>(step: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const now = options.now ?? Date.now;
  const started = now();
  for (let attempt = 0; ; attempt++) {
    try {
      return await step(attempt);
    } catch (err) {
      if (failureKind(err) !== 'transient' || options.signal?.aborted) throw err;
      const delay = backoffDelay(attempt, options.policy, options.random);
      if (now() + delay - started > options.budgetMs) throw err;
      options.onRetry?.(err, attempt + 1, delay);
      await sleep(delay, options.signal);
      if (options.signal?.aborted) throw err;
    }
  }
}
