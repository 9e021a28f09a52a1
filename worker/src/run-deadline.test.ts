import { jest } from '@jest/globals';
import { RunDeadline } from './run-deadline.js';

/** A download and its end, settled by the test, as StreamedInput tells it. */
function pending() {
  let endedAt: number | null = null;
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const ended = new Promise<void>((res, rej) => {
    resolve = () => {
      endedAt = Date.now();
      res();
    };
    reject = rej;
  });
  return { download: { downloaded: ended, downloadedAt: () => endedAt }, resolve, reject };
}

const flush = async () => {
  for (let i = 0; i < 3; i++) await Promise.resolve();
};

describe('RunDeadline', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('gives ffmpeg its time from the start when it waits for no download', () => {
    const deadline = new RunDeadline(2000, null, 10_000);
    expect(deadline.remainingMs()).toBe(2000);
    jest.advanceTimersByTime(1999);
    expect(deadline.signal.aborted).toBe(false);
    expect(deadline.remainingMs()).toBe(1);
    jest.advanceTimersByTime(1);
    expect(deadline.signal.aborted).toBe(true);
    deadline.dispose();
  });

  it("counts ffmpeg's time from the end of a download that outlasted it", async () => {
    const download = pending();
    const deadline = new RunDeadline(2000, download.download, 10_000);
    // before the download ends: the ceiling only (ffmpeg's time and the longest download)
    expect(deadline.remainingMs()).toBe(12_000);
    jest.advanceTimersByTime(5000);
    expect(deadline.signal.aborted).toBe(false);
    download.resolve();
    await flush();
    expect(deadline.remainingMs()).toBe(2000);
    jest.advanceTimersByTime(1999);
    expect(deadline.signal.aborted).toBe(false);
    jest.advanceTimersByTime(1);
    expect(deadline.signal.aborted).toBe(true);
    deadline.dispose();
  });

  it("counts from the start when the download ended before ffmpeg started, known at once (the first run's hard timeout)", () => {
    const done = pending();
    done.resolve();
    const deadline = new RunDeadline(2000, done.download, 10_000);
    expect(deadline.remainingMs()).toBe(2000);
    jest.advanceTimersByTime(2000);
    expect(deadline.signal.aborted).toBe(true);
    deadline.dispose();
  });

  it('keeps the ceiling when the download fails (ffmpeg fails on its read first), and stops on dispose', async () => {
    const download = pending();
    const deadline = new RunDeadline(2000, download.download, 10_000);
    download.reject(new Error('cut'));
    await flush();
    expect(deadline.remainingMs()).toBe(12_000);
    jest.advanceTimersByTime(60_000);
    expect(deadline.signal.aborted).toBe(false);
    const done = pending();
    const disposed = new RunDeadline(2000, done.download, 10_000);
    disposed.dispose();
    done.resolve();
    await flush();
    jest.advanceTimersByTime(60_000);
    expect(disposed.signal.aborted).toBe(false);
    expect(jest.getTimerCount()).toBe(0);
  });
});
