/**
 * An input read while it downloads. An operation that reads all of its
 * input (a compress, a convert) used to wait for the whole download before
 * ffmpeg started; now the download writes the file in order through
 * `sink()`, and ffmpeg reads it through the input server (a BlockReader over
 * this RangeSource) as far as the download has come, waiting where it has
 * not come yet. The download's own guards (size, budget, stall, rate,
 * deadline) stay as they were; a download that fails fails every read
 * waiting on it, and so ffmpeg's, with the download's own error.
 */
import { type FileHandle, open } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { errors } from '@media-foundry/shared';
import type { ByteRange } from './http-range.js';
import type { RangeSource } from './range-source.js';

interface Waiter {
  upTo: number;
  wake(): void;
}

export class GrowingFile implements RangeSource {
  /** Reads cost the origin nothing: the download counted its bytes as they arrived. */
  readonly local = true;
  private written = 0;
  /** How the download ended: null while it goes on. */
  private end: { err: unknown } | { done: true } | null = null;
  private readonly waiters = new Set<Waiter>();
  private reading: Promise<FileHandle> | null = null;
  /** The writes in order: one sink's last write may still run when the next sink begins. */
  private appending: Promise<void> = Promise.resolve();
  private firstSeen = false;
  private seeFirst!: { resolve(head: Buffer): void; reject(err: unknown): void };
  /** The download's first chunk, as soon as it is written (an MP4's header says where its index is). */
  readonly first: Promise<Buffer> = new Promise((resolve, reject) => (this.seeFirst = { resolve, reject }));

  private constructor(
    readonly path: string,
    readonly size: number,
    private readonly file: FileHandle,
  ) {
    this.first.catch(() => {});
  }

  /** Creates `path` (emptied, when an earlier attempt left it) for a download of `size` bytes. */
  static async create(path: string, size: number): Promise<GrowingFile> {
    return new GrowingFile(path, size, await open(path, 'w'));
  }

  /** Bytes written so far. */
  get arrived(): number {
    return this.written;
  }

  /**
   * Where the download writes, in order, from the bytes arrived so far; a byte past the declared size fails it.
   * A download cut part way writes its rest through another sink (`settled` tells where it stopped).
   */
  sink(): Writable {
    return new Writable({
      write: (chunk: Buffer, _encoding, done) => {
        this.appending = this.appending.catch(() => {}).then(() => this.append(chunk));
        this.appending.then(() => done(), done);
      },
    });
  }

  /** The bytes written, once every write begun has ended (a failed sink's last one included). */
  async settled(): Promise<number> {
    await this.appending.catch(() => {});
    return this.written;
  }

  /** The download ended well: every declared byte must be here. */
  complete(): void {
    if (this.written < this.size) {
      this.fail(errors.transient('Input read was cut short', `the download brought ${this.written} of the ${this.size} bytes declared`));
      return;
    }
    this.settle({ done: true });
  }

  /** The download failed: every read waiting on bytes not here fails with `err`. */
  fail(err: unknown): void {
    this.settle({ err });
  }

  async read(range: ByteRange, signal: AbortSignal): Promise<Buffer> {
    await this.arrival(range.end + 1, signal);
    const file = await (this.reading ??= open(this.path, 'r'));
    const bytes = Buffer.allocUnsafe(range.end - range.start + 1);
    for (let got = 0; got < bytes.length;) {
      const { bytesRead } = await file.read(bytes, got, bytes.length - got, range.start + got);
      if (bytesRead === 0) throw errors.jobFailed('Input changed while being read', `${this.path} ended at ${range.start + got}`);
      got += bytesRead;
    }
    return bytes;
  }

  /** Closes the file (the job ended; the download was stopped before). */
  async close(): Promise<void> {
    this.fail(errors.jobCancelled());
    await this.appending.catch(() => {});
    await this.file.close().catch(() => {});
    const reading = this.reading;
    this.reading = null;
    await reading?.then((file) => file.close()).catch(() => {});
  }

  private async append(chunk: Buffer): Promise<void> {
    if (this.written + chunk.length > this.size)
      throw errors.jobFailed('Input changed while being read', `the download brought more than the ${this.size} bytes declared`);
    for (let put = 0; put < chunk.length;) {
      const { bytesWritten } = await this.file.write(chunk, put, chunk.length - put, this.written + put);
      put += bytesWritten;
    }
    this.written += chunk.length;
    if (!this.firstSeen) {
      this.firstSeen = true;
      this.seeFirst.resolve(chunk);
    }
    for (const waiter of this.waiters) if (waiter.upTo <= this.written) waiter.wake();
  }

  /** Resolves once the first `upTo` bytes are written; rejects when the download ends short of them or `signal` aborts. */
  private arrival(upTo: number, signal: AbortSignal): Promise<void> {
    if (this.written >= upTo) return Promise.resolve();
    if (signal.aborted) return Promise.reject(errors.jobCancelled());
    if (this.end)
      return Promise.reject('err' in this.end ? this.end.err : errors.transient('Input read was cut short', 'the download ended early'));
    return new Promise((resolve, reject) => {
      const stop = () => {
        this.waiters.delete(waiter);
        signal.removeEventListener('abort', cancelled);
      };
      const cancelled = () => {
        stop();
        reject(errors.jobCancelled());
      };
      const waiter: Waiter = {
        upTo,
        wake: () => {
          stop();
          if (this.written >= upTo) resolve();
          else
            reject(this.end && 'err' in this.end ? this.end.err : errors.transient('Input read was cut short', 'the download ended early'));
        },
      };
      this.waiters.add(waiter);
      signal.addEventListener('abort', cancelled, { once: true });
    });
  }

  private settle(end: NonNullable<GrowingFile['end']>): void {
    if (this.end) return;
    this.end = end;
    if (!this.firstSeen) this.seeFirst.reject('err' in end ? end.err : errors.transient('Input read was cut short', 'the input is empty'));
    for (const waiter of [...this.waiters]) waiter.wake();
  }
}
