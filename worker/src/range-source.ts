/**
 * An input read where it is, a block at a time, instead of being copied
 * whole before ffmpeg starts: the storage object or the origin's URL behind a
 * RangeSource, and a BlockReader in front that fetches fixed-size blocks,
 * keeps the last few (ffprobe and then ffmpeg read the same header), counts
 * every fetched byte against the job's input budget and retries transient
 * failures block by block.
 */
import { errors } from '@media-foundry/shared';
import type { ByteRange } from './http-range.js';
import type { BudgetAttempt } from './input-budget.js';

/** Something that reads byte ranges of one resource of a known size. */
export interface RangeSource {
  readonly size: number;
  /** Exactly the bytes of `range` (end included); throws AppError (transient or not). */
  read(range: ByteRange, signal: AbortSignal): Promise<Buffer>;
}

/** The bytes of block `index` of a `size`-byte resource read `blockBytes` at a time (end included; the last block may be shorter). */
export function blockRange(index: number, blockBytes: number, size: number): ByteRange {
  const start = index * blockBytes;
  return { start, end: Math.min(start + blockBytes, size) - 1 };
}

/** Reads a whole stream into one buffer, refusing more than `expected` bytes and failing (transient) on fewer. */
export async function readExactly(stream: AsyncIterable<Buffer>, expected: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let got = 0;
  for await (const chunk of stream) {
    got += chunk.length;
    if (got > expected) throw errors.jobFailed('Input changed while being read', `${what}: more than the ${expected} bytes asked for`);
    chunks.push(chunk);
  }
  if (got < expected) throw errors.transient('Input read was cut short', `${what}: ${got} of ${expected} bytes`);
  return Buffer.concat(chunks, got);
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
    const inFlight = this.pending.get(index);
    if (inFlight) return this.adopted.has(index) ? inFlight.catch(() => this.block(index, signal)) : inFlight;
    const fetching = this.fetch(index, signal).finally(() => this.pending.delete(index));
    this.pending.set(index, fetching);
    return fetching;
  }

  /** Bytes `start`..`end` (end excluded, clamped to the size), through the blocks that hold them (the worker's own header reads). */
  async bytes(start: number, end: number, signal: AbortSignal): Promise<Buffer> {
    const { blockBytes } = this.options;
    const last = Math.min(end, this.size);
    if (start >= last) return Buffer.alloc(0);
    const parts: Buffer[] = [];
    for (let index = Math.floor(start / blockBytes); index * blockBytes < last; index++) {
      const block = await this.block(index, signal);
      const base = index * blockBytes;
      parts.push(block.subarray(Math.max(0, start - base), Math.min(block.length, last - base)));
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  /** Keeps a block the caller already has (the first one, read while checking that the origin serves ranges). */
  seed(index: number, bytes: Buffer): void {
    this.keep(index, bytes);
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
    return true;
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
      if (!budget.take(range.end - range.start + 1)) throw budget.exceeded();
      return this.source.read(range, signal);
    });
    this.fetchedBytes += bytes.length;
    this.keep(index, bytes);
    return bytes;
  }

  private keep(index: number, bytes: Buffer): void {
    this.cache.set(index, bytes);
    for (const oldest of this.cache.keys()) {
      if (this.cache.size <= this.options.cacheBlocks) break;
      this.cache.delete(oldest);
    }
  }
}
