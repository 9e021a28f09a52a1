import { Readable } from 'node:stream';
import { decodeUploadFrame } from '@media-foundry/shared';
import type { Storage } from '@media-foundry/shared/node';
import type { ClientSocket } from './client-socket.js';
import { rechunk, sendOutput } from './downloads.js';

async function collect(pieces: number[], size: number): Promise<number[]> {
  async function* source() {
    let v = 0;
    for (const n of pieces) yield new Uint8Array(Array.from({ length: n }, () => v++ % 256));
  }
  const out: Buffer[] = [];
  for await (const chunk of rechunk(source(), size)) out.push(chunk);
  const joined = Buffer.concat(out);
  // bytes arrive intact and in order
  expect([...joined]).toEqual(Array.from({ length: pieces.reduce((a, b) => a + b, 0) }, (_, i) => i % 256));
  return out.map((c) => c.length);
}

describe('rechunk', () => {
  it('cuts any input pieces into fixed-size chunks, the last one shorter', async () => {
    expect(await collect([3, 3, 3, 3], 5)).toEqual([5, 5, 2]);
    expect(await collect([12], 5)).toEqual([5, 5, 2]);
    expect(await collect([1, 1, 1, 1, 1], 5)).toEqual([5]);
    expect(await collect([10], 5)).toEqual([5, 5]);
    expect(await collect([], 5)).toEqual([]);
  });
});

/** A socket that assembles fragments into the message a client would receive. */
function fragmentSocket() {
  const messages: Buffer[] = [];
  const socket = {
    closed: false,
    async sendFragmentsWhenWritable(next: () => Promise<{ piece: Uint8Array; last: boolean }>) {
      const pieces: Uint8Array[] = [];
      for (let last = false; !last;) {
        const made = await next();
        pieces.push(made.piece);
        last = made.last;
      }
      messages.push(Buffer.concat(pieces));
    },
  } as unknown as ClientSocket;
  return { socket, messages };
}

describe('sendOutput of a single-message output larger than a chunk', () => {
  const size = 10 * 1024 + 7;
  const data = Buffer.from(Array.from({ length: size }, (_, i) => (i * 7) % 256));

  /** Storage whose stream of the output fails once, after `failAt` bytes; records where each read began. */
  function flakyStorage(failAt: number | null) {
    const starts: number[] = [];
    let failed = false;
    const storage = {
      get: (_key: string, start = 0) => {
        starts.push(start);
        const fail = failAt !== null && !failed && start < failAt;
        failed ||= fail;
        return Promise.resolve(
          Readable.from(
            (async function* () {
              for (let at = start; at < size; at += 1000) {
                if (fail && at >= failAt) throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
                yield data.subarray(at, Math.min(size, at + 1000));
              }
            })(),
          ),
        );
      },
    } as unknown as Storage;
    return { storage, starts };
  }

  const output = { filename: 'out.wav', size_bytes: size, content_type: 'audio/wav', key: 'k' };

  it('sends one message in chunk-size pieces, reserving one chunk at a time', async () => {
    const { storage, starts } = flakyStorage(null);
    const { socket, messages } = fragmentSocket();
    const held: number[] = [];
    let holding = 0;
    const budget = {
      acquire: (bytes: number) => {
        holding += bytes;
        held.push(holding);
        return Promise.resolve(() => void (holding -= bytes));
      },
    };
    await sendOutput(socket, storage, budget, 'j', output, 4096);
    expect(messages).toHaveLength(1);
    const { header, payload } = decodeUploadFrame(messages[0]!);
    expect(header).toEqual({ job_id: 'j', filename: 'out.wav' });
    expect(Buffer.from(payload).equals(data)).toBe(true);
    expect(held).toEqual([4096, 4096, 10 * 1024 + 7 - 8192]); // never more than one chunk reserved
    expect(holding).toBe(0);
    expect(starts).toEqual([0]);
  });

  it('reopens a read that fails midway where it stopped, within the same message', async () => {
    const { storage, starts } = flakyStorage(5000);
    const { socket, messages } = fragmentSocket();
    const budget = { acquire: () => Promise.resolve(() => {}) };
    const retry = async <T>(read: () => Promise<T>): Promise<T> => {
      try {
        return await read();
      } catch {
        return read();
      }
    };
    await sendOutput(socket, storage, budget, 'j', output, 4096, { retry });
    expect(starts).toEqual([0, 4096]);
    expect(Buffer.from(decodeUploadFrame(messages[0]!).payload).equals(data)).toBe(true);
  });

  it('fails with OUTPUT_SEND_FAILED, not a retryable error, when storage stays down midway', async () => {
    const { storage } = flakyStorage(5000);
    const { socket } = fragmentSocket();
    const budget = { acquire: () => Promise.resolve(() => {}) };
    await expect(sendOutput(socket, storage, budget, 'j', output, 4096)).rejects.toMatchObject({
      code: 'OUTPUT_SEND_FAILED',
      details: expect.stringMatching(/out\.wav could not be read from storage/),
    });
  });
});

