/**
 * A value read from a dependency in the background and served from memory.
 * Probes (/health, /ready) and /metrics read the last result and never wait
 * on the broker or storage themselves: a broker under a memory or disk alarm
 * holds every call on a blocked connection for as long as the alarm lasts,
 * and a probe that times out counts against the pod, not the dependency.
 */

/** The outcome of the last read. */
export type Reading<T> = { ok: true; value: T } | { ok: false; error: string };

export interface BackgroundReadTiming {
  /** Between reads while the last one succeeded, ms. */
  intervalMs: number;
  /** A read that takes longer counts as failed, ms; its late answer is ignored. */
  timeoutMs: number;
  /** Between reads while the last one failed, ms (default: intervalMs): a dependency that is back is noticed sooner. */
  retryMs?: number;
}

/**
 * A read still unanswered after this many timeouts is given up on, and the
 * next one starts anyway; before that no second read joins it, so a blocked
 * broker does not collect a pile of them.
 */
const ABANDON_AFTER_TIMEOUTS = 10;

export class BackgroundRead<T> {
  private reading: Reading<T> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  /** When the read that has not answered yet (even past its timeout) started, performance.now(). */
  private pendingSince: number | null = null;
  private readonly retryMs: number;

  constructor(
    private readonly read: () => Promise<T>,
    private readonly timing: BackgroundReadTiming,
  ) {
    this.retryMs = timing.retryMs ?? timing.intervalMs;
  }

  /** Starts reading: the first read at once (not awaited), then on the interval. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.poll();
  }

  stop(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** The last outcome; null before the first read answered or timed out. */
  last(): Reading<T> | null {
    return this.reading;
  }

  private schedule(ms: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (!this.running) return;
    this.timer = setTimeout(() => this.poll(), ms);
    this.timer.unref();
  }

  private poll(): void {
    this.timer = null;
    if (!this.running) return;
    const now = performance.now();
    if (this.pendingSince !== null && now - this.pendingSince < ABANDON_AFTER_TIMEOUTS * this.timing.timeoutMs) {
      this.schedule(this.retryMs);
      return;
    }
    this.pendingSince = now;
    let decided = false;
    const decide = (reading: Reading<T>) => {
      if (decided) return;
      decided = true;
      clearTimeout(timeout);
      this.reading = reading;
      this.schedule(reading.ok ? this.timing.intervalMs : this.retryMs);
    };
    const timeout = setTimeout(() => decide({ ok: false, error: `no answer within ${this.timing.timeoutMs} ms` }), this.timing.timeoutMs);
    timeout.unref();
    void Promise.resolve()
      .then(() => this.read())
      .then(
        (value) => decide({ ok: true, value }),
        (err: unknown) => decide({ ok: false, error: err instanceof Error ? err.message : String(err) }),
      )
      .finally(() => {
        if (this.pendingSince === now) this.pendingSince = null;
      });
  }
}
