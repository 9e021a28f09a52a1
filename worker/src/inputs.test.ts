import { mkdtemp, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { FsStorage, parseAllowlist } from '@media-foundry/shared/node';
import { useTempDir } from '@media-foundry/test-support';
import { InputBudget } from './input-budget.js';
import { fetchInput, localInputName } from './inputs.js';

describe('localInputName', () => {
  it.each([
    ['/a/b/clip.MP4', 'input.mp4'],
    ['clip.mkv', 'input.mkv'],
    ['/videos/archive.tar.gz', 'input.gz'],
    ['/media/v1.2/clip', 'input.bin'],
    ['no-extension', 'input.bin'],
    ['', 'input.bin'],
    ['trailing.', 'input.bin'],
    ['.webm', 'input.webm'],
    ['name.with spaces.m p4', 'input.bin'],
    ['clip.mp4%3Fx', 'input.bin'],
    ['evil.mp4/../../etc/passwd', 'input.bin'],
    ['evil.sh;rm -rf', 'input.bin'],
    ['vidéo.ñ', 'input.bin'],
    ['clip.abcdefghij', 'input.abcdefghij'],
    ['clip.abcdefghijk', 'input.bin'],
    ['CLIP.WebM', 'input.webm'],
  ])('%j → %s', (name, expected) => {
    expect(localInputName(name)).toBe(expected);
  });

  it('always yields a plain, safe file name', () => {
    for (const name of ['../../x.mp4', '/abs/path/.hidden', 'a\u0000b.mov', 'x.MOV\n', '....']) {
      expect(localInputName(name)).toMatch(/^input\.[a-z0-9]{1,10}$/);
    }
  });
});

describe('fetchInput of staged uploads', () => {
  const root = useTempDir('inputs-');
  let storage: FsStorage;
  const limits = {
    maxBytes: 1 << 20,
    timeoutMs: 1000,
    connectTimeoutMs: 1000,
    stallMs: 1000,
    minBytesPerSecond: 0,
    rateWindowMs: 1000,
    allowlist: parseAllowlist([]),
  };
  beforeAll(async () => {
    storage = new FsStorage(join(root(), 'storage'));
    await storage.put('jobs/j/input/a.mp4', Buffer.alloc(600));
    await storage.put('jobs/j/input/b.mp4', Buffer.alloc(600));
  });

  it("counts each staged file against the job's budget before copying it", async () => {
    const dir = await mkdtemp(join(root(), 'job-'));
    const budget = new InputBudget(1000);
    const signal = new AbortController().signal;
    const input = (name: string) => ({ source: 'storage' as const, key: `jobs/j/input/${name}`, filename: name });
    await expect(fetchInput(input('a.mp4'), dir, 'input_0', storage, limits, signal, budget)).resolves.toBe(join(dir, 'input_0.mp4'));
    await expect(fetchInput(input('b.mp4'), dir, 'input_1', storage, limits, signal, budget)).rejects.toMatchObject({
      code: 'JOB_FAILED',
      message: 'Inputs are too large',
    });
    expect(await readdir(dir)).toEqual(['input_0.mp4']);
  });
});
