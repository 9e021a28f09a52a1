import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { assertSafeKey, type Storage, type StoredObject } from './storage.js';

/** Objects as files under one directory, shared by gateway and worker on one machine. */
export class FsStorage implements Storage {
  readonly driver = 'fs' as const;

  constructor(private readonly root: string) {}

  private path(key: string): string {
    assertSafeKey(key);
    return join(this.root, ...key.split('/'));
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

  async put(key: string, body: Readable | Uint8Array): Promise<void> {
    const source = body instanceof Readable ? body : Readable.from([body]);
    await this.writeAtomically(key, (tmp) => pipeline(source, createWriteStream(tmp)));
  }

  async putFile(key: string, path: string): Promise<void> {
    await this.writeAtomically(key, (tmp) => copyFile(path, tmp));
  }

  async get(key: string): Promise<Readable> {
    const path = this.path(key);
    await stat(path); // reject now, not on first read, when the object is missing
    return createReadStream(path);
  }

  async getFile(key: string, path: string): Promise<void> {
    await copyFile(this.path(key), path);
  }

  async size(key: string): Promise<number> {
    return (await stat(this.path(key))).size;
  }

  async exists(key: string): Promise<boolean> {
    return stat(this.path(key)).then(
      () => true,
      () => false,
    );
  }

  async delete(key: string): Promise<void> {
    await rm(this.path(key), { force: true });
  }

  async deletePrefix(prefix: string): Promise<void> {
    const trimmed = prefix.replace(/\/+$/, '');
    await rm(this.path(trimmed), { recursive: true, force: true });
  }

  async list(prefix: string): Promise<StoredObject[]> {
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
  }

  async check(): Promise<void> {
    await mkdir(this.root, { recursive: true });
  }
}
