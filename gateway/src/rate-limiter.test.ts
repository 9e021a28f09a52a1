import { RateLimiter } from './rate-limiter.js';

describe('RateLimiter', () => {
  it('allows a burst of perSecond, then refills at perSecond', () => {
    let now = 0;
    const limiter = new RateLimiter(5, 5, () => now);
    const burst = Array.from({ length: 7 }, () => limiter.take());
    expect(burst).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'limited', 'limited']);
    now += 400; // two tokens back
    expect([limiter.take(), limiter.take(), limiter.take()]).toEqual(['ok', 'ok', 'limited']);
  });

  it('calls a client abusive only after abuseSeconds worth of refused messages in a row', () => {
    let now = 0;
    const limiter = new RateLimiter(2, 3, () => now);
    limiter.take();
    limiter.take();
    const refused = Array.from({ length: 6 }, () => limiter.take());
    expect(refused).toEqual(Array(6).fill('limited'));
    expect(limiter.take()).toBe('abusive');
    now += 1000; // an accepted message forgives
    expect(limiter.take()).toBe('ok');
    expect(limiter.take()).toBe('ok');
    expect(limiter.take()).toBe('limited');
  });
});
