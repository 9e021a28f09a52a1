import { readFile } from 'node:fs/promises';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { errors } from '@media-foundry/shared';
import { parseAllowlist } from '@media-foundry/shared/node';
import { useTempDir } from '@media-foundry/test-support';
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
    } else res.writeHead(404).end();
  });
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
    const sent = await Promise.race([closedAfter!, new Promise<string>((r) => setTimeout(() => r('still reading'), 3000))]);
    expect(sent).not.toBe('still reading');
  });

  it('lets go of an error answer at once too', async () => {
    const failed = await downloadUrl(`${base}/broken`, join(tempDir(), 'b'), limits, new AbortController().signal, budget()).catch(
      (e: unknown) => e,
    );
    expect(failed).toMatchObject({ message: 'Could not download the input URL', details: 'HTTP 500 Internal Server Error' });
    const sent = await Promise.race([closedAfter!, new Promise<string>((r) => setTimeout(() => r('still reading'), 3000))]);
    expect(sent).not.toBe('still reading');
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
