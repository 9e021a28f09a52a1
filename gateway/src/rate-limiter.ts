/**
 * Per-connection message rate: a token bucket (`perSecond` messages a
 * second, bursts of the same size). Excess messages are refused; a client
 * that keeps sending while refused for `abuseSeconds` worth of messages is
 * abusive and gets disconnected.
 */
export type RateDecision = 'ok' | 'limited' | 'abusive';

export class RateLimiter {
  private tokens: number;
  private last: number;
  /** Refused messages since the last accepted one. */
  private strikes = 0;

  constructor(
    private readonly perSecond: number,
    private readonly abuseSeconds = 5,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = perSecond;
    this.last = now();
  }

  take(): RateDecision {
    const t = this.now();
    this.tokens = Math.min(this.perSecond, this.tokens + ((t - this.last) / 1000) * this.perSecond);
    this.last = t;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      this.strikes = 0;
      return 'ok';
    }
    this.strikes += 1;
    return this.strikes > this.perSecond * this.abuseSeconds ? 'abusive' : 'limited';
  }
}
