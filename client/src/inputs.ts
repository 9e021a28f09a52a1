/**
 * What a caller may give as a job's input, and the upload sources the
 * platforms (Node, browser) make of it. Browser-safe: Node's paths and
 * streams are handled in node.ts.
 */
import { MAX_FILE_NAME_BYTES } from '@media-foundry/shared';
import { ClientErrorCode, MediaFoundryError } from './errors.js';

/** The minimum of a Node `Readable` the client uses (kept structural so this file needs no Node types). */
export interface ReadableLike extends AsyncIterable<Uint8Array | string> {
  readonly readable: boolean;
  pipe: unknown;
}

/** Bytes with a name: for data already in memory or produced by an async generator. */
export interface NamedData {
  data: Uint8Array | Blob | AsyncIterable<Uint8Array>;
  filename: string;
  /** Total bytes, when known: the server refuses an oversized upload at once. */
  size?: number;
}

/**
 * One file to upload: a path (Node), a Node Readable stream, a Blob or File
 * (browser, and Node 20), or `{data, filename}`.
 */
export type FileInput = string | ReadableLike | Blob | NamedData;

/** A job's input: one or several files to upload, or one or several URLs the worker fetches. */
export type JobInputSpec = { file: FileInput } | { files: FileInput[] } | { url: string | URL } | { urls: (string | URL)[] };

/** A file ready to upload, read from the start each time `chunks` is called (when `restartable`). */
export interface UploadSource {
  filename: string;
  size: number | undefined;
  /** Whether `chunks` may be called again after a dropped connection (a path or a Blob: yes; a stream: no). */
  restartable: boolean;
  chunks(chunkBytes: number): AsyncIterable<Uint8Array>;
}

/** Turns a FileInput into an UploadSource; each platform adds what it can read. */
export type SourceOpener = (input: FileInput, index: number) => Promise<UploadSource>;

export function isBlob(value: unknown): value is Blob {
  return typeof Blob !== 'undefined' && value instanceof Blob;
}

function isNamedData(value: unknown): value is NamedData {
  return typeof value === 'object' && value !== null && 'data' in value && 'filename' in value;
}

/** Re-cuts any stream of byte pieces into chunks of exactly `chunkBytes` (the last one shorter). */
export async function* rechunk(pieces: AsyncIterable<Uint8Array | string>, chunkBytes: number): AsyncGenerator<Uint8Array> {
  let buffer = new Uint8Array(chunkBytes);
  let filled = 0;
  const encoder = new TextEncoder();
  for await (const raw of pieces) {
    let piece = typeof raw === 'string' ? encoder.encode(raw) : raw;
    while (piece.length > 0) {
      const take = Math.min(piece.length, chunkBytes - filled);
      buffer.set(piece.subarray(0, take), filled);
      filled += take;
      piece = piece.subarray(take);
      if (filled === chunkBytes) {
        yield buffer;
        buffer = new Uint8Array(chunkBytes);
        filled = 0;
      }
    }
  }
  if (filled > 0) yield buffer.subarray(0, filled);
}

function blobSource(blob: Blob, filename: string): UploadSource {
  return {
    filename,
    size: blob.size,
    restartable: true,
    async *chunks(chunkBytes: number) {
      for (let offset = 0; offset < blob.size; offset += chunkBytes)
        yield new Uint8Array(await blob.slice(offset, offset + chunkBytes).arrayBuffer());
    },
  };
}

/** Sources any platform can read: Blobs, Files and `{data, filename}`. */
export async function openPortableSource(input: FileInput, index: number): Promise<UploadSource> {
  if (isBlob(input)) {
    const name = typeof (input as File).name === 'string' && (input as File).name ? (input as File).name : `input-${index + 1}`;
    return blobSource(input, safeFileName(name, index));
  }
  if (isNamedData(input)) {
    const filename = safeFileName(input.filename, index);
    const { data } = input;
    if (isBlob(data)) return blobSource(data, filename);
    if (data instanceof Uint8Array)
      return {
        filename,
        size: data.length,
        restartable: true,
        async *chunks(chunkBytes: number) {
          for (let offset = 0; offset < data.length; offset += chunkBytes) yield data.subarray(offset, offset + chunkBytes);
        },
      };
    let used = false;
    return {
      filename,
      size: input.size,
      restartable: false,
      chunks(chunkBytes: number) {
        if (used) throw new MediaFoundryError(ClientErrorCode.INPUT_ERROR, 'A stream input can be read only once');
        used = true;
        return rechunk(data, chunkBytes);
      },
    };
  }
  throw new MediaFoundryError(ClientErrorCode.INPUT_ERROR, 'Unsupported input on this platform', {
    details:
      typeof input === 'string'
        ? `a path (${input}) can only be read in Node`
        : `input #${index + 1} is not a Blob, File or {data, filename}`,
  });
}

const encoder = new TextEncoder();

/**
 * A name the server takes (see `fileName` in shared/protocol.ts): no path,
 * no control characters, at most MAX_FILE_NAME_BYTES, shortened from the
 * front so the extension (which tells ffmpeg the container) is kept.
 */
export function safeFileName(name: string, index: number): string {
  let clean = name
    .replace(/^.*[/\\]/, '')
    .replace(/[\u0000-\u001f\u007f]/g, '_')
    .replace(/\p{Cs}/gu, '_');
  if (clean === '' || clean === '.' || clean === '..') clean = `input-${index + 1}`;
  while (encoder.encode(clean).length > MAX_FILE_NAME_BYTES) clean = clean.slice(1);
  return clean;
}

/** Makes names distinct (the server needs distinct names for several uploads): `a.mp4`, `2-a.mp4`. */
export function distinctNames(names: string[]): string[] {
  const seen = new Set<string>();
  return names.map((name, i) => {
    let candidate = name;
    if (seen.has(candidate)) candidate = safeFileName(`${i + 1}-${name}`, i);
    seen.add(candidate);
    return candidate;
  });
}
