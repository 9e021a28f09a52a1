import type { Readable } from 'node:stream';
import type { FailureKind } from '../../errors.js';

/** Objects in one page of a listing (`listPages`): S3's own largest, 1,000 keys per ListObjectsV2. */
export const LIST_PAGE_SIZE = 1000;

/** One stored object, as listings report it. */
export interface StoredObject {
  key: string;
  size: number;
  lastModified: Date;
}

/**
 * A storage operation that failed, classified where it failed: `notFound`
 * for a missing object; `kind` says whether trying again later may help
 * (an unreachable or overloaded store is `transient`).
 */
export class StorageError extends Error {
  readonly kind: FailureKind;
  readonly notFound: boolean;

  constructor(message: string, options: { kind: FailureKind; notFound?: boolean; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'StorageError';
    this.kind = options.kind;
    this.notFound = options.notFound ?? false;
  }
}

/** Whether `err` says the object does not exist. */
export function isNotFound(err: unknown): boolean {
  return err instanceof StorageError && err.notFound;
}

export interface PutOptions {
  contentType?: string | undefined;
  /** The largest the body may become, bytes (sizes multipart parts for streams of unknown length). */
  maxBytes?: number | undefined;
}

/**
 * Where staged inputs and job outputs live between gateway and worker. Keys
 * are `/`-separated relative paths (see `storageKeys`). Two drivers: `fs`
 * (one machine) and `s3` (any S3-compatible server). Failures are
 * StorageErrors. A driver retries a request only briefly (a blip of a second
 * or so); longer outages are the caller's to retry, step by step and where
 * the client can be told (retryTransient) — except a streamed `put`, which
 * cannot be replayed and so is retried by the driver for the whole budget.
 */
export interface Storage {
  readonly driver: 'fs' | 's3';
  /** Stores a stream or bytes under `key`, replacing any object there (a stream is retried by the driver: it cannot be replayed). */
  put(key: string, body: Readable | Uint8Array, options?: PutOptions): Promise<void>;
  /**
   * Bytes a streamed `put` of at most `maxBytes` holds in memory at once
   * beyond the stream's own buffer (S3: the multipart parts being filled and
   * sent), for callers that budget memory.
   */
  streamedPutBytes(maxBytes: number): number;
  /** Stores a local file under `key`. */
  putFile(key: string, path: string, contentType?: string): Promise<void>;
  /** Opens the object for reading, from byte `start` (default 0) to byte `end` (included; default: the last); rejects if it does not exist. */
  get(key: string, start?: number, end?: number): Promise<Readable>;
  /** Copies the object to a local file. */
  getFile(key: string, path: string): Promise<void>;
  /** Byte size of the object; rejects if it does not exist. */
  size(key: string): Promise<number>;
  /** Whether the object exists. */
  exists(key: string): Promise<boolean>;
  /** Removes one object; no error if it is already gone. */
  delete(key: string): Promise<void>;
  /** Removes every object whose key starts with `prefix` (S3: a listing, then the deletes). */
  deletePrefix(prefix: string): Promise<void>;
  /**
   * Removes the folder `prefix` (a key prefix ending in `/`). `known` names
   * the objects in it the caller knows of: a store where listing costs (S3:
   * the priciest request) deletes those by name without listing, so an object
   * it does not name may stay (for a sweeper); one where listing is free (fs)
   * removes the whole folder. Names outside the folder are ignored. S3
   * gathers the names of calls made within half a second into one request
   * (retrying keys it refused for a reason that passes): the promise settles
   * when that request has.
   */
  deleteFolder(prefix: string, known: readonly string[]): Promise<void>;
  /**
   * Sends deletes still gathering (`deleteFolder`) and waits for them and
   * their retries: before the process exits. One asked for after it returned
   * waits for its own batch, which an exiting process leaves to the sweeper.
   */
  flush(): Promise<void>;
  /**
   * Every object under `prefix`, all at once: for small folders (a job's, the tenant index). A prefix names a
   * folder (`jobs/`, `jobs/<id>/`): S3 would also list keys that merely start with it, the fs driver walks
   * that folder only (a key that is a file lists nothing there).
   */
  list(prefix: string): Promise<StoredObject[]>;
  /**
   * Every object under `prefix`, a page (at most LIST_PAGE_SIZE) at a time:
   * a caller going through the whole store (the sweeper) holds one page, not
   * the store. The objects of one folder come one after another, across pages
   * too (S3 lists in key order; fs walks one folder at a time). Objects
   * removed or added while it lists may or may not be seen.
   */
  listPages(prefix: string): AsyncIterable<StoredObject[]>;
  /** A URL that downloads the object as `filename` for `ttlSeconds`, where the store can make one itself (S3). */
  presign?(key: string, ttlSeconds: number, filename: string): Promise<string>;
  /**
   * Removes writes under `prefix` that were started before `before` and never
   * completed (a process killed mid-upload: S3 multipart uploads, the fs
   * driver's `.partial` files). Returns how many.
   */
  sweepIncomplete(prefix: string, before: Date): Promise<number>;
  /** Rejects when the store is unreachable (readiness). */
  check(): Promise<void>;
}

/** Refuses keys that could escape the store's root (the fs driver maps keys to paths). */
export function assertSafeKey(key: string): void {
  if (
    key.length === 0 ||
    key.startsWith('/') ||
    key.split('/').some((part) => part === '..' || part === '.' || part === '') ||
    key.includes('\0')
  )
    throw new StorageError(`unsafe storage key ${JSON.stringify(key)}`, { kind: 'internal' });
}

/** Reads a small JSON object (records, states, results); null when it does not exist. */
export async function readJson(storage: Storage, key: string): Promise<unknown> {
  let stream: Readable;
  try {
    stream = await storage.get(key);
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
  const text = Buffer.concat(await stream.toArray()).toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    throw new StorageError(`${key} is not valid JSON`, { kind: 'internal' });
  }
}

/** Stores a small JSON object. */
export async function writeJson(storage: Storage, key: string, value: unknown): Promise<void> {
  await storage.put(key, Buffer.from(JSON.stringify(value)), { contentType: 'application/json' });
}
