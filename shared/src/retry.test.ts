import { getEventListeners } from 'node:events';
import { AppError, ErrorCode } from './errors.js';
import { backoffDelay, DEFAULT_BACKOFF, failureKind, retryTransient, sleep } from './retry.js';

const transient = (message = 'store away') => new AppError(ErrorCode.INTERNAL_ERROR, message, { kind: 'transient' });
const terminal = (message = 'bad media') => new AppError(ErrorCode.JOB_FAILED, message);

/** A clock the test moves by hand. */
function manualClock(start = 1_000_000) {
  const clock = { t: start, now: () => clock.t };
  return clock;
}

describe('backoffDelay', () => {
  const policy = { baseMs: 100, capMs: 1000 };

  it('waits half the ceiling when the random draw is 0 and the whole ceiling when it is 1', () => {
    expect(backoffDelay(0, policy, () => 0)).toBe(50);
    expect(backoffDelay(0, policy, () => 1)).toBe(100);
    expect(backoffDelay(0, policy, () => 0.5)).toBe(75);
  });

  it('doubles the ceiling with each retry', () => {
    expect([0, 1, 2, 3].map((a) => backoffDelay(a, policy, () => 1))).toEqual([100, 200, 400, 800]);
    expect([0, 1, 2, 3].map((a) => backoffDelay(a, policy, () => 0))).toEqual([50, 100, 200, 400]);
  });

  it('never exceeds the cap, however many retries came before', () => {
    expect(backoffDelay(4, policy, () => 1)).toBe(1000);
    expect(backoffDelay(4, policy, () => 0)).toBe(500);
    expect(backoffDelay(50, policy, () => 1)).toBe(1000);
    expect(backoffDelay(10_000, policy, () => 0.999999)).toBe(1000);
  });

  it('stays between half the ceiling and the ceiling for any random draw', () => {
    for (const r of [0, 0.1, 0.25, 0.5, 0.75, 0.9, 0.999]) {
      for (const attempt of [0, 1, 2, 3, 4, 5]) {
        const ceiling = Math.min(1000, 100 * 2 ** attempt);
        const d = backoffDelay(attempt, policy, () => r);
        expect(d).toBeGreaterThanOrEqual(ceiling / 2);
        expect(d).toBeLessThanOrEqual(ceiling);
        expect(Number.isInteger(d)).toBe(true);
      }
    }
  });

  it('defaults to 250 ms doubling up to 8 s', () => {
    expect(DEFAULT_BACKOFF).toEqual({ baseMs: 250, capMs: 8000 });
    expect([0, 1, 2, 3, 4, 5, 6].map((a) => backoffDelay(a, undefined, () => 1))).toEqual([250, 500, 1000, 2000, 4000, 8000, 8000]);
  });

  it('uses Math.random when no random is given, staying within the bounds', () => {
    for (let i = 0; i < 50; i++) {
      const d = backoffDelay(2, policy);
      expect(d).toBeGreaterThanOrEqual(200);
      expect(d).toBeLessThanOrEqual(400);
    }
  });
});

describe('failureKind', () => {
  it('reads the kind an error declares', () => {
    expect(failureKind(transient())).toBe('transient');
    expect(failureKind(terminal())).toBe('terminal');
    expect(failureKind(new AppError(ErrorCode.INTERNAL_ERROR, 'bug'))).toBe('internal');
    expect(failureKind({ kind: 'transient' })).toBe('transient');
  });

  it('treats anything unlabelled or mislabelled as internal (our bug)', () => {
    expect(failureKind(new Error('plain'))).toBe('internal');
    expect(failureKind({ kind: 'retry-me' })).toBe('internal');
    expect(failureKind({ kind: 1 })).toBe('internal');
    expect(failureKind('transient')).toBe('internal');
    expect(failureKind(null)).toBe('internal');
    expect(failureKind(undefined)).toBe('internal');
    expect(failureKind(42)).toBe('internal');
  });
});

