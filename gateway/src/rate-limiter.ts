/**
 * Per-connection message rate: a token bucket (`perSecond` tokens a second,
 * bursts of the same size). Every frame a client sends costs tokens (most
 * one; see `CHUNK_COST`). Excess frames are refused; a client that
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

/**
 * A connection's budget: three numbers, made on its first frame (see
 * `RateLimit.bucket`), so that an idle connection holds none.
 */
export interface RateBucket {
  tokens: number;
  /** When it was last charged, ms. */
  last: number;
  /**
   * Refused messages, leaking away at `perSecond` a second: a client that
   * sends a little over its rate stays merely limited, one that keeps
   * sending far more is abusive — even if some of its messages get through.
   */
  strikes: number;
}

/** The rate every connection is held to (one per gateway); each connection's state is a RateBucket. */
export class RateLimit {
  constructor(
    private readonly perSecond: number,
    private readonly abuseSeconds = 5,
    // monotonic: a wall clock stepped back (NTP, a VM resumed) would charge every connection for the step
    private readonly now: () => number = () => performance.now(),
  ) {}

  /**
   * A full budget, for a connection's first frame. Made then rather than
   * when the socket opens, it charges that frame exactly as one made at
   * open would: a bucket left untouched refills to full, and its strikes
   * leak to nothing.
   */
  bucket(): RateBucket {
    return { tokens: this.perSecond, last: this.now(), strikes: 0 };
  }

  /** Charges one frame of `cost` tokens (1 for a message, CHUNK_COST for a chunk) to `bucket`. */
  take(bucket: RateBucket, cost = 1): RateDecision {
    const t = this.now();
    const refill = (Math.max(0, t - bucket.last) / 1000) * this.perSecond;
    bucket.tokens = Math.min(this.perSecond, bucket.tokens + refill);
    bucket.strikes = Math.max(0, bucket.strikes - refill);
    bucket.last = t;
    if (bucket.tokens >= cost) {
      bucket.tokens -= cost;
      return 'ok';
    }
    bucket.strikes += 1;
    return bucket.strikes > this.perSecond * this.abuseSeconds ? 'abusive' : 'limited';
  }
}
