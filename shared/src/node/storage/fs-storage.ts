import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, mkdir, opendir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileClosed } from '../file-closed.js';
import { assertSafeKey, LIST_PAGE_SIZE, type Storage, StorageError, type StoredObject } from './storage.js';

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

/**
 * The files under `dir`, depth first: a folder's files all come before the
 * next folder's, and only the open folders' entries are held (opendir reads
 * a folder in batches), however many files there are. A folder removed
 * meanwhile (the sweeper deleting a job it passed) is skipped.
 */
async function* walkFiles(dir: string): AsyncGenerator<string> {
  const gone = (err: unknown) => ['ENOENT', 'ENOTDIR'].includes((err as NodeJS.ErrnoException).code ?? '');
  let folder;
  try {
    folder = await opendir(dir);
  } catch (err) {
    if (gone(err)) return;
    throw err;
  }
  const entries = folder[Symbol.asyncIterator]();
  try {
    for (;;) {
      let next;
      try {
        next = await entries.next();
      } catch (err) {
        // removed while open: Linux answers the next read of it with ENOENT
        if (gone(err)) return;
        throw err;
      }
      if (next.done) return;
      const full = join(dir, next.value.name);
      if (next.value.isDirectory()) yield* walkFiles(full);
      else if (next.value.isFile()) yield full;
    }
  } finally {
    await entries.return?.(); // closes the folder, also when the caller stops early
  }
}

/** Objects as files under one directory, shared by gateway and worker on one machine. */
export class FsStorage implements Storage {
  readonly driver = 'fs' as const;
  private readonly listPageSize: number;

  constructor(
    private readonly root: string,
    /** `listPageSize`: objects per `listPages` page (default LIST_PAGE_SIZE); smaller in tests. */
    options: { listPageSize?: number } = {},
  ) {
    this.listPageSize = options.listPageSize ?? LIST_PAGE_SIZE;
  }

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

  async list(prefix: string): Promise<StoredObject[]> {
    const objects: StoredObject[] = [];
    for await (const page of this.listPages(prefix)) objects.push(...page);
    return objects;
  }

  /** One folder at a time, depth first (walkFiles); a writer's `.partial` files are not objects. */
  async *listPages(prefix: string): AsyncGenerator<StoredObject[]> {
    let page: StoredObject[] = [];
    try {
      for await (const full of walkFiles(this.folder(prefix))) {
        if (full.endsWith('.partial')) continue;
        const info = await stat(full).catch(() => null);
        if (!info) continue;
        page.push({ key: relative(this.root, full).split(sep).join('/'), size: info.size, lastModified: info.mtime });
        if (page.length < this.listPageSize) continue;
        yield page;
        page = [];
      }
    } catch (err) {
      throw fsError('list', prefix, err);
    }
    if (page.length > 0) yield page;
  }

  sweepIncomplete(prefix: string, before: Date): Promise<number> {
    return this.run('sweep', prefix, async () => {
      let removed = 0;
      for await (const full of walkFiles(this.folder(prefix))) {
        if (!full.endsWith('.partial')) continue;
        const info = await stat(full).catch(() => null);
        if (!info || info.mtime >= before) continue;
        await rm(full, { force: true });
        removed += 1;
      }
      return removed;
    });
  }

  /** The directory a key prefix names (the root for none). */
  private folder(prefix: string): string {
    const trimmed = prefix.replace(/\/+$/, '');
    return trimmed ? this.path(trimmed) : this.root;
  }

  check(): Promise<void> {
    return this.run('check', '.', () => mkdir(this.root, { recursive: true }).then(() => undefined));
  }
}
