/**
 * Output files to a client: up to SINGLE_FRAME_MAX_BYTES as one binary frame
 * (what the spec's client reads), larger ones as chunks with header
 * `{job_id, filename, offset, total_size, final}`, read from storage as a
 * stream and sent only as fast as the client takes them. A delivery waiting
 * for a slow client holds at most one chunk; a single frame is read only once
 * the client can take it, one per connection at a time.
 */
import { encodeBinaryFrame, type OutputFile, SINGLE_FRAME_MAX_BYTES } from '@media-foundry/shared';
import type { Storage } from '@media-foundry/shared/node';
import type { ClientSocket } from './client-socket.js';

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
 * Sends one output file from byte `from` (0 for all of it; a chunked file
 * resumes where an earlier attempt stopped). `onSent` hears every byte
 * handed to the socket, so a caller that retries after a storage failure
 * knows where to resume. Resolves when the last frame is handed over.
 */
export async function sendOutput(
  socket: ClientSocket,
  storage: Storage,
  jobId: string,
  output: OutputFile & { key: string },
  chunkBytes: number,
  from = 0,
  onSent: (bytes: number) => void = () => {},
): Promise<void> {
  if (output.size_bytes <= SINGLE_FRAME_MAX_BYTES) {
    // all or nothing (a retry reads it whole again), and read only when the client can take it
    let sent = 0;
    await socket.sendBinaryWhenWritable(async () => {
      const stream = await storage.get(output.key);
      try {
        const body = Buffer.concat(await stream.toArray());
        sent = body.length;
        return encodeBinaryFrame({ job_id: jobId, filename: output.filename }, body);
      } finally {
        stream.destroy();
      }
    });
    onSent(sent);
    return;
  }
  // one chunk at a time: the next is read while the previous waits for the socket
  const stream = await storage.get(output.key, from);
  try {
    let offset = from;
    for await (const chunk of rechunk(stream, chunkBytes)) {
      const final = offset + chunk.length >= output.size_bytes;
      const header = { job_id: jobId, filename: output.filename, offset, total_size: output.size_bytes, final };
      await socket.sendBinary(encodeBinaryFrame(header, chunk));
      offset += chunk.length;
      onSent(chunk.length);
    }
  } finally {
    stream.destroy();
  }
}
