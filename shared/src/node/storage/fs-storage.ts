import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileClosed } from '../file-closed.js';
import { assertSafeKey, type Storage, StorageError, type StoredObject } from './storage.js';

/** Errors a local disk may get over (space freed, descriptors closed); the rest are not worth retrying. */
const TRANSIENT_FS_CODES = new Set(['ENOSPC', 'EMFILE', 'ENFILE', 'EIO', 'EAGAIN', 'EBUSY']);

/** A filesystem error as a StorageError. */
function fsError(op: string, key: string, err: unknown): StorageError {
  if (err instanceof StorageError) return err;
  const code = (err as NodeJS.ErrnoException).code ?? '';
  const message = `storage (fs) ${op} ${key}: ${(err as Error).message}`;
  if (code === 'ENOENT') return new StorageError(message, { kind: 'terminal', notFound: true, cause: err });
  return new StorageError(message, { kind: TRANSIENT_FS_CODES.has(code) ? 'transient' : 'internal', cause: err });
}

/** Objects as files under one directory, shared by gateway and worker on one machine. */
export class FsStorage implements Storage {
  readonly driver = 'fs' as const;

  constructor(private readonly root: string) {}

  private path(key: string): string {
    assertSafeKey(key);
    return join(this.root, ...key.split('/'));
  }

  private async run<T>(op: string, key: string, action: () => Promise<T>): Promise<T> {
    try {
      return await action();
    } catch (err) {
      throw fsError(op, key, err);
    }
  }

  /** Writes beside the target and renames, so readers never see half a file. */
  private async writeAtomically(key: string, write: (tmp: string) => Promise<void>): Promise<void> {
    const target = this.path(key);
    await mkdir(dirname(target), { recursive: true });
    const tmp = `${target}.${randomUUID()}.partial`;
    try {
      await write(tmp);
      await rename(tmp, target);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  /** A file is written as the stream comes: nothing beyond the stream's buffer. */
  streamedPutBytes(): number {
    return 0;
  }

  /** `options` size multipart parts: nothing to do on a disk. */
  put(key: string, body: Readable | Uint8Array): Promise<void> {
    const source = body instanceof Readable ? body : Readable.from([body]);
    return this.run('put', key, () =>
      this.writeAtomically(key, async (tmp) => {
        const file = createWriteStream(tmp);
        try {
          await pipeline(source, file);
        } finally {
          // a source that fails early fails the pipeline before the file is even open: removing it then would race the open
          await fileClosed(file);
        }
      }),
    );
  }

  putFile(key: string, path: string): Promise<void> {
    return this.run('put', key, () => this.writeAtomically(key, (tmp) => copyFile(path, tmp)));
  }

  get(key: string, start = 0, end?: number): Promise<Readable> {
    return this.run('get', key, async () => {
      const path = this.path(key);
      await stat(path); // reject now, not on first read, when the object is missing
      return createReadStream(path, { start, ...(end === undefined ? {} : { end }) });
    });
  }

  getFile(key: string, path: string): Promise<void> {
    return this.run('get', key, () => copyFile(this.path(key), path));
  }

  size(key: string): Promise<number> {
    return this.run('size', key, async () => (await stat(this.path(key))).size);
  }

  async exists(key: string): Promise<boolean> {
    const path = this.path(key);
    return stat(path).then(
      () => true,
      (err: unknown) => {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
        throw fsError('exists', key, err);
      },
    );
  }

  delete(key: string): Promise<void> {
    return this.run('delete', key, () => rm(this.path(key), { force: true }));
  }

  /** Listing is free here: the whole folder goes, stray `.partial` files of a killed writer with it. */
  deleteFolder(prefix: string): Promise<void> {
    return this.deletePrefix(prefix);
  }

  /** Nothing gathers: every delete is done when its call settles. */
  flush(): Promise<void> {
    return Promise.resolve();
  }

  deletePrefix(prefix: string): Promise<void> {
    const trimmed = prefix.replace(/\/+$/, '');
    return this.run('delete', prefix, () => rm(this.path(trimmed), { recursive: true, force: true }));
  }

  list(prefix: string): Promise<StoredObject[]> {
    return this.run('list', prefix, async () => {
      const trimmed = prefix.replace(/\/+$/, '');
      const base = trimmed ? this.path(trimmed) : this.root;
      let entries;
      try {
        entries = await readdir(base, { recursive: true, withFileTypes: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw err;
      }
      const objects: StoredObject[] = [];
      for (const entry of entries) {
        if (!entry.isFile() || entry.name.endsWith('.partial')) continue;
        const full = join(entry.parentPath, entry.name);
        const info = await stat(full).catch(() => null);
        if (info) objects.push({ key: relative(this.root, full).split(sep).join('/'), size: info.size, lastModified: info.mtime });
      }
      return objects;
    });
  }

  sweepIncomplete(prefix: string, before: Date): Promise<number> {
    return this.run('sweep', prefix, async () => {
      const trimmed = prefix.replace(/\/+$/, '');
      const base = trimmed ? this.path(trimmed) : this.root;
      const entries = await readdir(base, { recursive: true, withFileTypes: true }).catch(() => []);
      let removed = 0;
      for (const entry of entries) {
        if (!entry.isFile() || !entry.name.endsWith('.partial')) continue;
        const full = join(entry.parentPath, entry.name);
        const info = await stat(full).catch(() => null);
        if (!info || info.mtime >= before) continue;
        await rm(full, { force: true });
        removed += 1;
      }
      return removed;
    });
  }

  check(): Promise<void> {
    return this.run('check', '.', () => mkdir(this.root, { recursive: true }).then(() => undefined));
  }
}
