/**
 * Per-connection message rate: a token bucket (`perSecond` tokens a second,
 * bursts of the same size). Every frame a client sends costs tokens (most
 * one; see `CHUNK_COST`). Excess frames are refused; a client that keeps
 * keeps sending far over its rate (`abuseSeconds` worth of refused messages
 * more than the rate lets leak away) is abusive and gets disconnected.
 */
export type RateDecision = 'ok' | 'limited' | 'abusive';

/**
 * What a non-empty chunk of an upload in progress costs: at most a sixteenth
 * of a message, so an upload may send 16 × WS_MAX_MESSAGES_PER_SECOND chunks
 * a second (the upload window, not this, bounds its bytes), while a flood of
 * tiny chunks still runs out of budget. The first chunk of a file, an empty
 * one and every other frame cost a whole token.
 */
export const CHUNK_COST = 1 / 16;

/** A chunk costs no more than CHUNK_COST, and less when large: a token per 1 KiB × 16, so big chunks never cap an upload's speed. */
export function chunkCost(bytes: number): number {
  return Math.min(CHUNK_COST, 1024 / bytes);
}

export class RateLimiter {
  private tokens: number;
  private last: number;
  /**
   * Refused messages, leaking away at `perSecond` a second: a client that
   * sends a little over its rate stays merely limited, one that keeps
   * sending far more is abusive — even if some of its messages get through.
   */
  private strikes = 0;

  constructor(
    private readonly perSecond: number,
    private readonly abuseSeconds = 5,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = perSecond;
    this.last = now();
  }

  /** Charges one frame of `cost` tokens (1 for a message, CHUNK_COST for a chunk). */
  take(cost = 1): RateDecision {
    const t = this.now();
    const refill = ((t - this.last) / 1000) * this.perSecond;
    this.tokens = Math.min(this.perSecond, this.tokens + refill);
    this.strikes = Math.max(0, this.strikes - refill);
    this.last = t;
    if (this.tokens >= cost) {
      this.tokens -= cost;
      return 'ok';
    }
    this.strikes += 1;
    return this.strikes > this.perSecond * this.abuseSeconds ? 'abusive' : 'limited';
  }
}
