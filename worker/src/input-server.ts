/**
 * The worker's own loopback HTTP server through which ffprobe and ffmpeg
 * read inputs by range (range-source.ts). One per worker, kept warm; each
 * served input lives at an unguessable per-job path and only until its job
 * ends. ffmpeg is given this URL and nothing else: it never opens a client's
 * URL itself, and the hardening (`-protocol_whitelist http,tcp` for these
 * inputs only, the media-only `-format_whitelist`) stays as for local files.
 *
 * A read that fails (the origin lied about a range, the budget ran out) cuts
 * ffmpeg's response; the job reports the recorded cause instead of
 * ffmpeg's "I/O error".
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AppError, MiB } from '@media-foundry/shared';
import { requestedRange } from './http-range.js';
import type { BlockReader } from './range-source.js';

export interface ServedInput {
  /** The URL ffmpeg opens (loopback, per-job path, ending in the input's file name). */
  readonly url: string;
  readonly reader: BlockReader;
  /** Why a read failed, when one did: the job's answer, rather than ffmpeg's words. */
  failure(): AppError | null;
  /** Stops serving (the job ended); requests in flight are cut. */
  close(): void;
}

interface Entry {
  reader: BlockReader;
  signal: AbortSignal;
  failure: AppError | null;
  responses: Set<ServerResponse>;
  /** Where the last answer ended, and how long it was: a request that goes on from there gets a longer one. */
  nextStart: number;
  window: number;
}

/**
 * The longest answer, bytes. ffmpeg asks for everything from an offset
 * (`bytes=N-`) and reads only what it needs before it seeks or stops, but
 * whatever is sent meanwhile fills the loopback socket's buffers (megabytes)
 * and has been fetched from the origin for nothing. So each answer covers a
 * window — one block after a seek, doubling while ffmpeg reads on — and
 * ffmpeg, told `-reconnect 1` (hardening.ts), asks again at once where it
 * ended. A thumbnail moves a block or two; a long read, 8 MiB a request.
 */
const MAX_WINDOW_BYTES = 8 * MiB;

/** Whether an input argument is one this server serves (so it gets the http protocol whitelist). */
export function isServedInputUrl(input: string): boolean {
  return /^http:\/\/127\.0\.0\.1:\d+\/[0-9a-f]{32}\//.test(input);
}

/** Resolves when `res` can take more, or is gone. */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done).off('close', done);
      resolve();
    };
    res.on('drain', done).on('close', done);
  });
}

export class InputServer {
  private readonly entries = new Map<string, Entry>();
  private readonly server: Server = createServer((req, res) => this.handle(req, res));
  private port = 0;

  private constructor() {}

  /** Listens on a free loopback port. */
  static async start(): Promise<InputServer> {
    const self = new InputServer();
    const { server } = self;
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
    self.port = (server.address() as AddressInfo).port;
    return self;
  }

  /** Inputs being served now. */
  get serving(): number {
    return this.entries.size;
  }

  /** Serves `reader` as `name` until the returned input is closed or `signal` (the job's) aborts. */
  serve(reader: BlockReader, name: string, signal: AbortSignal): ServedInput {
    const token = randomBytes(16).toString('hex');
    const entry: Entry = { reader, signal, failure: null, responses: new Set(), nextStart: -1, window: 0 };
    this.entries.set(token, entry);
    const close = () => {
      this.entries.delete(token);
      for (const res of entry.responses) res.destroy();
    };
    signal.addEventListener('abort', close, { once: true });
    return {
      url: `http://127.0.0.1:${this.port}/${token}/${encodeURIComponent(name)}`,
      reader,
      failure: () => entry.failure,
      close: () => {
        signal.removeEventListener('abort', close);
        close();
      },
    };
  }

  async close(): Promise<void> {
    for (const token of [...this.entries.keys()]) {
      for (const res of this.entries.get(token)!.responses) res.destroy();
      this.entries.delete(token);
    }
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const token = /^\/([0-9a-f]{32})\//.exec(req.url ?? '')?.[1];
    const entry = token ? this.entries.get(token) : undefined;
    if (!entry) {
      res.writeHead(404).end();
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (entry.failure) {
      // a read failed: ffmpeg's reconnect gets an error, not the same failure again
      res.writeHead(502).end();
      return;
    }
    const { reader } = entry;
    const size = reader.size;
    const range = requestedRange(req.headers.range, size);
    if (range === 'unsatisfiable') {
      res.writeHead(416, { 'content-range': `bytes */${size}` }).end();
      return;
    }
    const start = range?.start ?? 0;
    let end = size - 1;
    if (range) {
      const block = reader.blockBytes;
      // never under a block, so the end below stays past the start
      entry.window = start === entry.nextStart ? Math.min(entry.window * 2, Math.max(MAX_WINDOW_BYTES, block)) : block;
      // ends where a block ends: a window ending a few bytes into a block (ffmpeg's seek back to an MP4's first
      // sample, just past its header) would fetch that whole block from the origin for those bytes
      end = Math.min(range.end, Math.floor((start + entry.window) / block) * block - 1);
      entry.nextStart = end + 1;
    }
    entry.responses.add(res);
    res.once('close', () => entry.responses.delete(res));
    this.answer(entry, req, res, start, end, range !== null).catch((err: unknown) => {
      if (!res.destroyed && !entry.signal.aborted) entry.failure ??= AppError.from(err);
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    });
  }

  /** The head once the first bytes are in hand (a failed read is a 502, not a cut body), then the bytes. */
  private async answer(entry: Entry, req: IncomingMessage, res: ServerResponse, start: number, end: number, partial: boolean) {
    const { reader, signal } = entry;
    const first = reader.size === 0 ? null : this.piece(reader, Math.floor(start / reader.blockBytes), start, end, signal);
    await first;
    const headers = { 'content-type': 'application/octet-stream', 'accept-ranges': 'bytes', 'content-length': end - start + 1 };
    if (partial) res.writeHead(206, { ...headers, 'content-range': `bytes ${start}-${end}/${reader.size}` });
    else res.writeHead(200, headers);
    if (req.method === 'HEAD' || first === null) {
      res.end();
      return;
    }
    await this.stream(entry, res, start, end, first);
  }

  /**
   * The bytes of block `index` within `start`..`end` (end included). Read through `BlockReader.bytes`, which
   * serves them from a part of the block read on its own (an MP4's `moov` at the end of the file, read by the
   * look-ahead) without fetching the whole block again.
   */
  private piece(reader: BlockReader, index: number, start: number, end: number, signal: AbortSignal): Promise<Buffer> {
    const from = index * reader.blockBytes;
    return reader.bytes(Math.max(start, from), Math.min(end + 1, from + reader.blockBytes), signal);
  }

  /** Writes bytes `start`..`end` block by block, reading one block ahead while ffmpeg takes the current one. */
  private async stream(entry: Entry, res: ServerResponse, start: number, end: number, first: Promise<Buffer>): Promise<void> {
    const { reader, signal } = entry;
    const size = reader.blockBytes;
    const last = Math.floor(end / size);
    for (let index = Math.floor(start / size); index <= last && !res.destroyed; index++) {
      const piece = index * size <= start ? first : this.piece(reader, index, start, end, signal);
      if (index < last) void reader.block(index + 1, signal).catch(() => {}); // read ahead; a failure shows when it is needed
      const bytes = await piece;
      if (res.destroyed) return;
      if (!res.write(bytes)) await drained(res);
    }
    res.end();
  }
}
