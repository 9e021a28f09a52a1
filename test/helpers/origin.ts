/**
 * An HTTP origin on 127.0.0.1 whose every path answers by a script: the
 * faults a media service meets at its inputs (a 503 that passes, a 404 that
 * does not, a body that stops halfway and never ends).
 */
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** How a path answers its `hit`-th request (1 for the first). */
export type Behaviour = (req: IncomingMessage, res: ServerResponse, hit: number) => void | Promise<void>;

export interface Origin {
  url(path: string): string;
  /** Requests a path got so far. */
  hits(path: string): number;
  /** Connections open right now (a client that stopped downloading closes its own). */
  openSockets(): number;
  close(): Promise<void>;
}

export async function startOrigin(routes: Record<string, Behaviour>): Promise<Origin> {
  const hits = new Map<string, number>();
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const hit = (hits.get(path) ?? 0) + 1;
    hits.set(path, hit);
    const behaviour = routes[path];
    if (!behaviour) {
      res.writeHead(404).end('no such path');
      return;
    }
    Promise.resolve(behaviour(req, res, hit)).catch(() => res.destroy());
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (path) => `http://127.0.0.1:${port}${path}`,
    hits: (path) => hits.get(path) ?? 0,
    openSockets: () => sockets.size,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Serves a file. */
export const serveFile =
  (file: string): Behaviour =>
  async (_req, res) => {
    const body = await readFile(file);
    res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': body.length }).end(body);
  };

/** Answers `status` for the first `times` requests, then behaves as `then`. */
export const failFirst =
  (times: number, status: number, then: Behaviour): Behaviour =>
  (req, res, hit) => {
    if (hit > times) return then(req, res, hit - times);
    res.writeHead(status).end(`status ${status}`);
  };

/** Answers with a status, always. */
export const status =
  (code: number): Behaviour =>
  (_req, res) => {
    res.writeHead(code).end(`status ${code}`);
  };

/** Declares the whole file, sends its first half, and then nothing, ever (the connection stays open). */
export const halfThenStall =
  (file: string): Behaviour =>
  async (_req, res) => {
    const body = await readFile(file);
    res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': body.length });
    res.write(body.subarray(0, Math.floor(body.length / 2)));
  };

/** Declares the whole file, sends its first half, and cuts the connection (a reset mid-body); later requests behave as `then`. */
export const cutFirst =
  (file: string, then: Behaviour): Behaviour =>
  async (req, res, hit) => {
    if (hit > 1) return then(req, res, hit - 1);
    const body = await readFile(file);
    res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': body.length });
    res.write(body.subarray(0, Math.floor(body.length / 2)), () => setTimeout(() => res.socket?.resetAndDestroy(), 50));
  };

/** Sends `chunkBytes` of zeros every `everyMs`, never ending (waiting for the client to drain), until the client goes away. */
export const endless =
  (chunkBytes = 64 * 1024, everyMs = 5): Behaviour =>
  async (_req, res) => {
    res.writeHead(200, { 'content-type': 'video/mp4' });
    const chunk = Buffer.alloc(chunkBytes);
    while (!res.destroyed) {
      if (!res.write(chunk)) await new Promise((resolve) => res.once('drain', resolve).once('close', resolve));
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  };

/** Declares `totalBytes` and sends one byte every `everyMs` (an origin that trickles to hold a worker). */
export const trickle =
  (totalBytes: number, everyMs: number): Behaviour =>
  async (_req, res) => {
    res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': totalBytes });
    for (let sent = 0; sent < totalBytes && !res.destroyed; sent++) {
      res.write(Buffer.alloc(1));
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
    res.end();
  };

/** What a range-serving origin sent: each request's `Range` header and the body bytes written. */
export interface RangeLog {
  requests: (string | null)[];
  bytes: number;
}

/** The bytes a range answer declares; an origin under test may declare other ones than asked (a lie). */
export type RangeAnswer = (
  asked: { start: number; end: number },
  size: number,
  hit: number,
) => { start: number; end: number; total: number };

/**
 * Serves a file as a range-capable origin does (a CDN, S3): `Range: bytes=a-b`
 * or `bytes=a-` answered 206 with Content-Range, no Range answered 200, the
 * bytes sent counted in `log`. `answer` makes it lie: declare (and send)
 * other bytes, or another total, than asked.
 */
export const serveRanges =
  (file: string, log: RangeLog = { requests: [], bytes: 0 }, answer?: RangeAnswer): Behaviour =>
  async (req, res, hit) => {
    const body = await readFile(file);
    const header = req.headers.range ?? null;
    log.requests.push(header);
    const m = header ? /^bytes=(\d+)-(\d*)$/.exec(header) : null;
    if (!m) {
      log.bytes += body.length;
      res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': body.length, 'accept-ranges': 'bytes' }).end(body);
      return;
    }
    const asked = { start: Number(m[1]), end: m[2] ? Math.min(Number(m[2]), body.length - 1) : body.length - 1 };
    const given = answer?.(asked, body.length, hit) ?? { ...asked, total: body.length };
    const slice = body.subarray(given.start, given.end + 1);
    log.bytes += slice.length;
    res
      .writeHead(206, {
        'content-type': 'video/mp4',
        'content-length': slice.length,
        'content-range': `bytes ${given.start}-${given.end}/${given.total}`,
        'accept-ranges': 'bytes',
      })
      .end(slice);
  };

/** Serves ranges for the first `times` requests, then redirects every request to `location`. */
export const rangesThenRedirect =
  (file: string, times: number, location: string): Behaviour =>
  (req, res, hit) => {
    if (hit <= times) return serveRanges(file)(req, res, hit);
    res.writeHead(302, { location }).end();
  };

/** Serves a file without a length, chunked, and ignores `Range` (an origin nobody can seek in). */
export const serveChunked =
  (file: string): Behaviour =>
  async (_req, res) => {
    const body = await readFile(file);
    res.writeHead(200, { 'content-type': 'video/mp4' });
    for (let at = 0; at < body.length; at += 64 * 1024) res.write(body.subarray(at, at + 64 * 1024));
    res.end();
  };

/**
 * A range-serving origin (serveRanges) whose answers reaching the end of the
 * file (`bytes=N-`, a download) send the first half and hold the rest until
 * `gate` resolves; answers with an end (reads ahead) come at once.
 */
export const holdSecondHalf =
  (file: string, gate: Promise<void>, log: RangeLog = { requests: [], bytes: 0 }): Behaviour =>
  async (req, res, hit) => {
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (!m) return serveRanges(file, log)(req, res, hit);
    log.requests.push(req.headers.range!);
    const body = await readFile(file);
    const start = Number(m[1]);
    const half = start + Math.floor((body.length - start) / 2);
    res.writeHead(206, {
      'content-type': 'video/mp4',
      'content-length': body.length - start,
      'content-range': `bytes ${start}-${body.length - 1}/${body.length}`,
      'accept-ranges': 'bytes',
    });
    res.write(body.subarray(start, half));
    await gate;
    if (!res.destroyed) res.end(body.subarray(half));
    log.bytes += body.length - start;
  };

/**
 * A range-serving origin whose first answer reaching the end of the file (a
 * download) sends half of it and resets the connection `afterMs` later;
 * every other request is answered whole, by `after` when given (told whether
 * the reset happened yet), else as serveRanges does. `etag` goes with the
 * first answer.
 */
export const cutFirstDownload = (
  file: string,
  afterMs: number,
  log: RangeLog = { requests: [], bytes: 0 },
  { etag, after }: { etag?: string; after?: (reset: boolean) => Behaviour } = {},
): Behaviour => {
  let cut = false;
  let reset = false;
  return async (req, res, hit) => {
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (!m || cut) return (after?.(reset) ?? serveRanges(file, log))(req, res, hit);
    cut = true;
    log.requests.push(req.headers.range!);
    const body = await readFile(file);
    res.writeHead(206, {
      'content-type': 'video/mp4',
      'content-length': body.length,
      'content-range': `bytes 0-${body.length - 1}/${body.length}`,
      'accept-ranges': 'bytes',
      ...(etag ? { etag } : {}),
    });
    res.write(body.subarray(0, Math.floor(body.length / 2)), () =>
      setTimeout(() => {
        reset = true;
        res.socket?.resetAndDestroy();
      }, afterMs),
    );
  };
};

/** What a versioned origin was asked: each request's `Range` and `If-Range`. */
export interface VersionLog {
  requests: { range: string | null; ifRange: string | null }[];
}

/**
 * A range-serving origin that tells its file's version (ETag `"v1"`) and
 * replaces the file after `before` requests by `files[1]`, of the same length
 * (ETag `"v2"`). `If-Range` is honoured as HTTP asks — a request whose
 * If-Range is not the current ETag gets the whole file, `200` — unless
 * `ignoreIfRange` (an origin that answers the range of whatever it has now).
 */
export const replacedAfter =
  (files: [string, string], before: number, log: VersionLog, { ignoreIfRange = false } = {}): Behaviour =>
  async (req, res, hit) => {
    const version = hit <= before ? 0 : 1;
    const etag = `"v${version + 1}"`;
    const ifRange = (req.headers['if-range'] as string | undefined) ?? null;
    log.requests.push({ range: req.headers.range ?? null, ifRange });
    const body = await readFile(files[version]);
    const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    if (!m || (ifRange !== null && ifRange !== etag && !ignoreIfRange)) {
      res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': body.length, 'accept-ranges': 'bytes', etag }).end(body);
      return;
    }
    const start = Number(m[1]);
    const end = m[2] ? Math.min(Number(m[2]), body.length - 1) : body.length - 1;
    const slice = body.subarray(start, end + 1);
    res
      .writeHead(206, {
        'content-type': 'video/mp4',
        'content-length': slice.length,
        'content-range': `bytes ${start}-${end}/${body.length}`,
        'accept-ranges': 'bytes',
        etag,
      })
      .end(slice);
  };
