import type { Storage } from '@media-foundry/shared/node';

/**
 * Deletes job objects (staged inputs, outputs) older than `ttlMs`: results
 * nobody collected, because their client went away. Returns the keys removed.
 */
export async function sweepStorage(storage: Storage, ttlMs: number, now = Date.now()): Promise<string[]> {
  const stale = (await storage.list('jobs/')).filter((o) => now - o.lastModified.getTime() > ttlMs);
  for (const o of stale) await storage.delete(o.key);
  return stale.map((o) => o.key);
}
