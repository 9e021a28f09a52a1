/**
 * Output files to a client: up to SINGLE_FRAME_MAX_BYTES as one binary message
 * (what the spec's client reads), larger ones as chunks with header
 * `{job_id, filename, offset, total_size, final}`, read from storage as a
 * stream and sent only as fast as the client takes them. A delivery holds at
 * most one chunk (DOWNLOAD_CHUNK_BYTES) in memory: a single message larger
 * than that goes out as WebSocket fragments of that size, read one at a time
 * once the client can take each, one message per connection at a time.
 *
 * Each frame or chunk is reserved in the gateway's byte budget before it is
 * read and released once the socket has it. A delivery waits for room there
 * and never fails for want of it: the job has run, and its result must
 * arrive. One larger than the whole budget goes when nothing else is held
 * (ByteBudget's rule), so no output is too large to deliver.
 */
import { Readable } from 'node:stream';
import { AppError, encodeBinaryFrame, errors, failureKind, type OutputFile, SINGLE_FRAME_MAX_BYTES } from '@media-foundry/shared';
import { isNotFound, type Storage } from '@media-foundry/shared/node';
import type { ByteBudget, Release } from './byte-budget.js';
import type { ClientSocket } from './client-socket.js';

/** Runs a storage read again after transient failures (for a while), or passes the failure on. */
export type Retry = <T>(read: () => Promise<T>) => Promise<T>;

/** Yields `size`-byte pieces of a byte stream (the last one shorter). */
export async function* rechunk(source: AsyncIterable<Uint8Array>, size: number): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let length = 0;
  for await (const piece of source) {
    let data = Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
    while (length + data.length >= size) {
      const take = size - length;
      parts.push(data.subarray(0, take));
      yield Buffer.concat(parts);
      data = data.subarray(take);
      parts = [];
      length = 0;
    }
    if (data.length > 0) {
      parts.push(Buffer.from(data)); // copy: the source may reuse its buffer
      length += data.length;
    }
  }
  if (length > 0) yield Buffer.concat(parts);
}

/**
 * Storage with one object served from bytes the worker relayed with its reply: the whole output, so every
 * read of it is served from them (the worker may have stored it nowhere else: `jobResult`); decoded at the
 * first read, once the budget has room, like a storage read. Bytes that are not the whole output are not used.
 */
function relayedSource(storage: Pick<Storage, 'get'>, key: string, base64: string, size: number): Pick<Storage, 'get'> {
  let bytes: Buffer | null = null;
  const whole = () => (bytes ??= Buffer.from(base64, 'base64'));
  return {
    get: (asked, start = 0, end) =>
      asked === key && whole().length === size
        ? Promise.resolve(Readable.from([whole().subarray(start, end === undefined ? undefined : end + 1)]))
        : storage.get(asked, start, end),
  };
}

/** How sendOutput goes about one file, beyond what it sends. */
export interface SendOptions {
  /** The byte to start from (0, the default, for all of it; a chunked file resumes where an earlier attempt stopped). */
  from?: number;
  /** Hears every byte handed to the socket, so a caller that retries after a storage failure knows where to resume. */
  onSent?: (bytes: number) => void;
  retry?: Retry;
  /**
   * Asked before each message (a whole file, or a chunk of one over 16 MiB): false stops the sending there
   * with OUTPUT_SEND_FAILED (the job was resumed on another connection). A fragmented message, once begun, is
   * sent to its end.
   */
  wanted?: () => boolean;
}

