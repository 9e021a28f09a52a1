import crypto from 'node:crypto';
import { mkdtemp, rm, rmdir, unlink } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import S3rver from 's3rver';
import FilesystemStore, { type FilesystemStoreInternals } from 's3rver/lib/stores/filesystem.js';
import { S3Storage, type S3StorageOptions } from '@media-foundry/shared/node';

/** One request the services sent to S3, as the recording proxy saw it. */
export interface RecordedRequest {
  method: string;
  /** Path and query. */
  url: string;
  /** The Content-Length header, when there was one. */
  contentLength: number | null;
  /** Bytes of body that actually arrived. */
  bodyBytes: number;
  /** The Range header (a ranged GetObject), when there was one. */
  range: string | null;
  /** The keys a DeleteObjects named; null for any other request. */
  deleteKeys: string[] | null;
}

/** An S3-compatible server (s3rver) on a free loopback port, with one bucket, behind a recording proxy. */
export interface TestS3 {
  endpoint: string;
  /**
   * `METHOD path?query` of every request the services sent (through the
   * proxy): s3rver implements neither ListMultipartUploads nor
   * AbortMultipartUpload, so tests check that an abort was requested rather
   * than that the upload is gone.
   */
  requests: string[];
  /** The same requests with their sizes (S3's multipart rules are checked on these). */
  recorded: RecordedRequest[];
  bucket: string;
  env: Record<string, string>;
  /** The store goes away: s3rver and the proxy stop, and the port refuses connections. */
  stop(): Promise<void>;
  /** …and comes back on the same port, with the same objects. */
  start(): Promise<void>;
  /** The store accepts connections and reads requests, but never answers (true), or answers again (false). */
  blackhole(on: boolean): void;
  /** The next `count` DeleteObjects are answered as a throttled S3 does: 200, every key refused with SlowDown, none deleted. */
  throttleDeletes(count: number): void;
  /** While on, every DeleteObjects fails as a whole: HTTP 503 ServiceUnavailable (the rest of the store works). */
  failDeletes(on: boolean): void;
  /** The next GetObject of a whole object whose path contains `part` sends half its body, then resets the connection. */
  cutNextWholeGet(part: string): void;
  close(): Promise<void>;
}

/** STORAGE_DRIVER=s3 and the S3_* variables the services need for an s3rver at `endpoint`. */
function s3rverEnv(endpoint: string, bucket: string): Record<string, string> {
  return {
    STORAGE_DRIVER: 's3',
    S3_ENDPOINT: endpoint,
    S3_BUCKET: bucket,
    S3_REGION: 'us-east-1',
    // s3rver's fixed credentials
    S3_ACCESS_KEY_ID: 'S3RVER',
    S3_SECRET_ACCESS_KEY: 'S3RVER',
    S3_FORCE_PATH_STYLE: 'true',
  };
}

/**
 * s3rver 3.7.1 deletes a DeleteObjects' keys side by side, and each delete
 * then removes the folders it emptied: two keys of one folder race on
 * `readdir`/`rmdir`, and the loser answers the whole request 500
 * InternalError. Every finished job's delete (several keys of one folder)
 * then went out twice: the SDK's retry, after its back-off, found the keys
 * gone. No S3 answers so; a folder another delete removed or refilled is
 * left to that delete here.
 */
function mendS3rverFolderCleanUp(): void {
  const store = FilesystemStore.prototype as FilesystemStoreInternals & { mended?: boolean };
  if (store.mended) return;
  store.mended = true;
  store.deleteObject = async function deleteObject(this: FilesystemStoreInternals, bucket: string, key: string): Promise<void> {
    await Promise.all(
      (['object', 'object.md5', 'metadata.json'] as const).map((type) =>
        unlink(this.getResourcePath(bucket, key, type)).catch((err: NodeJS.ErrnoException) => {
          if (err.code !== 'ENOENT') throw err;
        }),
      ),
    );
    const bucketPath = this.getBucketPath(bucket);
    for (let folder = dirname(this.getResourcePath(bucket, key, 'object')); folder.startsWith(`${bucketPath}/`); folder = dirname(folder)) {
      try {
        await rmdir(folder);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'ENOENT') return;
        throw err;
      }
    }
  };
}
mendS3rverFolderCleanUp();

/**
 * s3rver makes its ListObjectsV2 continuation tokens with single DES, which
 * OpenSSL 3 refuses: every listing longer than one page (1,000 keys) was
 * answered 500. DES is 3DES with one key used thrice, which OpenSSL still
 * has, so the tokens come out as s3rver meant them. Nothing else here uses DES.
 */
function mendS3rverContinuationTokens(): void {
  type Make = (algorithm: string, key: Buffer, iv: Buffer | null) => unknown;
  const api = crypto as unknown as { createCipheriv: Make; createDecipheriv: Make; mendedDes?: boolean };
  if (api.mendedDes) return;
  api.mendedDes = true;
  for (const name of ['createCipheriv', 'createDecipheriv'] as const) {
    const original = api[name];
    api[name] = (algorithm, key, iv) =>
      algorithm === 'des' ? original('des-ede3-cbc', Buffer.concat([key, key, key]), iv) : original(algorithm, key, iv);
  }
}
mendS3rverContinuationTokens();

/**
 * s3rver alone, without the fault-injecting proxy of `startTestS3` in front:
 * the benchmarks' store, whose CPU then is the store's own, as a service's S3
 * would be (the proxy's second HTTP hop is a test tool, not part of the service).
 */
