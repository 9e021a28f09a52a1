/**
 * An input read where it is, a block at a time, instead of being copied
 * whole before ffmpeg starts: the storage object or the origin's URL behind a
 * RangeSource, and a BlockReader in front that fetches fixed-size blocks,
 * keeps the last few (ffprobe and then ffmpeg read the same header), counts
 * every fetched byte against the job's input budget and retries transient
 * failures block by block.
 */
import { errors, failureKind } from '@media-foundry/shared';
import type { ByteRange } from './http-range.js';
import type { BudgetAttempt } from './input-budget.js';

/** Something that reads byte ranges of one resource of a known size. */
export interface RangeSource {
  readonly size: number;
  /** Its reads cost the origin nothing (a file whose download counted its bytes as they came): not counted again. */
  readonly local?: boolean;
  /** Exactly the bytes of `range` (end included); throws AppError (transient or not). */
  read(range: ByteRange, signal: AbortSignal): Promise<Buffer>;
}

/** The bytes of block `index` of a `size`-byte resource read `blockBytes` at a time (end included; the last block may be shorter). */
export function blockRange(index: number, blockBytes: number, size: number): ByteRange {
  const start = index * blockBytes;
  return { start, end: Math.min(start + blockBytes, size) - 1 };
}

/**
 * Reads a whole stream into one buffer, refusing more than `expected` bytes
 * and failing (transient) on fewer; `onChunk` sees each chunk as it is taken.
 */
export async function readExactly(
  stream: AsyncIterable<Buffer>,
  expected: number,
  what: string,
  onChunk?: (chunk: Buffer) => void,
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let got = 0;
  for await (const chunk of stream) {
    got += chunk.length;
    if (got > expected) throw errors.jobFailed('Input changed while being read', `${what}: more than the ${expected} bytes asked for`);
    chunks.push(chunk);
    onChunk?.(chunk);
  }
  if (got < expected) throw errors.transient('Input read was cut short', `${what}: ${got} of ${expected} bytes`);
  return Buffer.concat(chunks, got);
}

/**
 * A block still being read whose first bytes may be used before its end: an
 * MP4's header, at the start of the first block, is described while the
 * rest of that block arrives (ffmpeg, which takes longer to start than the
 * block to arrive, reads it whole).
 */
export class ArrivingBlock {
  /** The whole block; rejects as its read fails. */
  readonly whole: Promise<Buffer>;
  /** The chunks arrived so far (until the read ends). */
  private readonly chunks: Buffer[] = [];
  private got = 0;
  /** How the read ended; null while it goes on. */
  private end: { bytes: Buffer } | { err: unknown } | null = null;
  private waiters: Array<{ count: number; resolve: (head: Buffer) => void; reject: (err: unknown) => void }> = [];

  /** `read` reads the block, showing each chunk to the callback it is given as it comes. */
  constructor(read: (onChunk: (chunk: Buffer) => void) => Promise<Buffer>) {
    this.whole = read((chunk) => this.arrived(chunk));
    this.whole.then(
      (bytes) => this.settle({ bytes }, (w) => w.resolve(bytes.subarray(0, w.count))),
      (err: unknown) => this.settle({ err }, (w) => w.reject(err)),
    );
  }

  /** The block's first `count` bytes (the whole block, when shorter) once they are here; rejects when the read fails before. */
  head(count: number): Promise<Buffer> {
    if (this.end) return 'err' in this.end ? Promise.reject(this.end.err) : Promise.resolve(this.end.bytes.subarray(0, count));
    if (this.got >= count) return Promise.resolve(this.concat().subarray(0, count));
    return new Promise((resolve, reject) => this.waiters.push({ count, resolve, reject }));
  }

  private arrived(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.got += chunk.length;
    const ready = this.waiters.filter((w) => w.count <= this.got);
    if (ready.length === 0) return;
    this.waiters = this.waiters.filter((w) => w.count > this.got);
    const bytes = this.concat();
    for (const w of ready) w.resolve(bytes.subarray(0, w.count));
  }

