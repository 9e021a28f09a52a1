import { utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { type JobRecord, storageKeys } from '@media-foundry/shared';
import { FsStorage, JobStore } from '@media-foundry/shared/node';
import { useTempDir } from '@media-foundry/test-support';
import { sweepEvery, sweepStorage } from './storage-sweeper.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const NOW = Date.parse('2030-01-01T12:00:00Z');
const policy = { storageTtlMs: 24 * HOUR, resumeTtlMs: 10 * MINUTE, urlTtlMs: HOUR };

describe('sweepStorage', () => {
  const root = useTempDir('storage-sweeper-test-', 'test');
  let storage: FsStorage;
  let store: JobStore;

  beforeEach(async () => {
    storage = new FsStorage(root());
    store = new JobStore(storage);
  });

  /** Stores an object and sets its modification time to `NOW - ageMs`. */
  async function putAged(key: string, ageMs: number, body: string = key): Promise<void> {
    await storage.put(key, Buffer.from(body));
    const t = new Date(NOW - ageMs);
    await utimes(join(root(), ...key.split('/')), t, t);
  }

  const record = (id: string, delivery: 'binary' | 'url'): string =>
    JSON.stringify({
      version: 1,
      job_id: id,
      client_job_id: id,
      owner: 'key:abc',
      tenant: 'key:abc',
      resume_digest: '0'.repeat(64),
      operation: 'thumbnail',
      delivery_method: delivery,
      created_at: new Date(NOW - 2 * HOUR).toISOString(),
    } satisfies JobRecord);

  const jobsLeft = async () => [...new Set((await storage.list('jobs/')).map((o) => o.key.split('/')[1]))].sort();

  it('removes a finished job once nobody may resume it, and keeps one that may still be resumed', async () => {
    await putAged(storageKeys.output('done', 'out.mp4'), 11 * MINUTE);
    await putAged(storageKeys.result('done'), 11 * MINUTE);
    await putAged(storageKeys.output('fresh', 'out.mp4'), 9 * MINUTE);
    await putAged(storageKeys.result('fresh'), 9 * MINUTE);
    expect(await sweepStorage(storage, store, policy, NOW)).toEqual(['done']);
    expect(await jobsLeft()).toEqual(['fresh']);
  });

  it('stops before its next job once its signal is aborted (the lease lost or given up)', async () => {
    for (const id of ['a', 'b', 'c']) await putAged(storageKeys.output(id, 'out.mp4'), 25 * HOUR);
    const lease = new AbortController();
    // the lease goes while the first job is being removed
    const removing = { remove: async (id: string) => (lease.abort(), store.remove(id)), readRecord: (id: string) => store.readRecord(id) };
    expect(await sweepStorage(storage, removing, policy, NOW, lease.signal)).toHaveLength(1);
    expect(await jobsLeft()).toHaveLength(2);
  });

  it('keeps results delivered as URLs until the URLs expire', async () => {
    await putAged(storageKeys.record('linked'), 2 * HOUR, record('linked', 'url'));
    await putAged(storageKeys.result('linked'), 30 * MINUTE);
    await putAged(storageKeys.record('expired'), 2 * HOUR, record('expired', 'url'));
    await putAged(storageKeys.result('expired'), HOUR + MINUTE);
    expect(await sweepStorage(storage, store, policy, NOW)).toEqual(['expired']);
    expect(await jobsLeft()).toEqual(['linked']);
  });

  it('keeps a result that may have been delivered as URLs while its record cannot be read, and looks again next time', async () => {
    await putAged(storageKeys.record('unread'), 2 * HOUR, record('unread', 'binary'));
    await putAged(storageKeys.result('unread'), 30 * MINUTE);
    const readRecord = store.readRecord.bind(store);
    store.readRecord = () => Promise.reject(new Error('storage (S3) GetObject: SlowDown'));
    expect(await sweepStorage(storage, store, policy, NOW)).toEqual([]);
    store.readRecord = readRecord;
    // a minute later the record is read: delivered as binary, so past RESUME_TTL it goes
    expect(await sweepStorage(storage, store, policy, NOW + MINUTE)).toEqual(['unread']);
  });

  it('sweeps the other jobs when one cannot be removed, then says so', async () => {
    await putAged(storageKeys.result('stuck'), 11 * MINUTE);
    await putAged(storageKeys.result('done'), 11 * MINUTE);
    const remove = store.remove.bind(store);
    store.remove = (id) => (id === 'stuck' ? Promise.reject(new Error('storage (S3) DeleteObjects: AccessDenied')) : remove(id));
    await expect(sweepStorage(storage, store, policy, NOW)).rejects.toThrow('1 expired job(s) not removed (1 removed)');
    expect(await jobsLeft()).toEqual(['stuck']);
  });

  it('keeps an unfinished job (queued a long time) until nothing of it changed for the storage TTL', async () => {
    await putAged(storageKeys.record('queued'), 23 * HOUR);
    await putAged(storageKeys.input('queued', 'in.mp4'), 23 * HOUR);
    await putAged(storageKeys.input('stale', 'in.mp4'), 25 * HOUR);
    expect(await sweepStorage(storage, store, policy, NOW)).toEqual(['stale']);
    expect(await jobsLeft()).toEqual(['queued']);
  });

  it('only sweeps under jobs/', async () => {
    await putAged('scheduler/tenants/00ff00ff00ff00ff.json', 100 * HOUR);
    await putAged('jobs/j/input/x', 100 * HOUR);
    expect(await sweepStorage(storage, store, policy, NOW)).toEqual(['j']);
    expect((await storage.list('')).map((o) => o.key)).toEqual(['scheduler/tenants/00ff00ff00ff00ff.json']);
  });

  it('returns [] for an empty store', async () => {
    expect(await sweepStorage(storage, store, policy, NOW)).toEqual([]);
  });

  it('lists the store in pages, judging a job whose files straddle pages by all of them (one folder at a time)', async () => {
    // pages of two objects: `kept`'s fresh input comes on the page after its stale ones
    storage = new FsStorage(root(), { listPageSize: 2 });
    store = new JobStore(storage);
    for (const name of ['a', 'b', 'c']) await putAged(storageKeys.input('kept', name), 25 * HOUR);
    await putAged(storageKeys.input('kept', 'd'), HOUR);
    await putAged(storageKeys.input('stale', 'a'), 25 * HOUR);
    await putAged(storageKeys.input('stale', 'b'), 25 * HOUR);
    expect(await sweepStorage(storage, store, policy, NOW)).toEqual(['stale']);
    expect(await jobsLeft()).toEqual(['kept']);
  });

  it('takes a key outside any job folder for no job (nothing of ours writes one)', async () => {
    await putAged('jobs/stray', 100 * HOUR);
    expect(await sweepStorage(storage, store, policy, NOW)).toEqual([]);
  });
});

describe('sweepStorage, a store listed page by page', () => {
  const aged = (key: string, ageMs: number) => ({ key, size: 1, lastModified: new Date(NOW - ageMs) });
  /** A store whose listing says which pages were asked for, and a job store that says what was removed when. */
  function listed(pages: ReturnType<typeof aged>[][]) {
    const events: string[] = [];
    const storage = {
      async *listPages(prefix: string) {
        expect(prefix).toBe('jobs/');
        for (const [i, page] of pages.entries()) {
          events.push(`page ${i + 1}`);
          yield page;
        }
      },
    };
    const jobs = {
      readRecord: () => Promise.resolve(null),
      remove: (id: string) => (events.push(`remove ${id}`), Promise.resolve()),
    };
    return { storage, jobs, events };
  }

  it('removes each job as soon as its folder is listed: it holds a page, not the store', async () => {
    const { storage, jobs, events } = listed([
      [aged('jobs/a/input/x', 25 * HOUR), aged('jobs/b/input/x', 25 * HOUR)],
      [aged('jobs/b/input/y', 25 * HOUR), aged('jobs/c/input/x', 25 * HOUR)],
      [aged('jobs/d/input/x', 25 * HOUR)],
    ]);
    expect(await sweepStorage(storage, jobs, policy, NOW)).toEqual(['a', 'b', 'c', 'd']);
    // `b` spans pages 1 and 2: judged once page 2 shows its folder ended
    expect(events).toEqual(['page 1', 'remove a', 'page 2', 'remove b', 'page 3', 'remove c', 'remove d']);
  });

  it('keeps a job whose fresh result is on the page after its old files', async () => {
    const { storage, jobs } = listed([
      [aged('jobs/a/input/x', 25 * HOUR), aged('jobs/a/output/y', 25 * HOUR)],
      [aged(storageKeys.result('a'), MINUTE), aged('jobs/b/input/x', 25 * HOUR)],
    ]);
    expect(await sweepStorage(storage, jobs, policy, NOW)).toEqual(['b']);
  });

  it('stops listing once its signal is aborted', async () => {
    const lease = new AbortController();
    const { storage, jobs, events } = listed([
      [aged('jobs/a/input/x', 25 * HOUR), aged('jobs/b/input/x', 25 * HOUR)],
      [aged('jobs/c/input/x', 25 * HOUR)],
    ]);
    const removing = { ...jobs, remove: (id: string) => (lease.abort(), jobs.remove(id)) };
    expect(await sweepStorage(storage, removing, policy, NOW, lease.signal)).toEqual(['a']);
    expect(events).toEqual(['page 1', 'remove a']);
  });

  it('fails with the store when a later page cannot be listed, the jobs of the pages before removed (the next tick lists again)', async () => {
    const events: string[] = [];
    const storage = {
      async *listPages() {
        yield [aged('jobs/a/input/x', 25 * HOUR), aged('jobs/b/input/x', 25 * HOUR)];
        throw new Error('storage (S3) ListObjectsV2 jobs/: connect ECONNREFUSED');
      },
    };
    const jobs = { readRecord: () => Promise.resolve(null), remove: (id: string) => (events.push(`remove ${id}`), Promise.resolve()) };
    const err = (await sweepStorage(storage, jobs, policy, NOW).catch((e: unknown) => e)) as AggregateError;
    // what was removed before is said, with the store's own error
    expect(err.message).toBe('listing the store failed after 1 job(s) removed: storage (S3) ListObjectsV2 jobs/: connect ECONNREFUSED');
    expect((err.errors[0] as Error).message).toMatch(/ECONNREFUSED/);
    // `b` may have more files on the page that could not be listed: not judged on what was seen of it
    expect(events).toEqual(['remove a']);
  });

  it('says how many jobs it could not remove when the listing then fails too, with every error', async () => {
    const storage = {
      async *listPages() {
        yield [aged('jobs/a/input/x', 25 * HOUR), aged('jobs/b/input/x', 25 * HOUR), aged('jobs/c/input/x', 25 * HOUR)];
        throw new Error('ECONNRESET');
      },
    };
    const refusingA = {
      readRecord: () => Promise.resolve(null),
      remove: (id: string) => (id === 'a' ? Promise.reject(new Error('AccessDenied')) : Promise.resolve()),
    };
    const err = (await sweepStorage(storage, refusingA, policy, NOW).catch((e: unknown) => e)) as AggregateError;
    expect(err.message).toBe('listing the store failed after 1 job(s) removed, 1 expired job(s) not removed: ECONNRESET');
    expect(err.errors.map((e: Error) => e.message)).toEqual(['ECONNRESET', 'AccessDenied']);
  });

  it('judges a job of 200,000 files (more than a function call takes arguments)', async () => {
    const many = Array.from({ length: 200_000 }, (_, i) => aged(`jobs/big/output/seg_${i}.ts`, 25 * HOUR));
    const { storage, jobs } = listed([many]);
    expect(await sweepStorage(storage, jobs, policy, NOW)).toEqual(['big']);
  });

  it('counts every job it could not remove, and keeps the first errors', async () => {
    const ids = Array.from({ length: 12 }, (_, i) => `j${String(i).padStart(2, '0')}`);
    const { storage } = listed([ids.map((id) => aged(`jobs/${id}/input/x`, 25 * HOUR))]);
    const refusing = { readRecord: () => Promise.resolve(null), remove: () => Promise.reject(new Error('AccessDenied')) };
    const err = (await sweepStorage(storage, refusing, policy, NOW).catch((e: unknown) => e)) as AggregateError;
    expect(err.message).toBe('12 expired job(s) not removed (0 removed)');
    expect(err.errors).toHaveLength(10);
  });
});

describe('sweepEvery', () => {
  it('runs one sweep at a time: a tick while the last one runs is skipped', async () => {
    let running = 0;
    let most = 0;
    let started = 0;
    const sweeper = sweepEvery(20, async () => {
      started++;
      running++;
      most = Math.max(most, running);
      await new Promise((r) => setTimeout(r, 70)); // a slow store: three ticks and more
      running--;
      if (started === 2) throw new Error('a failed sweep lets the next one run too');
    });
    await new Promise((r) => setTimeout(r, 400));
    sweeper.stop();
    expect(most).toBe(1);
    expect(started).toBeGreaterThanOrEqual(3);
    expect(started).toBeLessThanOrEqual(6); // not one per tick (20)
  });
});