export async function startBareS3(bucket = 'media-test'): Promise<Pick<TestS3, 'endpoint' | 'bucket' | 'env' | 'close'>> {
  const directory = await mkdtemp(join(tmpdir(), 's3rver-'));
  const backend = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, configureBuckets: [{ name: bucket }] });
  const { port } = await backend.run();
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    bucket,
    env: s3rverEnv(endpoint, bucket),
    close: async () => {
      await backend.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

export async function startTestS3(bucket = 'media-test'): Promise<TestS3> {
  const directory = await mkdtemp(join(tmpdir(), 's3rver-'));
  let backendPort = 0;
  let backend: S3rver | null = null;
  const runBackend = async () => {
    backend = new S3rver({ address: '127.0.0.1', port: backendPort, silent: true, directory, configureBuckets: [{ name: bucket }] });
    backendPort = (await backend.run()).port;
  };
  await runBackend();
  const requests: string[] = [];
  const recorded: RecordedRequest[] = [];
  let holding = false;
  let throttledDeletes = 0;
  let failingDeletes = false;
  const cutGets: string[] = [];
  const held = new Set<Socket>();
  const sockets = new Set<Socket>();
  const makeProxy = (): Server => {
    const proxy = createServer((req, res) => {
      requests.push(`${req.method} ${req.url}`);
      const length = req.headers['content-length'];
      const entry: RecordedRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        contentLength: length === undefined ? null : Number(length),
        bodyBytes: 0,
        range: req.headers.range ?? null,
        deleteKeys: null,
      };
      recorded.push(entry);
      req.on('data', (chunk: Buffer) => (entry.bodyBytes += chunk.length));
      if (holding) {
        // read the request, never answer: a store that hangs
        held.add(req.socket);
        req.resume();
        return;
      }
      const cutAt = req.method === 'GET' && !req.headers.range ? cutGets.findIndex((part) => req.url?.includes(part)) : -1;
      if (cutAt >= 0) cutGets.splice(cutAt, 1);
      const forward = (body?: Buffer) => {
        const upstream = request(
          { host: '127.0.0.1', port: backendPort, method: req.method, path: req.url, headers: req.headers },
          (up) => {
            res.writeHead(up.statusCode ?? 502, up.headers);
            if (cutAt < 0) {
              up.pipe(res);
              return;
            }
            // half the body, then a reset: a store that drops the connection mid-read
            const half = Math.floor(Number(up.headers['content-length']) / 2);
            let sent = 0;
            up.on('data', (chunk: Buffer) => {
              if (sent >= half) return;
              const part = chunk.subarray(0, half - sent);
              sent += part.length;
              if (sent < half) res.write(part);
              else
                res.write(part, () => {
                  up.destroy();
                  setTimeout(() => res.socket?.resetAndDestroy(), 50);
                });
            });
          },
        );
        upstream.on('error', () => res.destroy());
        if (body) upstream.end(body);
        else req.pipe(upstream);
      };
      if (req.method !== 'POST' || !/[?&]delete(=|&|$)/.test(req.url ?? '')) {
        forward();
        return;
      }
      // a DeleteObjects: read which keys it names, and refuse them all while throttling
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        entry.deleteKeys = [...body.toString('utf8').matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => m[1]!);
        if (failingDeletes) {
          res.writeHead(503, { 'content-type': 'application/xml' });
          res.end(
            '<?xml version="1.0" encoding="UTF-8"?><Error><Code>ServiceUnavailable</Code><Message>Please reduce your request rate.</Message></Error>',
          );
          return;
        }
        if (throttledDeletes === 0) {
          forward(body);
          return;
        }
        throttledDeletes -= 1;
        const errors = entry.deleteKeys.map(
          (key) => `<Error><Key>${key}</Key><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>`,
        );
        res.writeHead(200, { 'content-type': 'application/xml' });
        res.end(
          `<?xml version="1.0" encoding="UTF-8"?><DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${errors.join('')}</DeleteResult>`,
        );
      });
    });
    proxy.on('connection', (s: Socket) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    return proxy;
  };
  let proxy = makeProxy();
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const proxyPort = (proxy.address() as AddressInfo).port;
  const endpoint = `http://127.0.0.1:${proxyPort}`;
  const stopProxy = async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => proxy.close(resolve));
  };
  return {
    endpoint,
    requests,
    recorded,
    bucket,
    env: s3rverEnv(endpoint, bucket),
    stop: async () => {
      await stopProxy();
      await backend?.close();
      backend = null;
    },
    start: async () => {
      await runBackend();
      proxy = makeProxy();
      await new Promise<void>((resolve) => proxy.listen(proxyPort, '127.0.0.1', resolve));
    },
    blackhole: (on) => {
      holding = on;
      if (!on) for (const s of held) s.destroy();
      if (!on) held.clear();
    },
    throttleDeletes: (count) => {
      throttledDeletes = count;
    },
    cutNextWholeGet: (part) => {
      cutGets.push(part);
    },
    failDeletes: (on) => {
      failingDeletes = on;
    },
    close: async () => {
      holding = false;
      await stopProxy().catch(() => {});
      await backend?.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/** The services' S3 driver on the test store (or the bench's s3rver), for reading what they left in it; `options` add to its settings. */
export function testS3Storage(s3: Pick<TestS3, 'bucket' | 'endpoint'>, options: Partial<S3StorageOptions> = {}): S3Storage {
  return new S3Storage({
    bucket: s3.bucket,
    region: 'us-east-1',
    endpoint: s3.endpoint,
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    forcePathStyle: true,
    ...options,
  });
}
