/**
 * The binary frames an upload job waits for, into storage: one frame per
 * file (any name, or each name the client listed in `input.filenames`), or a file in chunks
 * streamed on as it arrives (ChunkedUpload). When every file is stored the
 * job can be published; until then nothing is.
 */
import {
  AppError,
  type BinaryHeader,
  errors,
  type JobMessageInput,
  retryTransient,
  storageKeys,
  type UploadSlot,
} from '@media-foundry/shared';
import type { Logger, Storage } from '@media-foundry/shared/node';
import { type ByteBudget, CLIENT_SHARE } from '../byte-budget.js';
import { ChunkedUpload, STREAM_BUFFER_BYTES } from '../chunked-upload.js';

/** RATE_LIMITED for an upload that does not fit in the gateway's GATEWAY_BUFFER_BUDGET_MB, or in `client`'s share of it. */
export function budgetRefusal(budget: ByteBudget, bytes?: number, client?: string): AppError {
  // the limit, not how much is held: what other clients are doing is not this one's business
  const asked = bytes === undefined ? '' : ` (this upload needs ${bytes} of them)`;
  if (bytes !== undefined && client !== undefined && budget.refusal(bytes, client) === 'share')
    return errors.rateLimited(
      `this client's uploads in progress hold ${budget.heldBy(client)} bytes, its share (${CLIENT_SHARE * 100}%) of GATEWAY_BUFFER_BUDGET_MB (${budget.limit})${asked}; send it once one of them is stored`,
    );
  return errors.gatewayBusy(
    `the gateway holds as many bytes for its clients' uploads and deliveries as GATEWAY_BUFFER_BUDGET_MB allows (${budget.limit})${asked}; start the job again shortly`,
  );
}

/** A stored upload, as the job message names it. */
export type StagedInput = Extract<JobMessageInput, { source: 'storage' }>;

export interface StagingLimits {
  /** MAX_FILE_SIZE_MB in bytes: all files of the job together. */
  maxBytes: number;
  /** UPLOAD_WINDOW_BYTES. */
  windowBytes: number;
  /** TRANSIENT_RETRY_SECONDS, ms: a file that came in one frame is stored again after a transient failure. */
  retryBudgetMs: number;
  /** UPLOAD_IDLE_TIMEOUT_SECONDS, ms: the upload fails after this long without a byte from the client. */
  idleMs: number;
  /** UPLOAD_MIN_BYTES_PER_SECOND: a chunked upload in progress must average this over each `rateWindowMs`; 0: no minimum. */
  minBytesPerSecond: number;
  /** UPLOAD_MIN_RATE_WINDOW_SECONDS, ms. */
  rateWindowMs: number;
}

export interface StagingEvents {
  /** Every expected file is in storage, in job order. */
  complete(inputs: StagedInput[]): void;
  /** The upload cannot go on (the job fails with this). */
  fail(err: unknown): void;
  /** Flow control for chunked uploads: bytes of `filename` taken so far. */
  ack(filename: string, receivedBytes: number): void;
  /** Bytes stored (metrics). */
  stored(bytes: number): void;
}

/** A file that could not be stored: its own error (an upload's BINARY_ERROR), else SUBMIT_FAILED. */
function stagingFailure(err: unknown): AppError {
  return err instanceof AppError ? err : errors.submitFailed(`could not stage the upload: ${(err as Error).message}`, err);
}

export class UploadStaging {
  private readonly staged = new Map<string, string>();
  private readonly staging = new Set<string>();
  private readonly chunked = new Map<string, ChunkedUpload>();
  private bytes = 0;
  private over = false;
  /** Fails the upload when the client sends nothing for `idleMs`; stopped once every file has come. */
  private idle: NodeJS.Timeout | null = null;
  /**
   * Ends each rate window while a chunked upload is in progress: one that took less than `minBytesPerSecond`
   * fails. A byte within each idle timeout keeps the idle timer away, and a chunked upload holds its window
   * of the gateway's budget from its first chunk: without a minimum rate a trickle holds it for good.
   */
  private rateTimer: NodeJS.Timeout | null = null;
  /** Chunk bytes taken in the current rate window. */
  private windowBytes = 0;
  /** An ack was held back during the current window (storage behind): the client may have waited for us, not we for it. */
  private ackHeldBack = false;

  /** The names the client listed (in job order), or null: one file, any name. */
  private readonly expected: string[] | null;

  constructor(
    private readonly jobId: string,
    /** start_job's normalised input files: all named, or one unnamed. */
    files: readonly UploadSlot[],
    /** `input.size_bytes`, when the client declared it. */
    private readonly declaredBytes: number | undefined,
    private readonly storage: Storage,
    /** The gateway's: each file in progress holds its bytes (a chunked one its window) in it until stored. */
    private readonly budget: ByteBudget,
    /** Whose upload it is (the tenant): its share of the budget is bounded. */
    private readonly client: string,
    private readonly limits: StagingLimits,
    private readonly events: StagingEvents,
    private readonly log: Logger,
  ) {
    const names = files.flatMap((f) => (f.filename === null ? [] : [f.filename]));
    this.expected = names.length === files.length ? names : null;
    this.waitForBytes();
  }

