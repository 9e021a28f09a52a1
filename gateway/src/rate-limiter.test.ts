import { jest } from '@jest/globals';
import { MiB } from '@media-foundry/shared';
import { CHUNK_COST, chunkCost, type RateBucket, type RateDecision, RateLimit } from './rate-limiter.js';

/** One connection's limiter: a RateLimit and the bucket of its first frame. */
function limiterOf(limit: RateLimit) {
  const bucket = limit.bucket();
  return { bucket, take: (cost?: number): RateDecision => limit.take(bucket, cost) };
}

describe('RateLimit', () => {
  it('allows a burst of perSecond, then refills at perSecond', () => {
    let now = 0;
    const limiter = limiterOf(new RateLimit(5, 5, () => now));
    const burst = Array.from({ length: 7 }, () => limiter.take());
    expect(burst).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'limited', 'limited']);
    now += 400; // two tokens back
    expect([limiter.take(), limiter.take(), limiter.take()]).toEqual(['ok', 'ok', 'limited']);
  });

  it('calls a client abusive after abuseSeconds worth of refused messages; the rate lets them leak away', () => {
    let now = 0;
    const limiter = limiterOf(new RateLimit(2, 3, () => now));
    limiter.take();
    limiter.take();
    const refused = Array.from({ length: 6 }, () => limiter.take());
    expect(refused).toEqual(Array(6).fill('limited'));
    expect(limiter.take()).toBe('abusive');
    now += 5000; // quiet for a while: refusals forgotten, tokens back
    expect(limiter.take()).toBe('ok');
    expect(limiter.take()).toBe('ok');
    expect(limiter.take()).toBe('limited');
  });

  it('calls a steady flood abusive although some of its messages get through', () => {
    let now = 0;
    const limiter = limiterOf(new RateLimit(50, 5, () => now));
    const decisions: string[] = [];
    // 10,000 messages a second for 2 s: 50 a second are accepted, the rest refused
    for (let i = 0; i < 20_000; i++) {
      now += 0.1;
      decisions.push(limiter.take());
    }
    expect(decisions.filter((d) => d === 'ok').length).toBeGreaterThan(0);
    expect(decisions).toContain('abusive');
  });

  it('only limits a client that sends a little over its rate', () => {
    let now = 0;
    const limiter = limiterOf(new RateLimit(50, 5, () => now));
    const decisions: string[] = [];
    // 1.5× the rate for 20 s
    for (let i = 0; i < 1500; i++) {
      now += 1000 / 75;
      decisions.push(limiter.take());
    }
    expect(decisions).toContain('limited');
    expect(decisions).not.toContain('abusive');
  });

  it('charges cheap frames a fraction of a token: 16 chunks for one message', () => {
    let now = 0;
    const limiter = limiterOf(new RateLimit(2, 5, () => now));
    const chunks = Array.from({ length: 33 }, () => limiter.take(CHUNK_COST));
    expect(chunks.slice(0, 32)).toEqual(Array(32).fill('ok'));
    expect(chunks[32]).toBe('limited');
    now += 500; // one token back: a whole message, or 16 chunks
    expect(limiter.take()).toBe('ok');
    expect(limiter.take(CHUNK_COST)).toBe('limited');
  });

  it('charges a large chunk less than a small one, a tiny one no more than CHUNK_COST', () => {
    expect(chunkCost(1)).toBe(CHUNK_COST);
    expect(chunkCost(16 * 1024)).toBe(CHUNK_COST);
    expect(chunkCost(64 * 1024)).toBe(1 / 64);
    expect(chunkCost(MiB)).toBe(1 / 1024);
  });

  it('calls a flood of cheap frames abusive like any other', () => {
    const limiter = limiterOf(new RateLimit(2, 3, () => 0));
    const decisions = Array.from({ length: 2 / CHUNK_COST + 2 * 3 + 1 }, () => limiter.take(CHUNK_COST));
    expect(decisions.at(-1)).toBe('abusive');
  });

  it('charges a first frame the same whether the bucket was made at open or on that frame', () => {
    let now = 0;
    const limit = new RateLimit(2, 3, () => now);
    const atOpen = limit.bucket();
    now += 60_000; // idle for a minute, then a burst
    const onFirstFrame = limit.bucket();
    const burst = (bucket: RateBucket) => Array.from({ length: 10 }, () => limit.take(bucket));
    expect(burst(onFirstFrame)).toEqual(burst(atOpen));
    expect(onFirstFrame).toEqual(atOpen);
  });

  it('is not thrown by the wall clock stepping back: a connection within its rate stays so', () => {
    // the wall clock is a fake the test steps; the monotonic clock (performance.now) is the real one
    jest.useFakeTimers({ doNotFake: ['performance'] });
    try {
      const limiter = limiterOf(new RateLimit(50, 5)); // its own clock
      expect(Array.from({ length: 50 }, () => limiter.take())).toEqual(Array(50).fill('ok')); // the burst, spent
      jest.setSystemTime(Date.now() - 60_000); // NTP steps the clock a minute back
      for (const until = performance.now() + 200; performance.now() < until;); // 10 tokens' worth at 50 a second
      expect(Array.from({ length: 5 }, () => limiter.take())).toEqual(Array(5).fill('ok'));
    } finally {
      jest.useRealTimers();
    }
  });

  it('never charges for time going backwards on the clock it is given', () => {
    let now = 10_000;
    const limiter = limiterOf(new RateLimit(50, 5, () => now));
    now -= 6000;
    expect(limiter.take()).toBe('ok');
  });
});