describe('sendOutput of a job resumed on another connection meanwhile (wanted: false)', () => {
  const storageOf = (data: Buffer) =>
    ({ get: (_key: string, start = 0) => Promise.resolve(Readable.from([data.subarray(start)])) }) as unknown as Storage;
  const budget = { acquire: () => Promise.resolve(() => {}) };

  it('sends nothing when it was let go before the file began, and a fragmented message once begun to its end', async () => {
    const data = Buffer.alloc(10 * 1024, 3);
    const output = { filename: 'out.wav', size_bytes: data.length, content_type: 'audio/wav', key: 'k' };
    const { socket, messages } = fragmentSocket();
    await expect(sendOutput(socket, storageOf(data), budget, 'j', output, 4096, { wanted: () => false })).rejects.toMatchObject({
      code: 'OUTPUT_SEND_FAILED',
      details: expect.stringMatching(/resumed on another connection/),
    });
    expect(messages).toEqual([]);
    // let go after its first piece: a WebSocket message cannot be cut short without closing the connection
    let wanted = true;
    await sendOutput(socket, storageOf(data), budget, 'j', output, 4096, {
      wanted: () => wanted,
      onSent: () => (wanted = false),
    });
    expect(Buffer.from(decodeUploadFrame(messages[0]!).payload).equals(data)).toBe(true);
  });

  it('stops a chunked file (over 16 MiB) before its next chunk', async () => {
    const data = Buffer.alloc(17 * 1024 * 1024, 5);
    const output = { filename: 'big.mkv', size_bytes: data.length, content_type: 'video/x-matroska', key: 'k' };
    const frames: Uint8Array[] = [];
    const socket = {
      closed: false,
      sendBinaryWhenWritable: async (make: () => Promise<Uint8Array>) => void frames.push(await make()),
    } as unknown as ClientSocket;
    let wanted = true;
    const sending = sendOutput(socket, storageOf(data), budget, 'j', output, 1024 * 1024, {
      wanted: () => wanted,
      onSent: () => (wanted = false),
    });
    await expect(sending).rejects.toMatchObject({
      code: 'OUTPUT_SEND_FAILED',
      details: expect.stringMatching(/resumed on another connection/),
    });
    expect(frames).toHaveLength(1);
  });
});

describe('sendOutput of an output the worker relayed with its reply', () => {
  const data = Buffer.from('a small thumbnail, relayed');
  const output = { filename: 'thumbnail.png', size_bytes: data.length, content_type: 'image/png', key: 'jobs/j/output/thumbnail.png' };

  /** A socket that keeps each whole frame, and a storage that counts its reads (and serves `stored`). */
  function fixtures(stored: Buffer) {
    const frames: Uint8Array[] = [];
    const socket = {
      closed: false,
      async sendBinaryWhenWritable(make: () => Promise<Uint8Array>) {
        frames.push(await make());
      },
    } as unknown as ClientSocket;
    const reads: string[] = [];
    const storage = {
      get: (key: string) => {
        reads.push(key);
        return Promise.resolve(Readable.from([stored]));
      },
    } as unknown as Storage;
    const reserved: number[] = [];
    const budget = { acquire: (bytes: number) => Promise.resolve((reserved.push(bytes), () => {})) };
    return { socket, frames, storage, reads, budget, reserved };
  }

  it('sends the relayed bytes without reading storage, within the byte budget', async () => {
    const f = fixtures(Buffer.from('not this'));
    await sendOutput(f.socket, f.storage, f.budget, 'j', { ...output, relayed: data.toString('base64') }, 1024);
    expect(f.reads).toEqual([]);
    expect(f.reserved).toEqual([data.length]);
    expect(Buffer.from(decodeUploadFrame(f.frames[0]!).payload).equals(data)).toBe(true);
  });

  it('sends relayed bytes larger than a chunk in pieces, still without reading storage (they may be stored nowhere else)', async () => {
    const f = fixtures(Buffer.from('not this'));
    const { socket, messages } = fragmentSocket();
    await sendOutput(socket, f.storage, f.budget, 'j', { ...output, relayed: data.toString('base64') }, 8);
    expect(f.reads).toEqual([]);
    expect(f.reserved).toEqual([8, 8, 8, data.length - 24]);
    expect(Buffer.from(decodeUploadFrame(messages[0]!).payload).equals(data)).toBe(true);
  });

  it('reads storage when the relayed bytes are not the whole file', async () => {
    const f = fixtures(data);
    await sendOutput(f.socket, f.storage, f.budget, 'j', { ...output, relayed: data.subarray(0, 5).toString('base64') }, 1024);
    expect(f.reads).toEqual([output.key]);
    expect(Buffer.from(decodeUploadFrame(f.frames[0]!).payload).equals(data)).toBe(true);
  });
});
