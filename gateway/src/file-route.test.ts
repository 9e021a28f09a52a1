import { once } from 'node:events';
import { mkdir, writeFile } from 'node:fs/promises';
import { get } from 'node:http';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { createLogger, FsStorage, type Storage, waitFor } from '@media-foundry/shared/node';
import { useTempDir } from '@media-foundry/test-support';
import { createDownloadUrls } from './download-urls.js';
import { serveSignedFiles } from './file-route.js';
import { loadUws, type us_listen_socket } from './uws.js';

const uws = loadUws();
const dir = useTempDir('mf-file-route-');

/** A real uWS app serving /files/* over `storage`, with every stream its `get` opened. */
async function serve(storage: Storage, maxDownloads?: number) {
  const opened: Readable[] = [];
  const tracked: Storage = Object.assign(Object.create(storage) as Storage, {
    get: async (key: string, start?: number, end?: number) => {
      const stream = await storage.get(key, start, end);
      opened.push(stream);
      return stream;
    },
  });
  const urls = createDownloadUrls(tracked, () => base, 's'.repeat(40));
  const app = uws.App();
  serveSignedFiles(app, tracked, urls, createLogger('test', 'silent'), maxDownloads);
  const token = await new Promise<us_listen_socket>((resolve, reject) =>
    app.listen('127.0.0.1', 0, (t) => (t ? resolve(t) : reject(new Error('cannot listen')))),
  );
  const base = `http://127.0.0.1:${uws.us_socket_local_port(token)}`;
  return { urls, opened, close: () => uws.us_listen_socket_close(token) };
}

/** A GET on a connection of its own, closed after the answer (a kept-alive one would keep the test's uWS loop running). */
function fetchOnce(url: string): Promise<{ status: number; body: string; retryAfter?: string }> {
  return new Promise((resolve, reject) => {
    get(url, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      const retryAfter = res.headers['retry-after'];
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, ...(retryAfter ? { retryAfter } : {}) }));
      res.on('error', reject);
    }).on('error', reject);
  });
}

/** Whether `stream` closes (its file descriptor with it) within a second. */
async function closes(stream: Readable): Promise<boolean> {
  if (stream.closed) return true;
  const timeout = new Promise<false>((r) => setTimeout(() => r(false), 1000).unref());
  return Promise.race([once(stream, 'close').then(() => true), timeout]);
}

describe('GET /files/*', () => {
  it('closes the stream it opened for an empty file', async () => {
    const storage = new FsStorage(dir());
    const key = 'jobs/j1/output/empty.srt';
    await mkdir(join(dir(), 'jobs/j1/output'), { recursive: true });
    await writeFile(join(dir(), key), '');
    const { urls, opened, close } = await serve(storage);
    try {
      expect(await fetchOnce(await urls.urlFor(key, 'empty.srt', 60))).toEqual({ status: 200, body: '' });
      expect(opened).toHaveLength(1);
      expect(await closes(opened[0]!)).toBe(true);
    } finally {
      close();
    }
  });

  it('closes the stream it opened when the size could not be read, and answers 404', async () => {
    const storage = new FsStorage(dir());
    const key = 'jobs/j2/output/out.txt';
    await mkdir(join(dir(), 'jobs/j2/output'), { recursive: true });
    await writeFile(join(dir(), key), 'some bytes');
    const failingSize: Storage = Object.assign(Object.create(storage) as Storage, {
      size: () => new Promise<number>((_, reject) => setTimeout(() => reject(new Error('size unavailable')), 50)),
    });
    const { urls, opened, close } = await serve(failingSize);
    try {
      expect((await fetchOnce(await urls.urlFor(key, 'out.txt', 60))).status).toBe(404);
      expect(opened).toHaveLength(1);
      expect(await closes(opened[0]!)).toBe(true);
    } finally {
      close();
    }
  });

  it('sends a file whole and closes its stream', async () => {
    const storage = new FsStorage(dir());
    const key = 'jobs/j3/output/out.txt';
    await mkdir(join(dir(), 'jobs/j3/output'), { recursive: true });
    await writeFile(join(dir(), key), 'x'.repeat(100_000));
    const { urls, opened, close } = await serve(storage);
    try {
      expect((await fetchOnce(await urls.urlFor(key, 'out.txt', 60))).body).toHaveLength(100_000);
      expect(await closes(opened[0]!)).toBe(true);
    } finally {
      close();
    }
  });

  it('serves at most MAX_FILE_DOWNLOADS at once, answering more with 503 and Retry-After, and frees the slot when one ends', async () => {
    const storage = new FsStorage(dir());
    const key = 'jobs/j4/output/big.bin';
    await mkdir(join(dir(), 'jobs/j4/output'), { recursive: true });
    // more than the sockets' buffers hold: a downloader that stops reading keeps its download open
    await writeFile(join(dir(), key), Buffer.alloc(64 * 1024 * 1024, 1));
    const { urls, opened, close } = await serve(storage, 1);
    try {
      const url = await urls.urlFor(key, 'big.bin', 60);
      const stalled = get(url, { agent: false }, (res) => res.pause());
      await waitFor(() => opened.length === 1, 5000, 'the first download opened');
      expect(await fetchOnce(url)).toMatchObject({ status: 503, retryAfter: '1' });
      expect(opened).toHaveLength(1);
      // the stalled downloader goes away: its slot and its file are given back
      stalled.destroy();
      expect(await closes(opened[0]!)).toBe(true);
      let answer = { status: 0, body: '' };
      await waitFor(async () => (answer = await fetchOnce(url)).status === 200, 5000, 'a download admitted again');
      expect(answer.body).toHaveLength(64 * 1024 * 1024);
      // one slot, given back once: a second stalled download takes it, and the next is refused again
      const again = get(url, { agent: false }, (res) => res.pause());
      again.on('error', () => {});
      await waitFor(() => opened.length === 3, 5000, 'the second stalled download opened');
      expect((await fetchOnce(url)).status).toBe(503);
      again.destroy();
    } finally {
      close();
    }
  });

  // uWebSockets.js closes a response whose socket stayed full for about 10 s (its own timeout, armed when tryEnd
  // fails); the slot and the file rely on it (MAX_FILE_DOWNLOADS), so an upgrade that drops it fails here
  it('has a download whose client reads nothing closed by uWS within about 10 s, giving its slot and file back', async () => {
    const storage = new FsStorage(dir());
    const key = 'jobs/j5/output/big.bin';
    await mkdir(join(dir(), 'jobs/j5/output'), { recursive: true });
    await writeFile(join(dir(), key), Buffer.alloc(64 * 1024 * 1024, 1));
    await writeFile(join(dir(), 'jobs/j5/output/small.txt'), 'small');
    const { urls, opened, close } = await serve(storage, 1);
    try {
      // reads nothing, and never goes away itself
      const stalled = get(await urls.urlFor(key, 'big.bin', 60), { agent: false }, (res) => res.pause());
      stalled.on('error', () => {});
      await waitFor(() => opened.length === 1, 5000, 'the stalled download opened');
      await waitFor(() => opened[0]!.closed, 20_000, "the stalled download's file closed by the gateway");
      expect(await fetchOnce(await urls.urlFor('jobs/j5/output/small.txt', 'small.txt', 60))).toMatchObject({ status: 200, body: 'small' });
      stalled.destroy();
    } finally {
      close();
    }
  }, 30_000);
});
