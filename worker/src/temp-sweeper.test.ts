import { mkdir, readdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { useTempDir } from '@media-foundry/test-support';
import { sweepTempDir } from './temp-sweeper.js';

const HOUR = 3_600_000;

describe('sweepTempDir', () => {
  const root = useTempDir('temp-sweeper-test-', 'test');

  /** A job temp dir with a file inside, its mtime `ageMs` in the past. */
  async function jobDir(name: string, ageMs: number): Promise<void> {
    const dir = join(root(), name);
    await mkdir(dir);
    await writeFile(join(dir, 'input.mp4'), 'x');
    const t = new Date(Date.now() - ageMs);
    await utimes(dir, t, t);
  }

  it('removes old dirs of jobs not running here, keeps young and active ones', async () => {
    await jobDir('old-job-a1b2c3', 2 * HOUR);
    await jobDir('young-job-d4e5f6', 60_000);
    await jobDir('active-job-g7h8i9', 2 * HOUR);
    const active = new Set(['active-job']);

    const removed = await sweepTempDir(root(), HOUR, (id) => active.has(id));

    expect(removed).toEqual(['old-job-a1b2c3']);
    expect((await readdir(root())).sort()).toEqual(['active-job-g7h8i9', 'young-job-d4e5f6']);
  });

  it('asks isActive with the job id, the dir name without its random suffix', async () => {
    await jobDir('job.1:x-Ab12', 2 * HOUR);
    await jobDir('plain', 2 * HOUR);
    const asked: string[] = [];
    await sweepTempDir(root(), HOUR, (id) => {
      asked.push(id);
      return true;
    });
    expect(asked.sort()).toEqual(['job.1:x', 'plain']);
    expect((await readdir(root())).sort()).toEqual(['job.1:x-Ab12', 'plain']);
  });

  it('leaves plain files alone, however old', async () => {
    const file = join(root(), 'stray-file');
    await writeFile(file, 'x');
    const t = new Date(Date.now() - 10 * HOUR);
    await utimes(file, t, t);
    expect(await sweepTempDir(root(), HOUR, () => false)).toEqual([]);
    expect(await readdir(root())).toEqual(['stray-file']);
  });

  it('removes a dir recursively, including nested content', async () => {
    await mkdir(join(root(), 'deep-xyz', 'out', 'frames'), { recursive: true });
    await writeFile(join(root(), 'deep-xyz', 'out', 'frames', 'f.png'), 'x');
    const t = new Date(Date.now() - 2 * HOUR);
    await utimes(join(root(), 'deep-xyz'), t, t);
    expect(await sweepTempDir(root(), HOUR, () => false)).toEqual(['deep-xyz']);
    expect(await readdir(root())).toEqual([]);
  });

  it('returns [] when the temp dir does not exist', async () => {
    expect(await sweepTempDir(join(root(), 'missing'), HOUR, () => false)).toEqual([]);
  });
});
