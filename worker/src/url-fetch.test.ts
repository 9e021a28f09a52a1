import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { errors } from '@media-foundry/shared';
import { parseAllowlist } from '@media-foundry/shared/node';
import { useTempDir } from '@media-foundry/test-support';
import { movieBoxSearchFrom } from './ffmpeg/mp4-info.js';
import { openOrigin } from './origin-range-source.js';
import { type DownloadLimits, downloadUrl } from './url-fetch.js';

const limits: DownloadLimits = {
  maxBytes: 10 * 1024 * 1024,
  timeoutMs: 30_000,
  connectTimeoutMs: 5000,
  stallMs: 5000,
  minBytesPerSecond: 0,
  rateWindowMs: 10_000,
  allowlist: parseAllowlist(['127.0.0.1']),
};
const budget = () => ({ take: () => true, release: () => {}, exceeded: () => errors.jobFailed('Inputs are too large', 'budget') });

/** Writes an endless body (64 KiB at a time, as fast as it is taken); resolves with the bytes written once the client let go. */
function endless(res: ServerResponse): Promise<number> {
  return new Promise((resolve) => {
    let sent = 0;
    const chunk = Buffer.alloc(64 * 1024, 1);
    const more = () => {
      while (!res.destroyed && res.write(chunk)) sent += chunk.length;
    };
    res.on('drain', more);
    res.on('close', () => resolve(sent));
    more();
  });
}

/** `promise`'s value, or `fallback` after `ms`; the timer is cleared either way (one left running kept Jest up after the suite). */
function orAfter<T, F>(promise: Promise<T>, ms: number, fallback: F): Promise<T | F> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<F>((resolve) => (timer = setTimeout(() => resolve(fallback), ms)));
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

