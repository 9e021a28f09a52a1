/**
 * A number read in the background and served from memory: /health and
 * /metrics must answer at once even while the broker is slow or blocked (a
 * memory alarm holds every call for as long as it lasts), so they never await
 * the broker themselves.
 */
export class PolledValue {
  private value: number | null = null;
  private timer: NodeJS.Timeout | null = null;
  private inFlight = false;

  constructor(
    private readonly read: () => Promise<number | null>,
    private readonly intervalMs = 5000,
    /** A read that takes longer counts as failed (the value becomes null). */
    private readonly timeoutMs = 2000,
  ) {}

  start(): void {
    void this.poll();
    this.timer = setInterval(() => void this.poll(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** The last value read; null before the first read or after a failed one. */
  current(): number | null {
    return this.value;
  }

  private async poll(): Promise<void> {
    if (this.inFlight) return;
    this.inFlight = true;
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), this.timeoutMs)));
      this.value = await Promise.race([this.read().catch(() => null), timeout]);
    } finally {
      clearTimeout(timer);
      this.inFlight = false;
    }
  }
}
