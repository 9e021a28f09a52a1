/**
 * @media-foundry/client for Node 20: the `ws` WebSocket (with an
 * Authorization header), paths and Readable streams as inputs, outputs
 * streamed to disk.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { MiB, outputFileName } from '@media-foundry/shared';
import WebSocket from 'ws';
import { MediaFoundryClient } from './client.js';
import { ClientErrorCode, MediaFoundryError } from './errors.js';
import { type FileInput, openPortableSource, rechunk, safeFileName, type UploadSource } from './inputs.js';
import type { FileSaver, FileSink } from './job.js';
import type { SocketOpener } from './socket.js';

/** Frames up to this size are taken (outputs over 16 MiB come in 1 MiB chunks; a whole frame is at most 16 MiB and its header). */
const MAX_FRAME_BYTES = 64 * MiB;

const openNodeSocket: SocketOpener = (url, apiKey, handlers) =>
  new Promise((resolve, reject) => {
    const ws = new WebSocket(url, {
      maxPayload: MAX_FRAME_BYTES,
      headers: apiKey ? { authorization: `Bearer ${apiKey}` } : {},
    });
    let open = false;
    const failed = (details: string, cause?: unknown) =>
      reject(new MediaFoundryError(ClientErrorCode.CONNECTION_FAILED, 'Cannot connect', { details, cause }));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => failed(`${url} answered HTTP ${res.statusCode ?? '?'}${body ? `: ${body}` : ''}`));
      res.on('error', () => failed(`${url} answered HTTP ${res.statusCode ?? '?'}`));
    });
    ws.on('error', (err) => {
      if (!open) failed(`${url}: ${err.message}`, err);
    });
    ws.once('open', () => {
      open = true;
      resolve({
        send: (data) => ws.send(data, { binary: typeof data !== 'string' }),
        close: (code, reason) => ws.close(code, reason),
        pause: () => ws.pause(),
        resume: () => ws.resume(),
      });
    });
    ws.on('message', (data: Buffer, isBinary: boolean) =>
      handlers.message(isBinary ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : data.toString('utf8')),
    );
    ws.on('close', (code, reason) => {
      if (open) handlers.close(code, reason.toString('utf8'));
    });
  });

function isReadable(value: unknown): value is Readable {
  return (
    value instanceof Readable ||
    (typeof value === 'object' && value !== null && typeof (value as Readable).pipe === 'function' && Symbol.asyncIterator in value)
  );
}

async function openNodeSource(input: FileInput, index: number): Promise<UploadSource> {
  if (typeof input === 'string') {
    let size: number;
    try {
      const info = await stat(input);
      if (!info.isFile()) throw new Error('not a regular file');
      size = info.size;
    } catch (err) {
      throw new MediaFoundryError(ClientErrorCode.INPUT_ERROR, 'An input could not be read', {
        details: `${input}: ${(err as Error).message}`,
        cause: err,
      });
    }
    return {
      filename: safeFileName(basename(input), index),
      size,
      restartable: true,
      chunks: (chunkBytes) => rechunk(createReadStream(input, { highWaterMark: chunkBytes }), chunkBytes),
    };
  }
  if (isReadable(input)) {
    const path = (input as Readable & { path?: unknown }).path;
    let used = false;
    return {
      filename: safeFileName(typeof path === 'string' ? basename(path) : `input-${index + 1}`, index),
      size: undefined,
      restartable: false,
      chunks(chunkBytes) {
        if (used) throw new MediaFoundryError(ClientErrorCode.INPUT_ERROR, 'A stream input can be read only once');
        used = true;
        return rechunk(input as AsyncIterable<Uint8Array>, chunkBytes);
      },
    };
  }
  return openPortableSource(input, index);
}

/**
 * Where an output goes under `dir`: its name may be a relative path (an
 * `hls` ladder's `720p/seg_003.ts`), whose folders are made. A name the
 * server's own schema would refuse (`..`, absolute) is refused here too, so
 * no answer can write outside `dir`.
 */
async function outputPath(dir: string, filename: string): Promise<string> {
  if (!outputFileName.safeParse(filename).success)
    throw new MediaFoundryError(ClientErrorCode.OUTPUT_ERROR, 'An output has a name that cannot be saved', { details: filename });
  const path = join(dir, filename);
  await mkdir(dirname(path), { recursive: true });
  return path;
}

class DiskSink implements FileSink {
  private constructor(
    readonly path: string,
    private readonly stream: Writable,
  ) {}

  static async open(dir: string, filename: string): Promise<DiskSink> {
    const path = await outputPath(dir, filename);
    const stream = createWriteStream(path);
    await new Promise<void>((resolve, reject) => {
      stream.once('open', () => resolve());
      stream.once('error', reject);
    });
    return new DiskSink(path, stream);
  }

  write(chunk: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => this.stream.write(chunk, (err) => (err ? reject(err) : resolve())));
  }

  close(): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.stream.closed) return resolve();
      this.stream.end((err?: Error | null) => (err ? reject(err) : resolve()));
    });
  }

  async abort(): Promise<void> {
    this.stream.destroy();
    await rm(this.path, { force: true });
  }
}

const nodeSaver: FileSaver = {
  openSink: (dir, filename) => DiskSink.open(dir, filename),
  async writeFile(dir, filename, data) {
    const path = await outputPath(dir, filename);
    await writeFile(path, data);
    return path;
  },
  async download(url, dir, filename) {
    const response = await fetch(url);
    if (!response.ok || !response.body)
      throw new MediaFoundryError(ClientErrorCode.OUTPUT_ERROR, 'An output could not be downloaded', {
        details: `${url} answered HTTP ${response.status}`,
      });
    const path = await outputPath(dir, filename);
    await pipeline(Readable.fromWeb(response.body as never), createWriteStream(path));
    return path;
  },
  async copyFile(from, dir, filename) {
    const path = await outputPath(dir, filename);
    await copyFile(from, path);
    return path;
  },
};

/** The media-foundry client (Node): `await MediaFoundry.connect(url, options)`. */
export const MediaFoundry = MediaFoundryClient.on({ openSocket: openNodeSocket, openSource: openNodeSource, saver: nodeSaver });
/** A client connected by `MediaFoundry.connect`. */
export type MediaFoundry = MediaFoundryClient;

export * from './exports.js';