describe('reading an input URL', () => {
  const tempDir = useTempDir('url-fetch-test-');
  let base: string;
  let closedAfter: Promise<number> | null;
  const server = createServer((req, res) => {
    if (req.url === '/redirect') {
      res.writeHead(302, { location: '/file', 'content-type': 'text/plain' });
      closedAfter = endless(res);
    } else if (req.url === '/broken') {
      res.writeHead(500, { 'content-type': 'text/plain' });
      closedAfter = endless(res);
    } else if (req.url === '/file') res.writeHead(200, { 'content-length': 5 }).end('hello');
    else if (req.url === '/capped' || req.url === '/always-partial') {
      // an origin that answers a range with less than was asked (a cap of its own), without saying how large the file is
      if (req.headers.range || req.url === '/always-partial')
        res.writeHead(206, { 'content-range': 'bytes 0-4/*', 'content-length': 5 }).end('hello');
      else res.writeHead(200, { 'content-length': 12 }).end('hello world!');
    } else if (req.url === '/late-moov.mp4') serveLateMoov(req, res);
    else res.writeHead(404).end();
  });

  // an MP4 written without faststart: ftyp, a large mdat, the moov last
  const MOOV_AT = 1_590_000;
  const lateMoov = Buffer.alloc(MOOV_AT + 10_000, 7);
  lateMoov.writeUInt32BE(32, 0);
  lateMoov.write('ftyp', 4, 'latin1');
  lateMoov.writeUInt32BE(MOOV_AT - 32, 32);
  lateMoov.write('mdat', 36, 'latin1');
  lateMoov.writeUInt32BE(10_000, MOOV_AT);
  lateMoov.write('moov', MOOV_AT + 4, 'latin1');
  let ranges: string[] = [];
  /** Set once a range past the first block is asked for: with `holdFirst`, the first block's answer waits for it (or 3 s) after its first 64 KiB. */
  let askedPastFirst: () => void = () => {};
  let pastFirst = new Promise<void>((r) => (askedPastFirst = r));
  let tailAskedBeforeFirstEnded = false;
  let firstEnded = false;
  let holdFirst = false;
  function serveLateMoov(req: IncomingMessage, res: ServerResponse) {
    const [start, end] = /bytes=(\d+)-(\d+)/
      .exec(req.headers.range ?? '')!
      .slice(1)
      .map(Number) as [number, number];
    ranges.push(`${start}-${end}`);
    // one connection per request: a kept-alive one that a test's cancel or the server's idle timeout closes is not
    // reused by the next test (an ECONNRESET there is a retry in the worker, a failure here)
    const headers = { 'content-range': `bytes ${start}-${end}/${lateMoov.length}`, 'content-length': end - start + 1, connection: 'close' };
    res.writeHead(206, headers);
    if (start > 0) {
      askedPastFirst();
      res.end(lateMoov.subarray(start, end + 1));
      return;
    }
    if (!holdFirst) {
      res.end(lateMoov.subarray(0, end + 1));
      return;
    }
    res.write(lateMoov.subarray(0, 64 * 1024));
    firstEnded = false;
    void orAfter(
      pastFirst.then(() => true),
      3000,
      false,
    ).then((asked) => {
      tailAskedBeforeFirstEnded = asked === true;
      firstEnded = true;
      res.end(lateMoov.subarray(64 * 1024, end + 1));
    });
  }
  beforeAll(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.closeAllConnections(); // a regression's endless bodies must not keep the suite up
    return new Promise((r) => server.close(r));
  });
  beforeEach(() => (closedAfter = null));

  it('lets go of a redirect the moment it has its Location, rather than draining a body that never ends', async () => {
    const path = join(tempDir(), 'a');
    await downloadUrl(`${base}/redirect`, path, limits, new AbortController().signal, budget());
    expect(await readFile(path, 'utf8')).toBe('hello');
    // the redirect's connection closes (it used to be read to its end: for ever, outside every byte limit)
    const sent = await orAfter(closedAfter!, 3000, 'still reading');
    expect(sent).not.toBe('still reading');
  });

  it('lets go of an error answer at once too', async () => {
    const failed = await downloadUrl(`${base}/broken`, join(tempDir(), 'b'), limits, new AbortController().signal, budget()).catch(
      (e: unknown) => e,
    );
    expect(failed).toMatchObject({ message: 'Could not download the input URL', details: 'HTTP 500 Internal Server Error' });
    const sent = await orAfter(closedAfter!, 3000, 'still reading');
    expect(sent).not.toBe('still reading');
  });

  it("fetches an MP4's moov alongside its first block, not a round trip after it, and not the rest of its block", async () => {
    ranges = [];
    holdFirst = true;
    pastFirst = new Promise<void>((r) => (askedPastFirst = r));
    const block = 512 * 1024;
    const opened = await openOrigin(`${base}/late-moov.mp4`, limits, new AbortController().signal, block, movieBoxSearchFrom);
    if (!opened.ranges) throw new Error('expected a ranged input');
    expect(await opened.first.whole).toEqual(lateMoov.subarray(0, block));
    // the moov to its block's end, on its own: the media data before it in that block is not read
    if (opened.ahead?.kind !== 'tail') throw new Error('expected the moov read on its own');
    expect(opened.ahead.start).toBe(MOOV_AT);
    expect(await opened.ahead.bytes.whole).toEqual(lateMoov.subarray(MOOV_AT));
    // asked for while the first block's answer was still coming
    expect(tailAskedBeforeFirstEnded).toBe(true);
    expect(ranges).toEqual([`0-${block - 1}`, `${MOOV_AT}-${lateMoov.length - 1}`]);
  });

  it('fetches the whole block looked ahead at when the bytes wanted are a quarter of it or more', async () => {
    ranges = [];
    holdFirst = false;
    const block = 512 * 1024;
    const opened = await openOrigin(`${base}/late-moov.mp4`, limits, new AbortController().signal, block, () => 2 * block + 1000);
    if (!opened.ranges || opened.ahead?.kind !== 'block') throw new Error('expected a block read ahead');
    expect(opened.ahead.index).toBe(2);
    expect(await opened.ahead.read).toEqual(lateMoov.subarray(2 * block, 3 * block));
    await opened.first.whole;
    expect(ranges).toEqual([`0-${block - 1}`, `${2 * block}-${3 * block - 1}`]);
  });

  it('hands over the first block while it still arrives: its first bytes can be read before its end', async () => {
    ranges = [];
    holdFirst = true;
    pastFirst = new Promise<void>((r) => (askedPastFirst = r));
    const block = 512 * 1024;
    const opened = await openOrigin(`${base}/late-moov.mp4`, limits, new AbortController().signal, block, () => null);
    if (!opened.ranges) throw new Error('expected a ranged input');
    expect(opened.firstBytes).toBe(block);
    // the origin sent 64 KiB and holds the rest back
    expect(await opened.first.head(1000)).toEqual(lateMoov.subarray(0, 1000));
    expect(firstEnded).toBe(false);
    askedPastFirst();
    expect(await opened.first.whole).toEqual(lateMoov.subarray(0, block));
    expect(await opened.first.head(block)).toEqual(lateMoov.subarray(0, block));
  });

  it("stops the first block when the open is cancelled (the job's input budget refused it)", async () => {
    holdFirst = true;
    pastFirst = new Promise<void>((r) => (askedPastFirst = r));
    const opened = await openOrigin(`${base}/late-moov.mp4`, limits, new AbortController().signal, 512 * 1024, () => null);
    if (!opened.ranges) throw new Error('expected a ranged input');
    opened.cancel();
    await expect(opened.first.whole).rejects.toBeDefined();
    expect(firstEnded).toBe(false); // stopped while the origin still held the rest back
    askedPastFirst();
  });

  it('looks ahead at nothing for an input whose first block tells nothing to fetch (without a look-ahead, or not an MP4)', async () => {
    ranges = [];
    holdFirst = false;
    const opened = await openOrigin(`${base}/late-moov.mp4`, limits, new AbortController().signal, 512 * 1024);
    expect(opened.ranges && opened.ahead).toBeNull();
    const notMp4 = await openOrigin(`${base}/late-moov.mp4`, limits, new AbortController().signal, 512 * 1024, () => null);
    expect(notMp4.ranges && notMp4.ahead).toBeNull();
    expect(ranges).toEqual([`0-${512 * 1024 - 1}`, `0-${512 * 1024 - 1}`]);
  });

  it('downloads the whole file when an origin answers the first range with another part than the one asked for', async () => {
    const opened = await openOrigin(`${base}/capped`, limits, new AbortController().signal, 512 * 1024);
    expect(opened.ranges).toBe(false);
    const path = join(tempDir(), 'c');
    if (!opened.ranges) await opened.save(path, budget());
    expect(await readFile(path, 'utf8')).toBe('hello world!'); // not the 5 bytes of the part, saved as if they were the file
    const failed = await openOrigin(`${base}/always-partial`, limits, new AbortController().signal, 512 * 1024).catch((e: unknown) => e);
    expect(failed).toMatchObject({ details: 'the origin answered a request for the whole file with HTTP 206' });
  });
});
