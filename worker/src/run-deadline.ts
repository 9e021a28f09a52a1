/**
 * When a job's ffmpeg runs are out of time (FFMPEG_TIMEOUT_SECONDS).
 *
 * An input read while it downloads (growing-file.ts) makes ffmpeg wait for
 * bytes that have not come yet. That wait is the download's, bounded by the
 * download's own limits (URL_FETCH_TIMEOUT_SECONDS, the stall and rate
 * guards), as it was when the download came first and ffmpeg after it: so
 * ffmpeg's time counts from the later of its start and the download's end.
 * Until the download ends only a ceiling holds, ffmpeg's time plus the
 * longest a download may take (the consumer timeout allows both: topology.ts).
 */
import type { StreamedInput } from './inputs.js';

export class RunDeadline {
  private readonly expiry = new AbortController();
  private timer: NodeJS.Timeout | null = null;
  /** When the time is up; null while the download it waits for goes on. */
  private at: number | null;
  private readonly ceiling: number;
  private disposed = false;

  /**
   * `download`: the download ffmpeg reads behind, null when none: its end, and when it ended if it has (a
   * failure leaves the ceiling: ffmpeg's read fails with the download's error first). `downloadMs`: the longest
   * that download may take.
   */
  constructor(
    private readonly timeoutMs: number,
    download: Pick<StreamedInput, 'downloaded' | 'downloadedAt'> | null,
    downloadMs: number,
    private readonly now: () => number = Date.now,
  ) {
    const start = now();
    // a download that ended already is known now, not a microtask later: the first run's hard timeout is right
    if (download === null || download.downloadedAt() !== null) {
      this.at = this.ceiling = start + timeoutMs;
      this.arm();
      return;
    }
    this.at = null;
    this.ceiling = start + timeoutMs + downloadMs;
    download.downloaded.then(
      () => {
        this.at = Math.min(this.ceiling, Math.max(start, this.now()) + this.timeoutMs);
        this.arm();
      },
      () => {},
    );
  }

  /** Aborts when the time is up: a timeout, not a cancel. */
  get signal(): AbortSignal {
    return this.expiry.signal;
  }

  /** What is left, ms, at most (the hard timeout a run is given): until `at` once known, the ceiling before. */
  remainingMs(): number {
    return Math.max(1, (this.at ?? this.ceiling) - this.now());
  }

  /** Stops the timer (the job's runs are over). */
  dispose(): void {
    this.disposed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private arm(): void {
    if (this.disposed || this.at === null) return;
    const at = this.at;
    this.timer = setTimeout(() => this.expiry.abort(), Math.max(0, at - this.now()));
    this.timer.unref();
  }
}
