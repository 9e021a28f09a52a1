import { readdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { useTempDir } from '@media-foundry/test-support';
import { FsStorage } from './fs-storage.js';
import { assertSafeKey, type Storage } from './storage.js';

describe('FsStorage', () => {
  const root = useTempDir('fs-storage-test-', 'test');
  let storage: FsStorage;

  beforeEach(async () => {
    storage = new FsStorage(join(root(), 'store'));
  });

  it('is the fs driver', () => {
    expect(storage.driver).toBe('fs');
  });

  it('puts bytes and gets them back, as a file under the root', async () => {
    await storage.put('jobs/j1/input/a.mp4', new TextEncoder().encode('hello bytes'));
    expect(await text(await storage.get('jobs/j1/input/a.mp4'))).toBe('hello bytes');
    expect(await readFile(join(root(), 'store', 'jobs', 'j1', 'input', 'a.mp4'), 'utf8')).toBe('hello bytes');
    expect(await storage.size('jobs/j1/input/a.mp4')).toBe(11);
    expect(await text(await storage.get('jobs/j1/input/a.mp4', 6))).toBe('bytes');
    expect(await text(await storage.get('jobs/j1/input/a.mp4', 2, 6))).toBe('llo b');
  });

  it('puts from a Readable stream', async () => {
    await storage.put('jobs/j1/output/out.txt', Readable.from([Buffer.from('chunk1-'), Buffer.from('chunk2')]));
    expect(await text(await storage.get('jobs/j1/output/out.txt'))).toBe('chunk1-chunk2');
    expect(await storage.size('jobs/j1/output/out.txt')).toBe(13);
  });

  it('replaces an existing object', async () => {
    await storage.put('k/v', Buffer.from('first version'));
    await storage.put('k/v', Buffer.from('2nd'));
    expect(await text(await storage.get('k/v'))).toBe('2nd');
    expect(await storage.size('k/v')).toBe(3);
  });

  it('stores zero-byte objects', async () => {
    await storage.put('empty', new Uint8Array());
    expect(await storage.size('empty')).toBe(0);
    expect(await text(await storage.get('empty'))).toBe('');
  });

  it('copies objects from and to local files', async () => {
    const src = join(root(), 'src.bin');
    await storage.put('seed', Buffer.from('file body'));
    await storage.getFile('seed', src);
    expect(await readFile(src, 'utf8')).toBe('file body');
    await storage.putFile('jobs/j2/input/copy.bin', src);
    expect(await text(await storage.get('jobs/j2/input/copy.bin'))).toBe('file body');
  });

  it('lists objects under a prefix with keys, sizes and dates', async () => {
    const before = Date.now() - 2000;
    await storage.put('jobs/j1/input/a.mp4', Buffer.from('aaaa'));
    await storage.put('jobs/j1/output/b.png', Buffer.from('bb'));
    await storage.put('jobs/j2/output/c.png', Buffer.from('c'));
    await storage.put('other/d', Buffer.from('d'));

    const j1 = (await storage.list('jobs/j1/')).sort((x, y) => x.key.localeCompare(y.key));
    expect(j1.map(({ key, size }) => ({ key, size }))).toEqual([
      { key: 'jobs/j1/input/a.mp4', size: 4 },
      { key: 'jobs/j1/output/b.png', size: 2 },
    ]);
    for (const o of j1) {
      // fs hands out Dates of the Node realm, not of the jest sandbox's, so no toBeInstanceOf(Date)
      expect(Object.prototype.toString.call(o.lastModified)).toBe('[object Date]');
      expect(o.lastModified.getTime()).toBeGreaterThanOrEqual(before);
    }
    expect((await storage.list('jobs/')).map((o) => o.key).sort()).toEqual([
      'jobs/j1/input/a.mp4',
      'jobs/j1/output/b.png',
      'jobs/j2/output/c.png',
    ]);
    expect((await storage.list('')).map((o) => o.key).sort()).toEqual([
      'jobs/j1/input/a.mp4',
      'jobs/j1/output/b.png',
      'jobs/j2/output/c.png',
      'other/d',
    ]);
  });

  it('lists nothing under a missing prefix', async () => {
    expect(await storage.list('jobs/none/')).toEqual([]);
    for await (const page of storage.listPages('jobs/none/')) throw new Error(`a page: ${JSON.stringify(page)}`);
  });

  it('lists on past a folder removed while it is being listed (the sweeper removing a job it passed)', async () => {
    const paged = new FsStorage(join(root(), 'store'), { listPageSize: 1 });
    for (const job of ['j1', 'j2', 'j3'])
      for (const name of ['a', 'b', 'c']) await paged.put(`jobs/${job}/input/${name}`, Buffer.from(name));
    const keys: string[] = [];
    for await (const [object] of paged.listPages('jobs/')) {
      keys.push(object!.key);
      if (keys.length === 1) await paged.deletePrefix(`jobs/${object!.key.split('/')[1]}/`);
    }
    const first = keys[0]!.split('/')[1];
    // the other two jobs whole, whatever was listed of the removed one before it went
    for (const job of ['j1', 'j2', 'j3'].filter((j) => j !== first))
      expect(keys.filter((k) => k.startsWith(`jobs/${job}/`)).sort()).toEqual(['a', 'b', 'c'].map((n) => `jobs/${job}/input/${n}`));
  });

  it('lists a page at a time, one folder after another, without the .partial files of writes under way', async () => {
    const paged = new FsStorage(join(root(), 'store'), { listPageSize: 3 });
    const names = ['a', 'b', 'c', 'd', 'e'];
    for (const job of ['j1', 'j2', 'j3']) for (const name of names) await paged.put(`jobs/${job}/output/${name}`, Buffer.from(name));
    await writeFile(join(root(), 'store', 'jobs', 'j2', 'output', 'f.1111.partial'), 'half');
    const pages: string[][] = [];
    for await (const page of paged.listPages('jobs/')) pages.push(page.map((o) => o.key));
    expect(pages.map((p) => p.length)).toEqual([3, 3, 3, 3, 3]);
    const keys = pages.flat();
    expect([...keys].sort()).toEqual(['j1', 'j2', 'j3'].flatMap((job) => names.map((name) => `jobs/${job}/output/${name}`)));
    // each job's five keys one after another
    const jobs = keys.map((key) => key.split('/')[1]);
    expect(jobs.filter((job, i) => job !== jobs[i - 1])).toHaveLength(3);
  });

  it('deletes one object, and deleting a missing one is no error', async () => {
    await storage.put('jobs/j1/a', Buffer.from('a'));
    await storage.put('jobs/j1/b', Buffer.from('b'));
    await storage.delete('jobs/j1/a');
    expect((await storage.list('jobs/')).map((o) => o.key)).toEqual(['jobs/j1/b']);
    await expect(storage.delete('jobs/j1/a')).resolves.toBeUndefined();
  });

  it('deletes a whole folder when asked to delete the keys it knows of in it (listing is free here)', async () => {
    await storage.put('jobs/j1/output/b', Buffer.from('b'));
    await storage.put('jobs/j1/output/unnamed', Buffer.from('c'));
    await writeFile(join(root(), 'store', 'jobs', 'j1', 'output', 'x.partial'), 'a killed writer');
    await storage.put('jobs/j10/output/d', Buffer.from('d'));
    await (storage as Storage).deleteFolder('jobs/j1/', ['jobs/j1/output/b']); // the caller names what it knows of
    expect((await storage.list('jobs/')).map((o) => o.key)).toEqual(['jobs/j10/output/d']);
    await expect(stat(join(root(), 'store', 'jobs', 'j1'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('deletes everything under a prefix and nothing else', async () => {
    await storage.put('jobs/j1/input/a', Buffer.from('a'));
    await storage.put('jobs/j1/output/b', Buffer.from('b'));
    await storage.put('jobs/j10/output/c', Buffer.from('c'));
    await storage.deletePrefix('jobs/j1/');
    expect((await storage.list('jobs/')).map((o) => o.key)).toEqual(['jobs/j10/output/c']);
    await expect(stat(join(root(), 'store', 'jobs', 'j1'))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(storage.deletePrefix('jobs/missing/')).resolves.toBeUndefined();
  });

  it('says whether an object exists', async () => {
    const s = storage as FsStorage & { exists?: (key: string) => Promise<boolean> };
    if (typeof s.exists !== 'function') return; // added to the Storage interface later
    await storage.put('jobs/j1/cancelled', new Uint8Array());
    expect(await s.exists('jobs/j1/cancelled')).toBe(true);
    expect(await s.exists('jobs/j2/cancelled')).toBe(false);
  });

  it('rejects get and size of a missing key', async () => {
    await expect(storage.get('jobs/nope')).rejects.toMatchObject({ name: 'StorageError', notFound: true, kind: 'terminal' });
    await expect(storage.size('jobs/nope')).rejects.toMatchObject({ name: 'StorageError', notFound: true, kind: 'terminal' });
    await expect(storage.getFile('jobs/nope', join(root(), 'x'))).rejects.toMatchObject({
      name: 'StorageError',
      notFound: true,
      kind: 'terminal',
    });
  });

  it.each(['../x', '/abs', 'a//b', 'a/../../b', './a', 'a/', '', 'a\u0000b'])('rejects the unsafe key %j everywhere', async (key) => {
    const unsafe = `unsafe storage key ${JSON.stringify(key)}`;
    await expect(storage.put(key, Buffer.from('x'))).rejects.toThrow(unsafe);
    await expect(storage.get(key)).rejects.toThrow(unsafe);
    await expect(storage.size(key)).rejects.toThrow(unsafe);
    await expect(storage.delete(key)).rejects.toThrow(unsafe);
    expect(() => assertSafeKey(key)).toThrow(unsafe);
  });

  it('does not write outside its root for an unsafe key', async () => {
    await expect(storage.put('../escaped', Buffer.from('x'))).rejects.toThrow();
    await expect(stat(join(root(), 'escaped'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('leaves no .partial file behind when a stream fails, and lists none while writing', async () => {
    const failing = new Readable({
      read() {
        this.push(Buffer.from('some'));
        this.destroy(new Error('client went away'));
      },
    });
    await expect(storage.put('jobs/j1/input/broken', failing)).rejects.toThrow('client went away');
    expect(await storage.list('jobs/')).toEqual([]);
    await expect(storage.size('jobs/j1/input/broken')).rejects.toMatchObject({ name: 'StorageError', notFound: true, kind: 'terminal' });
  });

  it('check() creates the root', async () => {
    await storage.check();
    expect((await stat(join(root(), 'store'))).isDirectory()).toBe(true);
  });

  it('sweeps the .partial files of writes a killed process left behind, old ones only', async () => {
    const dir = join(root(), 'store', 'jobs', 'j1', 'input');
    await storage.put('jobs/j1/input/done.mp4', Buffer.from('whole'));
    await writeFile(join(dir, 'a.mp4.1111.partial'), 'half');
    await writeFile(join(dir, 'b.mp4.2222.partial'), 'half');
    const old = new Date(Date.now() - 3_600_000);
    await utimes(join(dir, 'a.mp4.1111.partial'), old, old);
    expect(await storage.sweepIncomplete('jobs/', new Date(Date.now() - 60_000))).toBe(1);
    expect((await readdir(dir)).sort()).toEqual(['b.mp4.2222.partial', 'done.mp4']);
    expect(await storage.sweepIncomplete('jobs/missing/', new Date())).toBe(0);
  });
});