  private settle(end: NonNullable<ArrivingBlock['end']>, each: (waiter: ArrivingBlock['waiters'][number]) => void): void {
    this.end = end;
    this.chunks.length = 0;
    const waiters = this.waiters;
    this.waiters = [];
    waiters.forEach(each);
  }

  /** The chunks so far as one buffer (kept as one chunk, so a second call copies nothing). */
  private concat(): Buffer {
    if (this.chunks.length > 1) this.chunks.splice(0, this.chunks.length, Buffer.concat(this.chunks, this.got));
    return this.chunks[0] ?? Buffer.alloc(0);
  }
}

export interface BlockReaderOptions {
  /** Bytes per block fetched. */
  blockBytes: number;
  /** Blocks kept after use (least recently used go first). */
  cacheBlocks: number;
  /** The job's input budget: every fetched byte counts, refetches included. */
  budget: BudgetAttempt;
  /** Wraps each block's fetch (the job's transient-retry policy). */
  retrying: <T>(what: string, step: () => Promise<T>) => Promise<T>;
}

export class BlockReader {
  private readonly cache = new Map<number, Buffer>();
  private readonly pending = new Map<number, Promise<Buffer>>();
  /** Blocks in `pending` whose read was begun elsewhere (`adopt`). */
  private readonly adopted = new Set<number>();
  /** Blocks whose read failed for a reason a retry would not mend (`seedArriving`): that failure is their answer. */
  private readonly failed = new Map<number, unknown>();
  /**
   * Bytes of blocks not had yet, readable as they arrive: a first block still being read (`seedArriving`), or
   * a block's tail from offset `from` read on its own (`seedTail`), until the whole block is kept.
   */
  private readonly arriving = new Map<number, { from: number; bytes: ArrivingBlock }>();
  /** Bytes fetched from the source so far (what range reads cost the origin). */
  fetchedBytes = 0;

  constructor(
    readonly source: RangeSource,
    private readonly options: BlockReaderOptions,
  ) {}

  get size(): number {
    return this.source.size;
  }

  get blockBytes(): number {
    return this.options.blockBytes;
  }

  /** Block `index` of the resource (the last one may be shorter). */
  block(index: number, signal: AbortSignal): Promise<Buffer> {
    const cached = this.cache.get(index);
    if (cached) {
      this.cache.delete(index); // most recently used goes last
      this.cache.set(index, cached);
      return Promise.resolve(cached);
    }
    if (this.failed.has(index)) return Promise.reject(this.failed.get(index));
    const inFlight = this.pending.get(index);
    if (inFlight) return this.adopted.has(index) ? inFlight.catch(() => this.block(index, signal)) : inFlight;
    const fetching = this.fetch(index, signal).finally(() => this.pending.delete(index));
    this.pending.set(index, fetching);
    return fetching;
  }