  /** (Re)starts the idle timer: the client owes bytes, and has `idleMs` to send the next ones. */
  private waitForBytes(): void {
    // called per chunk: restarting the one timer is cheaper than a new one each time
    if (this.idle) {
      this.idle.refresh();
      return;
    }
    const { idleMs } = this.limits;
    this.idle = setTimeout(() => {
      this.idle = null;
      this.log.info({ idle_ms: idleMs }, 'upload idle; dropping the job');
      this.fail(
        errors.jobFailed(
          'Upload timed out',
          `no upload bytes for ${idleMs / 1000} s (UPLOAD_IDLE_TIMEOUT_SECONDS); the job was dropped and what was uploaded removed`,
        ),
      );
    }, idleMs);
    // the job's end clears it; it must not keep a stopping process alive meanwhile
    this.idle.unref();
  }

  /** Whether every file the job expects has come whole (storing it may still be under way). */
  private everyFileCame(): boolean {
    const names = this.expected ?? [...this.staging, ...this.staged.keys()];
    return names.length > 0 && names.every((n) => this.staging.has(n) || this.staged.has(n));
  }

  private stopWaiting(): void {
    if (this.idle) clearTimeout(this.idle);
    this.idle = null;
    if (this.rateTimer) clearInterval(this.rateTimer);
    this.rateTimer = null;
  }

  private streaming(): boolean {
    return [...this.chunked.values()].some((u) => u.open);
  }

  /** A chunked upload starts: a new rate window starts with it, unless one is under way for another file. */
  private measureRate(): void {
    const { minBytesPerSecond, rateWindowMs } = this.limits;
    if (minBytesPerSecond === 0 || this.streaming()) return;
    this.windowBytes = 0;
    this.ackHeldBack = false;
    if (this.rateTimer) {
      this.rateTimer.refresh();
      return;
    }
    this.rateTimer = setInterval(() => this.endRateWindow(), rateWindowMs);
    // the job's end clears it; it must not keep a stopping process alive meanwhile
    this.rateTimer.unref();
  }

  private endRateWindow(): void {
    const { minBytesPerSecond, rateWindowMs } = this.limits;
    const uploads = [...this.chunked.values()];
    const owed = uploads.some((u) => u.ackOwed());
    // a window with no file streaming (between files: the idle timer's part), or in which we kept the client waiting
    const excused = this.ackHeldBack || owed || !this.streaming();
    const sent = this.windowBytes;
    this.windowBytes = 0;
    this.ackHeldBack = owed;
    if (excused || sent >= Math.ceil((minBytesPerSecond * rateWindowMs) / 1000)) return;
    this.log.info({ bytes: sent, window_ms: rateWindowMs }, 'upload too slow; dropping the job');
    this.fail(
      errors.jobFailed(
        'Upload is too slow',
        `the upload sent ${sent} bytes in ${rateWindowMs / 1000} s; UPLOAD_MIN_BYTES_PER_SECOND asks for at least ${minBytesPerSecond} bytes a second; the job was dropped and what was uploaded removed`,
      ),
    );
  }

  /** Whether a chunked upload of `name` is in progress (its first chunk came, its last not yet). */
  chunkInProgress(name: string): boolean {
    return !this.over && this.chunked.has(name);
  }

  /**
   * One binary frame of this job. Returns `rejected`, a problem with this
   * frame alone that the client should hear about while the job waits on (a
   * file it did not announce); other problems fail the upload.
   */
  take(header: BinaryHeader, payload: Uint8Array): { rejected?: AppError } {
    if (this.over) return {};
    const name = header.filename;
    const chunk = header.offset === undefined ? null : { offset: header.offset, final: header.final === true };
    const inProgress = chunk !== null && this.chunked.has(name);
    const unexpected = inProgress
      ? false
      : this.expected === null
        ? this.staging.size + this.staged.size + this.chunked.size > 0 && 'this job takes one file and it has arrived'
        : !this.expected.includes(name)
          ? `expected one of input.filenames: ${this.expected.join(', ')}`
          : (this.staged.has(name) || this.staging.has(name) || this.chunked.has(name)) && 'this file has arrived already';
    if (unexpected) return { rejected: errors.binaryError(`unexpected upload ${JSON.stringify(name)}: ${unexpected}`) };
    if (payload.length > 0) this.waitForBytes();
    this.bytes += payload.length;
    const { maxBytes } = this.limits;
    const tooBig =
      this.bytes > maxBytes
        ? `upload is over ${maxBytes} bytes (MAX_FILE_SIZE_MB)`
        : this.declaredBytes !== undefined &&
          this.bytes > this.declaredBytes &&
          `upload is larger than the declared input.size_bytes (${this.declaredBytes})`;
    if (tooBig) {
      this.fail(errors.binaryError(tooBig));
      return {};
    }
    if (chunk) {
      // an empty chunk carries nothing and only costs: a flood of them was the cheapest way to pin a core
      if (payload.length === 0) this.fail(errors.binaryError(`chunk at offset ${chunk.offset} of ${JSON.stringify(name)} is empty`));
      else this.takeChunk(name, chunk, payload);
      return {};
    }
    if (payload.length === 0) {
      this.fail(errors.jobFailed('Input is empty', `upload ${JSON.stringify(name)} has no bytes`));
      return {};
    }
    // uWS has read the frame already: refusing it bounds what we keep (for the retries of storing it), not what came
    const release = this.budget.reserve(payload.length, this.client);
    if (!release) {
      this.fail(budgetRefusal(this.budget, payload.length, this.client));
      return {};
    }
    const key = storageKeys.input(this.jobId, name);
    this.stage(
      name,
      () => retryTransient(() => this.storage.put(key, payload), { budgetMs: this.limits.retryBudgetMs }).finally(release),
      payload.length,
    );
    return {};
  }