describe('sleep', () => {
  it('resolves after the given time', async () => {
    const started = performance.now();
    await sleep(30);
    expect(performance.now() - started).toBeGreaterThanOrEqual(25);
  });

  it('resolves early when the signal aborts while it waits', async () => {
    const ac = new AbortController();
    const started = performance.now();
    setTimeout(() => ac.abort(), 10);
    await sleep(10_000, ac.signal);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('resolves at once when the signal has already aborted', async () => {
    const started = performance.now();
    await sleep(10_000, AbortSignal.abort());
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('stops listening to the signal once it has resolved', async () => {
    const ac = new AbortController();
    const waiting = sleep(5, ac.signal);
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(1);
    await waiting;
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
  });
});

describe('retryTransient', () => {
  /** Small delays so real sleeps stay in the milliseconds: 2 ms with random 0. */
  const policy = { baseMs: 4, capMs: 4 };

  it('returns the result of a step that succeeds at once, without retrying', async () => {
    const attempts: number[] = [];
    const result = await retryTransient(
      (attempt) => {
        attempts.push(attempt);
        return Promise.resolve('done');
      },
      { budgetMs: 1000, policy },
    );
    expect(result).toBe('done');
    expect(attempts).toEqual([0]);
  });

  it('retries transient failures and returns the first success, numbering the attempts from 0', async () => {
    const attempts: number[] = [];
    const result = await retryTransient(
      (attempt) => {
        attempts.push(attempt);
        return attempt < 2 ? Promise.reject(transient()) : Promise.resolve(attempt * 10);
      },
      { budgetMs: 1000, policy, random: () => 0 },
    );
    expect(result).toBe(20);
    expect(attempts).toEqual([0, 1, 2]);
  });

  it('tells onRetry the failure, the retry number (1, 2, …) and the delay before each wait', async () => {
    const failures = [transient('first'), transient('second')];
    const told: [unknown, number, number][] = [];
    await retryTransient((attempt) => (attempt < 2 ? Promise.reject(failures[attempt]) : Promise.resolve('ok')), {
      budgetMs: 1000,
      policy: { baseMs: 4, capMs: 100 },
      random: () => 1,
      onRetry: (err, retry, delayMs) => told.push([err, retry, delayMs]),
    });
    expect(told).toEqual([
      [failures[0], 1, 4],
      [failures[1], 2, 8],
    ]);
  });

  it('waits the backoff delay between attempts', async () => {
    const at: number[] = [];
    await retryTransient(
      (attempt) => {
        at.push(performance.now());
        return attempt === 0 ? Promise.reject(transient()) : Promise.resolve();
      },
      { budgetMs: 1000, policy: { baseMs: 40, capMs: 40 }, random: () => 1 },
    );
    expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(35);
  });

  it.each([
    ['terminal', terminal()],
    ['internal (AppError)', new AppError(ErrorCode.INTERNAL_ERROR, 'bug')],
    ['internal (unlabelled Error)', new Error('TypeError somewhere')],
  ])('rethrows a %s failure at once, without retrying', async (_label, failure) => {
    let calls = 0;
    const retries: number[] = [];
    await expect(
      retryTransient(
        () => {
          calls += 1;
          return Promise.reject(failure);
        },
        { budgetMs: 60_000, policy, onRetry: (_e, retry) => retries.push(retry) },
      ),
    ).rejects.toBe(failure);
    expect(calls).toBe(1);
    expect(retries).toEqual([]);
  });

  it('rethrows a terminal failure that follows transient ones, without further retries', async () => {
    const last = terminal('now it is the media');
    let calls = 0;
    await expect(
      retryTransient(
        () => {
          calls += 1;
          return Promise.reject(calls < 3 ? transient() : last);
        },
        { budgetMs: 1000, policy, random: () => 0 },
      ),
    ).rejects.toBe(last);
    expect(calls).toBe(3);
  });

  it('makes no retry that would start after the budget, and throws the last failure', async () => {
    // every attempt takes 10 ms of the injected clock; each delay is 2 ms (random 0, ceiling 4)
    const clock = manualClock();
    const failures: Error[] = [];
    const retries: [number, number][] = [];
    const outcome = retryTransient(
      () => {
        clock.t += 10;
        const e = transient(`attempt ${failures.length}`);
        failures.push(e);
        return Promise.reject(e);
      },
      { budgetMs: 35, policy, now: clock.now, random: () => 0, onRetry: (_e, retry, delay) => retries.push([retry, delay]) },
    );
    // retries would start at 12, 22, 32 ms (within 35), the fourth at 42 ms (past it)
    const thrown = await outcome.then(
      () => null,
      (err: unknown) => err,
    );
    expect(failures).toHaveLength(4);
    expect(thrown).toBe(failures[3]);
    expect(retries).toEqual([
      [1, 2],
      [2, 2],
      [3, 2],
    ]);
  });

  /** How many times a step that always fails transiently, each attempt taking `attemptMs`, is called before retryTransient gives up. */
  async function callsUntilGivenUp(o: { attemptMs: number; budgetMs: number }): Promise<number> {
    const clock = manualClock();
    let calls = 0;
    const step = () => {
      calls += 1;
      clock.t += o.attemptMs;
      return Promise.reject(transient());
    };
    await expect(retryTransient(step, { budgetMs: o.budgetMs, policy, now: clock.now, random: () => 0 })).rejects.toMatchObject({
      kind: 'transient',
    });
    return calls;
  }

  it('still makes a retry that would start exactly when the budget ends', async () => {
    // attempt 1 ends at 8; retry at 10 = budget; attempt 2 ends at 18
    expect(await callsUntilGivenUp({ attemptMs: 8, budgetMs: 10 })).toBe(2);
  });

  it('measures the budget from the first attempt, including the time the step itself took', async () => {
    // one slow attempt already spends the whole budget
    expect(await callsUntilGivenUp({ attemptMs: 100, budgetMs: 50 })).toBe(1);
  });

  it('does not retry at all with a zero budget', async () => {
    let calls = 0;
    await expect(
      retryTransient(
        () => {
          calls += 1;
          return Promise.reject(transient());
        },
        { budgetMs: 0, policy, now: () => 0 },
      ),
    ).rejects.toMatchObject({ kind: 'transient' });
    expect(calls).toBe(1);
  });

  it('stops waiting when the signal aborts and rethrows the last failure', async () => {
    const ac = new AbortController();
    const failure = transient();
    let calls = 0;
    const started = performance.now();
    const outcome = retryTransient(
      () => {
        calls += 1;
        return Promise.reject(failure);
      },
      {
        budgetMs: 60_000,
        policy: { baseMs: 20_000, capMs: 20_000 },
        signal: ac.signal,
        onRetry: () => setTimeout(() => ac.abort(), 10),
      },
    );
    await expect(outcome).rejects.toBe(failure);
    expect(calls).toBe(1);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('does not retry when the signal has aborted by the time the step fails', async () => {
    const ac = new AbortController();
    const failure = transient();
    const retries: number[] = [];
    let calls = 0;
    await expect(
      retryTransient(
        () => {
          calls += 1;
          ac.abort();
          return Promise.reject(failure);
        },
        { budgetMs: 60_000, policy, signal: ac.signal, onRetry: (_e, retry) => retries.push(retry) },
      ),
    ).rejects.toBe(failure);
    expect(calls).toBe(1);
    expect(retries).toEqual([]);
  });
});