/** Sends one output file as binary frames (SendOptions); resolves when the last frame is handed over. */
export async function sendOutput(
  socket: ClientSocket,
  storage: Pick<Storage, 'get'>,
  budget: Pick<ByteBudget, 'acquire'>,
  jobId: string,
  /**
   * `relayed`: the output's content as the worker relayed it with its reply, base64
   * (decoded once the budget has room, like a read; storage is read when it is not whole).
   */
  output: OutputFile & { key: string; relayed?: string | undefined },
  chunkBytes: number,
  { from = 0, onSent = () => {}, retry = (read) => read(), wanted = () => true }: SendOptions = {},
): Promise<void> {
  const source = output.relayed === undefined ? storage : relayedSource(storage, output.key, output.relayed, output.size_bytes);
  /**
   * Sends one frame: once the socket can take it, `bytes` are reserved (a
   * delivery waiting for a slow client holds nothing), then `read` makes the
   * frame — nothing is read for a client that went away during the wait —
   * and the reservation is held until the socket has it. Returns the payload bytes sent.
   */
  const sendReserved = async (bytes: number, read: () => Promise<{ frame: Uint8Array; sent: number }>): Promise<number> => {
    let release: Release = () => {};
    let sent = 0;
    try {
      await socket.sendBinaryWhenWritable(async () => {
        release = await budget.acquire(bytes);
        if (socket.closed) throw errors.outputSendFailed('the connection closed');
        if (!wanted()) throw errors.outputSendFailed('the job was resumed on another connection');
        const made = await read();
        sent = made.sent;
        return made.frame;
      });
    } finally {
      release();
    }
    return sent;
  };

  if (output.size_bytes <= Math.min(chunkBytes, SINGLE_FRAME_MAX_BYTES)) {
    // all or nothing (a retry reads it whole again)
    const sent = await sendReserved(output.size_bytes, async () => {
      const stream = await source.get(output.key);
      try {
        const body = Buffer.concat(await stream.toArray());
        return { frame: encodeBinaryFrame({ job_id: jobId, filename: output.filename }, body), sent: body.length };
      } finally {
        stream.destroy();
      }
    });
    onSent(sent);
    return;
  }
  if (output.size_bytes <= SINGLE_FRAME_MAX_BYTES) {
    if (!wanted()) throw errors.outputSendFailed('the job was resumed on another connection');
    await sendFragmented({ socket, storage: source, budget, jobId, output, chunkBytes, retry, onSent });
    return;
  }
  // one chunk at a time: a client that stops reading pins no chunk
  const stream = await source.get(output.key, from);
  const chunks = rechunk(stream, chunkBytes);
  try {
    let offset = from;
    while (offset < output.size_bytes) {
      const sent = await sendReserved(Math.min(chunkBytes, output.size_bytes - offset), async () => {
        const next = await chunks.next();
        if (next.done) throw errors.outputSendFailed(`storage ended the output at byte ${offset} of ${output.size_bytes}`);
        const chunk = next.value;
        const final = offset + chunk.length >= output.size_bytes;
        const header = { job_id: jobId, filename: output.filename, offset, total_size: output.size_bytes, final };
        return { frame: encodeBinaryFrame(header, chunk), sent: chunk.length };
      });
      offset += sent;
      onSent(sent);
    }
  } finally {
    await chunks.return(undefined);
    stream.destroy();
  }
}

/** What sendOutput hands its fragmented path: the same socket, storage, budget, output and callbacks. */
interface OutputTransfer {
  socket: ClientSocket;
  storage: Pick<Storage, 'get'>;
  budget: Pick<ByteBudget, 'acquire'>;
  jobId: string;
  output: OutputFile & { key: string };
  chunkBytes: number;
  retry: Retry;
  onSent: (bytes: number) => void;
}

/**
 * An output of up to SINGLE_FRAME_MAX_BYTES as one binary message sent in
 * `chunkBytes` fragments, so the gateway holds one piece of it at a time
 * (and the budget one piece's reservation). A read that fails midway is
 * reopened where it stopped (`retry`): the message cannot be restarted once
 * its first fragment went out. If storage stays unavailable, the connection
 * is closed (ClientSocket) and OUTPUT_SEND_FAILED thrown, not retried.
 */
async function sendFragmented(transfer: OutputTransfer): Promise<void> {
  const { socket, storage, budget, jobId, output, chunkBytes, retry, onSent } = transfer;
  let offset = 0;
  let reading: { stream: Readable; pieces: AsyncGenerator<Buffer> } | null = null;
  const stopReading = async () => {
    const current = reading;
    reading = null;
    if (current === null) return;
    current.stream.destroy();
    await current.pieces.return(undefined).catch(() => undefined); // the read failed already; its error was reported
  };
  const readPiece = () =>
    retry(async () => {
      try {
        reading ??= await (async () => {
          const stream = await storage.get(output.key, offset);
          return { stream, pieces: rechunk(stream, chunkBytes) };
        })();
        const next = await reading.pieces.next();
        if (next.done) throw errors.outputSendFailed(`storage ended ${output.filename} at byte ${offset} of ${output.size_bytes}`);
        return next.value;
      } catch (err) {
        await stopReading(); // the next attempt reopens at `offset`
        throw err;
      }
    });
  let release: Release = () => {};
  try {
    await socket.sendFragmentsWhenWritable(async () => {
      release(); // the previous piece is in the socket's buffer now
      release = await budget.acquire(Math.min(chunkBytes, output.size_bytes - offset));
      if (socket.closed) throw errors.outputSendFailed('the connection closed');
      let piece: Buffer;
      try {
        piece = await readPiece();
      } catch (err) {
        // `retry` spent the budget already: the caller must not try the whole file again
        throw err instanceof AppError ? err : storageReadFailed(output.filename, err);
      }
      const first = offset === 0;
      offset += piece.length;
      onSent(piece.length);
      const last = offset >= output.size_bytes;
      return { piece: first ? encodeBinaryFrame({ job_id: jobId, filename: output.filename }, piece) : piece, last };
    });
  } finally {
    release();
    await stopReading();
  }
}

/** OUTPUT_SEND_FAILED for an output storage could not give back, saying why. */
export function storageReadFailed(filename: string, err: unknown): AppError {
  const why = isNotFound(err)
    ? `${filename} is no longer in storage`
    : `${filename} could not be read from storage${failureKind(err) === 'transient' ? ' (still unavailable after retries)' : ''}: ${(err as Error).message}`;
  return errors.outputSendFailed(why, err);
}
