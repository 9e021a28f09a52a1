import { BackgroundRead } from './background-read.js';

/**
 * A number read in the background and served from memory (BackgroundRead):
 * /health and /metrics must answer at once even while the broker is slow or
 * blocked, so they never await the broker themselves.
 */
export class PolledValue extends BackgroundRead<number | null> {
  constructor(
    read: () => Promise<number | null>,
    intervalMs = 5000,
    /** A read that takes longer counts as failed (the value becomes null). */
    timeoutMs = 2000,
  ) {
    super(read, { intervalMs, timeoutMs });
  }

  /** The last value read; null before the first read or after a failed one. */
  current(): number | null {
    const last = this.last();
    return last?.ok ? last.value : null;
  }
}
