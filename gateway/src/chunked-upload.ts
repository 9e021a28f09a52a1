/**
 * A file arriving in chunks (`offset`, `final` in the frame header), streamed
 * straight into storage: S3 multipart via lib-storage, or a file for `fs`.
 * Nothing holds the whole file. uWebSockets.js cannot pause reading a
 * socket, so flow control is in the protocol: the gateway answers with
 * `upload_ack {received_bytes}` once bytes are taken, and a client may be at
 * most UPLOAD_WINDOW_BYTES ahead of its last ack.
 */
import { PassThrough } from 'node:stream';
import { errors, MiB } from '@media-foundry/shared';
import type { Storage } from '@media-foundry/shared/node';

export interface ChunkLimits {
  /** Largest file, bytes. */
  maxBytes: number;
  /** Bytes a client may send beyond the last ack. */
  windowBytes: number;
}

/** What the storage stream buffers ahead of storage, per upload (the window bounds what the client has in flight). */
export const STREAM_BUFFER_BYTES = MiB;

export class ChunkedUpload {
  /** Bytes written into the storage stream so far (the next expected offset). */
  received = 0;
  /** Bytes acknowledged to the client. */
  private acked = 0;
  private readonly stream: PassThrough;
  /** Resolves when storage holds the whole file; rejects when the upload fails or is aborted. */
  readonly stored: Promise<void>;
  private failed = false;

  constructor(
    readonly key: string,
    storage: Storage,
    private readonly limits: ChunkLimits,
    /** Called with `received_bytes` whenever bytes are taken. */
    private readonly ack: (receivedBytes: number) => void,
    /** Called (perhaps more than once) when the upload holds no more bytes: stored, failed or aborted. */
    private readonly ended: () => void = () => {},
  ) {
    // a small buffer: the window, not this, bounds what a client may have in flight
    this.stream = new PassThrough({ highWaterMark: STREAM_BUFFER_BYTES });
    // an abort can come before the storage driver attaches to the stream; the error surfaces through `stored`
    this.stream.on('error', () => {});
    this.stored = storage.put(key, this.stream, { maxBytes: limits.maxBytes });
    // observed by the caller, never an unhandled rejection; either way the upload holds nothing more
    this.stored.then(ended, ended);
    this.stream.on('drain', () => this.sendAck());
  }

  /**
   * Takes one chunk. Throws BINARY_ERROR (and aborts the upload) for a chunk
   * out of order, over the size limit, or beyond the flow-control window.
   * Returns true on the final chunk.
   */
  push(offset: number, final: boolean, chunk: Uint8Array): boolean {
    // the stream ends with the final chunk
    const problem = this.stream.writableEnded
      ? `chunk at offset ${offset} after the final one (chunks must come in order, each once)`
      : offset !== this.received
        ? `chunk at offset ${offset}, expected ${this.received} (chunks must come in order, each once)`
        : this.received + chunk.length > this.limits.maxBytes
          ? `upload grew past MAX_FILE_SIZE_MB (${this.limits.maxBytes} bytes)`
          : this.received + chunk.length - this.acked > this.limits.windowBytes
            ? `sent ${this.received + chunk.length - this.acked} bytes beyond the last upload_ack; UPLOAD_WINDOW_BYTES allows ${this.limits.windowBytes}`
            : null;
    if (problem) {
      const err = errors.binaryError(problem);
      this.abort(err);
      throw err;
    }
    this.received += chunk.length;
    const flowing = this.stream.write(chunk);
    if (final) this.stream.end();
    if (flowing || final) this.sendAck();
    return final;
  }

  /** Whether more chunks may come: not ended by its final chunk, nor failed. */
  get open(): boolean {
    return !this.failed && !this.stream.writableEnded;
  }

  /** Whether bytes taken are not acknowledged yet (storage is behind): a client at the end of its window waits for us. */
  ackOwed(): boolean {
    return !this.failed && this.acked < this.received;
  }

  private sendAck(): void {
    if (this.failed || this.acked === this.received) return;
    this.acked = this.received;
    this.ack(this.received);
  }

  /** Stops the upload; the storage driver discards what it has (aborts the multipart upload, removes the partial file). */
  abort(reason: Error = errors.binaryError('upload aborted')): void {
    if (this.failed) return;
    this.failed = true;
    this.stream.destroy(reason);
    // the destroyed stream drops what it buffered now; storage may take a while longer to clean up
    this.ended();
  }
}