  /**
   * Bytes `start`..`end` (end excluded, clamped to the size), through the blocks that hold them (the worker's own
   * header reads). From a block still arriving (`seedArriving`), as soon as those bytes of it are here.
   */
  async bytes(start: number, end: number, signal: AbortSignal): Promise<Buffer> {
    const { blockBytes } = this.options;
    const last = Math.min(end, this.size);
    if (start >= last) return Buffer.alloc(0);
    const parts: Buffer[] = [];
    for (let index = Math.floor(start / blockBytes); index * blockBytes < last; index++) {
      const base = index * blockBytes;
      const from = Math.max(0, start - base);
      const upTo = Math.min(blockBytes, last - base);
      const part = this.cache.has(index) ? undefined : this.arriving.get(index);
      if (part && from >= part.from) {
        // a read that fails is fetched again, as the block's other waiters do
        const got = await part.bytes.head(upTo - part.from).then(
          (head) => ({ bytes: head, at: part.from }),
          async () => ({ bytes: await this.block(index, signal), at: 0 }),
        );
        parts.push(got.bytes.subarray(from - got.at, upTo - got.at));
        continue;
      }
      const block = await this.block(index, signal);
      parts.push(block.subarray(from, Math.min(block.length, upTo)));
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  /**
   * Takes block `index`, still being read (the first one, whose answer told that the origin serves ranges),
   * as if fetched here; the caller counted it against the budget. Its first bytes can be read (`bytes`) before
   * it ends. A read that fails for a reason that may pass is forgotten and the block fetched again, with
   * retries, when asked for; any other failure (too slow, more bytes than asked) is the block's answer, as it
   * was when the job waited for the whole block.
   */
  seedArriving(index: number, block: ArrivingBlock): void {
    const part = { from: 0, bytes: block };
    this.arriving.set(index, part);
    this.track(index, block.whole);
    block.whole.catch((err: unknown) => failureKind(err) !== 'transient' && this.failed.set(index, err));
    block.whole.catch(() => this.arriving.get(index) === part && this.arriving.delete(index));
  }

  /**
   * Takes the bytes from `start` to the end of its block, read on their own (the origin's look-ahead: an MP4's
   * `moov` near the end of a block, which the header read needs before the block's other bytes), counted
   * against the budget. Read from (`bytes`) until the whole block is kept; one that fails is not asked again.
   * False when not taken (the block or a part of it is had already, or the budget is spent).
   */
  seedTail(start: number, tail: ArrivingBlock): boolean {
    const index = Math.floor(start / this.options.blockBytes);
    const range = this.rangeOf(index);
    if (this.cache.has(index) || this.arriving.has(index)) return false;
    if (!this.options.budget.take(range.end - start + 1)) return false;
    const part = { from: start - range.start, bytes: tail };
    this.arriving.set(index, part);
    tail.whole.then(
      (bytes) => (this.fetchedBytes += bytes.length),
      () => this.arriving.get(index) === part && this.arriving.delete(index),
    );
    return true;
  }

  /**
   * Takes over a read of block `index` begun already (the origin's look-ahead, started while the first block
   * still arrived: origin-range-source.ts), as if fetched here: counted against the budget and kept. False when
   * it is not taken (the block is had already, or the budget is spent): the caller stops the read. A read that
   * fails is forgotten: the block is fetched, with retries, when it is asked for (by a caller waiting on it too).
   */
  adopt(index: number, read: Promise<Buffer>): boolean {
    read.catch(() => {});
    const range = this.rangeOf(index);
    if (this.cache.has(index) || this.pending.has(index)) return false;
    if (!this.options.budget.take(range.end - range.start + 1)) return false;
    this.track(index, read);
    return true;
  }

  /** A read of block `index` begun elsewhere, in `pending` until it settles: kept when it succeeds, forgotten when not. */
  private track(index: number, read: Promise<Buffer>): void {
    const adopted = read.then((bytes) => {
      this.fetchedBytes += bytes.length;
      this.keep(index, bytes);
      return bytes;
    });
    this.adopted.add(index);
    this.pending.set(index, adopted);
    // before any waiter's own reaction (registered later), so that a waiter asking again fetches the block
    const forget = () => {
      this.pending.delete(index);
      this.adopted.delete(index);
    };
    adopted.then(forget, forget);
  }

  /** The bytes of block `index` (end included). */
  rangeOf(index: number): ByteRange {
    if (index < 0 || index * this.options.blockBytes >= this.size)
      throw new RangeError(`block ${index} is past the end of a ${this.size}-byte input`);
    return blockRange(index, this.options.blockBytes, this.size);
  }

  private async fetch(index: number, signal: AbortSignal): Promise<Buffer> {
    const { budget, retrying } = this.options;
    const range = this.rangeOf(index);
    const bytes = await retrying(`reading input bytes ${range.start}-${range.end}`, async () => {
      if (!this.source.local && !budget.take(range.end - range.start + 1)) throw budget.exceeded();
      return this.source.read(range, signal);
    });
    this.fetchedBytes += bytes.length;
    this.keep(index, bytes);
    return bytes;
  }

  private keep(index: number, bytes: Buffer): void {
    this.arriving.delete(index);
    this.cache.set(index, bytes);
    for (const oldest of this.cache.keys()) {
      if (this.cache.size <= this.options.cacheBlocks) break;
      this.cache.delete(oldest);
    }
  }
}
