import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach } from '@jest/globals';

/**
 * A temporary directory (`prefix` and random characters, under the OS's) for
 * the tests of the enclosing `describe` block, or of the file at top level:
 * made before them and removed, with whatever they left in it, after them.
 * `per: 'test'` makes a fresh one for each test. Call it before any hook of
 * the block that uses the directory (hooks run in the order they are
 * declared). Returns the directory's getter: it exists only while the tests run.
 */
export function useTempDir(prefix: string, per: 'suite' | 'test' = 'suite'): () => string {
  let dir: string | undefined;
  const [before, after] = per === 'test' ? [beforeEach, afterEach] : [beforeAll, afterAll];
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), prefix));
  });
  after(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });
  return () => {
    if (dir === undefined) throw new Error(`useTempDir('${prefix}') read outside its tests`);
    return dir;
  };
}
