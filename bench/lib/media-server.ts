/**
 * A static HTTP origin for URL inputs, on 127.0.0.1: GET and HEAD with
 * single byte ranges (206, `Content-Range`, 416 past the end, `If-Range`),
 * counting the body bytes it hands to each response. Both sides of a
 * comparison read their input from it, so the count says how much of a
 * file the service fetched against how much raw ffmpeg did.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Transform } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { loadHttpRange } from './helpers.js';

/** What the server did for one file since the last reset. */
export interface ServedStats {
  /** Body bytes read from disk and written to responses (a client that hangs up early may not have read the last socket buffer's worth). */
  bytes: number;
  requests: number;
  /** `GET bytes=a-b` / `HEAD` / `GET` per request, in order. */
  log: string[];
}

export interface MediaServer {
  url(name: string): string;
  /** Serves `path` as `name` from now on. */
  add(name: string, path: string): void;
  served(name: string): ServedStats;
  /** Forgets what was served (before each timed run). */
  reset(): void;
  close(): Promise<void>;
}

/** How a remote origin answers: each request's head after `firstByteMs`, its body at `bytesPerSecond`. */
export interface OriginPace {
  firstByteMs: number;
  bytesPerSecond: number;
}

/** Passes a body on no faster than `bytesPerSecond` (from its first chunk). */
function paced(bytesPerSecond: number): Transform {
  const started = performance.now();
  let sent = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      sent += chunk.length;
      const due = started + (sent / bytesPerSecond) * 1000 - performance.now();
      if (due <= 0) done(null, chunk);
      else setTimeout(() => done(null, chunk), due);
    },
  });
}

/**
 * Serves `initial` (URL name → path on disk), and what `add` adds; with
 * `pace`, as an origin across a network would (a CDN, S3 seen from a pod).
 */
export async function startMediaServer(initial: Record<string, string>, pace?: OriginPace): Promise<MediaServer> {
  const { requestedRange } = await loadHttpRange();
  const files = new Map(Object.entries(initial));
  const stats = new Map<string, ServedStats>();
  const statsOf = (name: string) => {
    let s = stats.get(name);
    if (!s) stats.set(name, (s = { bytes: 0, requests: 0, log: [] }));
    return s;
  };
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const name = decodeURIComponent((req.url ?? '/').split('?')[0]!.replace(/^\//, ''));
    const path = files.get(name);
    if (path === undefined || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(path === undefined ? 404 : 405).end();
      return;
    }
    const info = await stat(path);
    const etag = `"${info.size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}"`;
    const ifRange = req.headers['if-range'];
    // a validator that does not match asks for the whole (changed) file
    const range = ifRange === undefined || ifRange === etag ? requestedRange(req.headers.range, info.size) : null;
    if (pace) await new Promise((r) => setTimeout(r, pace.firstByteMs));
    const s = statsOf(name);
    s.requests++;
    s.log.push(`${req.method}${req.headers.range === undefined ? '' : ` ${req.headers.range}`}`);
    const common = {
      'accept-ranges': 'bytes',
      'content-type': 'video/mp4',
      etag,
      'last-modified': info.mtime.toUTCString(),
    };
    if (range === 'unsatisfiable') {
      res.writeHead(416, { ...common, 'content-range': `bytes */${info.size}` }).end();
      return;
    }
    const { start, end } = range ?? { start: 0, end: info.size - 1 };
    const headers = { ...common, 'content-length': String(end - start + 1) };
    if (range) res.writeHead(206, { ...headers, 'content-range': `bytes ${start}-${end}/${info.size}` });
    else res.writeHead(200, headers);
    if (req.method === 'HEAD' || info.size === 0) {
      res.end();
      return;
    }
    const body = createReadStream(path, { start, end });
    body.on('data', (chunk) => (s.bytes += chunk.length));
    // a client that stops reading (ffmpeg has its frame) closes the connection: stop reading the file too
    res.on('close', () => body.destroy());
    body.on('error', () => res.destroy());
    if (pace) body.pipe(paced(pace.bytesPerSecond)).pipe(res);
    else body.pipe(res);
  };
  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (name) => `http://127.0.0.1:${port}/${encodeURIComponent(name)}`,
    add: (name, path) => {
      files.set(name, path);
    },
    served: (name) => {
      const s = statsOf(name);
      return { bytes: s.bytes, requests: s.requests, log: [...s.log] };
    },
    reset: () => stats.clear(),
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
