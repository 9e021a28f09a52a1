import type { RetryErrorType, RetryToken } from '@smithy/types';
import { BudgetRetryStrategy } from './retry-strategy.js';

/** A clock the test moves by hand, in epoch ms (retry-after hints are real Dates). */
function manualClock(start = Date.UTC(2025, 0, 1)) {
  const clock = { t: start, now: () => clock.t };
  return clock;
}

/** Delays fall between 50 and 100 ms on the first retry (equal jitter, ceiling 100). */
const policy = { baseMs: 100, capMs: 1000 };

/** A strategy with `budgetMs` of retry budget and the test policy, on a clock the test moves. */
function strategy(budgetMs: number) {
  const clock = manualClock();
  return { clock, s: new BudgetRetryStrategy(budgetMs, policy, clock.now) };
}

/** Asserts a backoff delay under `ceilingMs`: equal jitter puts it between half the ceiling and the ceiling. */
function expectBackoff(token: RetryToken, ceilingMs: number): void {
  expect(token.getRetryDelay()).toBeGreaterThanOrEqual(ceilingMs / 2);
  expect(token.getRetryDelay()).toBeLessThanOrEqual(ceilingMs);
}

async function refused(promise: Promise<RetryToken>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected the retry to be refused');
}

describe('BudgetRetryStrategy', () => {
  it('hands out a first token with no retries and no delay', async () => {
    const { s } = strategy(10_000);
    const token = await s.acquireInitialRetryToken();
    expect(token.getRetryCount()).toBe(0);
    expect(token.getRetryDelay()).toBe(0);
    expect(s.mode).toBe('budget');
  });

  it('refuses to retry a client error (4xx), however much budget is left', async () => {
    const { s } = strategy(60_000);
    const token = await s.acquireInitialRetryToken();
    expect(await refused(s.refreshRetryTokenForRetry(token, { errorType: 'CLIENT_ERROR' }))).toBe('not retryable');
  });

  it.each<RetryErrorType>(['TRANSIENT', 'THROTTLING', 'SERVER_ERROR'])('retries a %s error with a backoff delay', async (errorType) => {
    const { s } = strategy(60_000);
    const token = await s.refreshRetryTokenForRetry(await s.acquireInitialRetryToken(), { errorType });
    expect(token.getRetryCount()).toBe(1);
    expectBackoff(token, 100);
  });

  it('counts retries up and doubles the delay ceiling with each one, up to the cap', async () => {
    const { clock, s } = strategy(600_000);
    let token = await s.acquireInitialRetryToken();
    const ceilings = [100, 200, 400, 800, 1000, 1000];
    for (const [i, ceiling] of ceilings.entries()) {
      token = await s.refreshRetryTokenForRetry(token, { errorType: 'TRANSIENT' });
      expect(token.getRetryCount()).toBe(i + 1);
      expectBackoff(token, ceiling);
      clock.t += token.getRetryDelay();
    }
  });

  it('allows retries until the budget, measured from the first attempt, is spent', async () => {
    const { clock, s } = strategy(1000);
    const first = await s.acquireInitialRetryToken();
    // 899 ms in, even the longest first delay (100 ms) starts within the budget
    clock.t += 899;
    const second = await s.refreshRetryTokenForRetry(first, { errorType: 'TRANSIENT' });
    expect(second.getRetryCount()).toBe(1);
    // 1000 ms in, even the shortest second delay (100 ms) would start after it
    clock.t += 101;
    expect(await refused(s.refreshRetryTokenForRetry(second, { errorType: 'TRANSIENT' }))).toBe('retry budget spent');
  });

  it('refuses a retry whose delay would start after the budget, even on the first retry', async () => {
    const { clock, s } = strategy(1000);
    const first = await s.acquireInitialRetryToken();
    clock.t += 951; // the shortest delay (50 ms) would start at 1001 ms
    expect(await refused(s.refreshRetryTokenForRetry(first, { errorType: 'SERVER_ERROR' }))).toBe('retry budget spent');
  });

  it('keeps the budget of each request apart: a new request starts its own clock', async () => {
    const { clock, s } = strategy(1000);
    const old = await s.acquireInitialRetryToken();
    clock.t += 5000;
    expect(await refused(s.refreshRetryTokenForRetry(old, { errorType: 'TRANSIENT' }))).toBe('retry budget spent');
    const fresh = await s.acquireInitialRetryToken();
    expect((await s.refreshRetryTokenForRetry(fresh, { errorType: 'TRANSIENT' })).getRetryCount()).toBe(1);
  });

  it('makes no retries with a zero budget', async () => {
    const { s } = strategy(0);
    const first = await s.acquireInitialRetryToken();
    expect(await refused(s.refreshRetryTokenForRetry(first, { errorType: 'TRANSIENT' }))).toBe('retry budget spent');
  });

  it.each([
    ['as long as a retry-after hint asks when that is longer than the backoff', 700, 700],
    ['no longer than the cap, however far off the retry-after hint is', 3_600_000, 1000],
  ])('waits %s', async (_how, hintMs, delayMs) => {
    const { clock, s } = strategy(60_000);
    const token = await s.refreshRetryTokenForRetry(await s.acquireInitialRetryToken(), {
      errorType: 'THROTTLING',
      retryAfterHint: new Date(clock.t + hintMs),
    });
    expect(token.getRetryDelay()).toBe(delayMs);
    expect(token.getRetryCount()).toBe(1);
  });

  it('keeps the backoff when a retry-after hint is shorter or already past', async () => {
    const { clock, s } = strategy(60_000);
    const first = await s.acquireInitialRetryToken();
    for (const hint of [clock.t + 10, clock.t - 5000]) {
      const token = await s.refreshRetryTokenForRetry(first, { errorType: 'THROTTLING', retryAfterHint: new Date(hint) });
      expectBackoff(token, 100);
    }
  });

  it('refuses a retry whose retry-after hint falls beyond the budget', async () => {
    const { clock, s } = strategy(500);
    const first = await s.acquireInitialRetryToken();
    const retry = s.refreshRetryTokenForRetry(first, { errorType: 'THROTTLING', retryAfterHint: new Date(clock.t + 800) });
    expect(await refused(retry)).toBe('retry budget spent');
  });

  it('uses the default policy (250 ms doubling to 8 s) when none is given', async () => {
    const clock = manualClock();
    const s = new BudgetRetryStrategy(60_000, undefined, clock.now);
    const token = await s.refreshRetryTokenForRetry(await s.acquireInitialRetryToken(), { errorType: 'TRANSIENT' });
    expectBackoff(token, 250);
    const hinted = await s.refreshRetryTokenForRetry(token, { errorType: 'THROTTLING', retryAfterHint: new Date(clock.t + 30_000) });
    expect(hinted.getRetryDelay()).toBe(8000);
  });

  it('accepts recordSuccess without effect on later requests', async () => {
    const { s } = strategy(60_000);
    const token = await s.acquireInitialRetryToken();
    s.recordSuccess();
    expect((await s.refreshRetryTokenForRetry(token, { errorType: 'TRANSIENT' })).getRetryCount()).toBe(1);
  });
});
