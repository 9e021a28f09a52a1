import { mkdtemp, rm, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsStorage } from '@media-foundry/shared/node';
import { sweepStorage } from './storage-sweeper.js';

const HOUR = 3_600_000;
const NOW = Date.parse('2030-01-01T12:00:00Z');

describe('sweepStorage', () => {
  let root: string;
  let storage: FsStorage;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'storage-sweeper-test-'));
    storage = new FsStorage(root);
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  /** Stores an object and sets its modification time to `NOW - ageMs`. */
  async function putAged(key: string, ageMs: number): Promise<void> {
    await storage.put(key, Buffer.from(key));
    const t = new Date(NOW - ageMs);
    await utimes(join(root, ...key.split('/')), t, t);
  }

  it('deletes job objects older than the TTL and keeps newer ones', async () => {
    await putAged('jobs/old/input/a.mp4', 2 * HOUR);
    await putAged('jobs/old/output/out.mp4', HOUR + 1000);
    await putAged('jobs/new/input/b.mp4', HOUR - 1000);
    await putAged('jobs/new/output/out.mp4', 0);

    const removed = await sweepStorage(storage, HOUR, NOW);

    expect(removed.sort()).toEqual(['jobs/old/input/a.mp4', 'jobs/old/output/out.mp4']);
    expect((await storage.list('jobs/')).map((o) => o.key).sort()).toEqual(['jobs/new/input/b.mp4', 'jobs/new/output/out.mp4']);
  });

  it('keeps an object exactly TTL old (only older ones go)', async () => {
    await putAged('jobs/edge/input/a', HOUR);
    expect(await sweepStorage(storage, HOUR, NOW)).toEqual([]);
  });

  it('only sweeps under jobs/', async () => {
    await putAged('other/ancient', 100 * HOUR);
    await putAged('jobs/j/input/x', 100 * HOUR);
    expect(await sweepStorage(storage, HOUR, NOW)).toEqual(['jobs/j/input/x']);
    expect((await storage.list('')).map((o) => o.key)).toEqual(['other/ancient']);
  });

  it('returns [] for an empty store', async () => {
    expect(await sweepStorage(storage, HOUR, NOW)).toEqual([]);
  });
});