  private takeChunk(name: string, chunk: { offset: number; final: boolean }, payload: Uint8Array): void {
    let upload = this.chunked.get(name);
    if (!upload) {
      if (chunk.offset !== 0) {
        this.fail(errors.binaryError(`first chunk of ${JSON.stringify(name)} must have offset 0, not ${chunk.offset}`));
        return;
      }
      // what it may hold at once: the window, the stream's buffer and what the storage driver buffers
      // (S3's parts), or less when the file is known to be smaller
      const { windowBytes, maxBytes } = this.limits;
      const holds = chunk.final
        ? payload.length
        : Math.min(
            windowBytes + STREAM_BUFFER_BYTES + this.storage.streamedPutBytes(maxBytes),
            maxBytes,
            this.declaredBytes ?? Number.POSITIVE_INFINITY,
          );
      const release = this.budget.reserve(holds, this.client);
      if (!release) {
        this.fail(budgetRefusal(this.budget, holds, this.client));
        return;
      }
      this.measureRate();
      upload = new ChunkedUpload(
        storageKeys.input(this.jobId, name),
        this.storage,
        this.limits,
        (received) => {
          // the client may have been waiting for this ack (the window was full): its idle time starts now
          if (!this.over && !this.everyFileCame()) this.waitForBytes();
          this.events.ack(name, received);
        },
        release,
      );
      this.chunked.set(name, upload);
      // storage that fails mid-upload (a part's retries spent, a full disk) fails the job now: the client would
      // otherwise stop getting acks and hear "Upload timed out" UPLOAD_IDLE_TIMEOUT_SECONDS later
      upload.stored.catch((err: unknown) => this.fail(stagingFailure(err)));
    }
    try {
      const final = upload.push(chunk.offset, chunk.final, payload);
      this.windowBytes += payload.length;
      if (upload.ackOwed()) this.ackHeldBack = true;
      if (!final) return;
    } catch (err) {
      this.fail(err);
      return;
    }
    const stored = upload;
    this.stage(name, () => stored.stored, stored.received);
  }

  /** Waits for one file to be in storage; when every expected file is, the job is complete. */
  private stage(name: string, store: () => Promise<void>, bytes: number): void {
    this.staging.add(name);
    // every file has come: what is left is storage's part, which retries and fails on its own
    if (this.everyFileCame()) this.stopWaiting();
    store().then(
      () => {
        if (this.over) {
          // The upload ended (cancelled, failed, its connection gone) while this file was being stored: a put
          // cannot be called back, and the job's files were removed before it landed. It goes now, not with
          // the sweeper a day later.
          const key = storageKeys.input(this.jobId, name);
          this.storage
            .delete(key)
            .catch((err: unknown) => this.log.warn({ err, key }, 'could not remove a file stored after its upload ended'));
          return;
        }
        this.chunked.delete(name);
        this.staging.delete(name);
        const key = storageKeys.input(this.jobId, name);
        this.staged.set(name, key);
        this.log.info({ bytes, key }, 'upload staged');
        this.events.stored(bytes);
        const names = this.expected ?? [name];
        if (this.staging.size > 0 || names.some((n) => !this.staged.has(n))) return;
        this.over = true;
        this.events.complete(names.map((n) => ({ source: 'storage', key: this.staged.get(n)!, filename: n })));
      },
      (err: unknown) => this.fail(stagingFailure(err)),
    );
  }

  private fail(err: unknown): void {
    if (this.over) return;
    this.abort();
    this.events.fail(err);
  }

  /** Stops every upload in progress (multipart uploads are aborted; nothing is published). */
  abort(): void {
    this.over = true;
    this.stopWaiting();
    for (const upload of this.chunked.values()) upload.abort();
    this.chunked.clear();
  }
}
