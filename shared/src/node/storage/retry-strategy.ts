/**
 * The S3 client's retry strategy: every request that fails for a transient
 * reason (connection refused or reset, a timeout, DNS, 5xx, throttling) is
 * tried again with exponential backoff and jitter until a time budget since
 * its first attempt is spent — so a store that is away for a few seconds
 * costs a delay, not a failed job. The SDK's own standard mode gives up after
 * three attempts within a second or so, and shares a retry quota between all
 * requests that one outage drains at once.
 */
import type { RetryErrorInfo, RetryStrategyV2, RetryToken } from '@smithy/types';
import { backoffDelay, type BackoffPolicy, DEFAULT_BACKOFF } from '../../retry.js';

class BudgetToken implements RetryToken {
  constructor(
    readonly startedAt: number,
    private readonly retries: number,
    private readonly delayMs: number,
  ) {}
  getRetryCount(): number {
    return this.retries;
  }
  getRetryDelay(): number {
    return this.delayMs;
  }
}

export class BudgetRetryStrategy implements RetryStrategyV2 {
  readonly mode = 'budget';

  constructor(
    /** No retry starts later than this after the first attempt, ms (0: no retries). */
    private readonly budgetMs: number,
    private readonly policy: BackoffPolicy = DEFAULT_BACKOFF,
    private readonly now: () => number = Date.now,
  ) {}

  acquireInitialRetryToken(): Promise<RetryToken> {
    return Promise.resolve(new BudgetToken(this.now(), 0, 0));
  }

  refreshRetryTokenForRetry(token: RetryToken, info: RetryErrorInfo): Promise<RetryToken> {
    const previous = token as BudgetToken;
    if (info.errorType === 'CLIENT_ERROR') return Promise.reject(new Error('not retryable'));
    const hinted = info.retryAfterHint ? info.retryAfterHint.getTime() - this.now() : 0;
    const delay = Math.max(backoffDelay(previous.getRetryCount(), this.policy), Math.min(hinted, this.policy.capMs));
    if (this.now() + delay - previous.startedAt > this.budgetMs) return Promise.reject(new Error('retry budget spent'));
    return Promise.resolve(new BudgetToken(previous.startedAt, previous.getRetryCount() + 1, delay));
  }

  recordSuccess(): void {}
}
