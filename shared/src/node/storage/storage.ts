import type { Readable } from 'node:stream';

/** One stored object, as listings report it. */
export interface StoredObject {
  key: string;
  size: number;
  lastModified: Date;
}

/**
 * Where staged inputs and job outputs live between gateway and worker. Keys
 * are `/`-separated relative paths (see `storageKeys`). Two drivers: `fs`
 * (one machine) and `s3` (any S3-compatible server).
 */
export interface Storage {
  readonly driver: 'fs' | 's3';
  /** Stores a stream or bytes under `key`, replacing any object there. */
  put(key: string, body: Readable | Uint8Array, contentType?: string): Promise<void>;
  /** Stores a local file under `key`. */
  putFile(key: string, path: string, contentType?: string): Promise<void>;
  /** Opens the object for reading; rejects if it does not exist. */
  get(key: string): Promise<Readable>;
  /** Copies the object to a local file. */
  getFile(key: string, path: string): Promise<void>;
  /** Byte size of the object; rejects if it does not exist. */
  size(key: string): Promise<number>;
  /** Whether the object exists. */
  exists(key: string): Promise<boolean>;
  /** Removes one object; no error if it is already gone. */
  delete(key: string): Promise<void>;
  /** Removes every object whose key starts with `prefix`. */
  deletePrefix(prefix: string): Promise<void>;
  /** Every object under `prefix`. */
  list(prefix: string): Promise<StoredObject[]>;
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
    throw new Error(`unsafe storage key ${JSON.stringify(key)}`);
}
