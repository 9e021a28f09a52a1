import { storageKeys } from '@media-foundry/shared';
import { type JobStore, type Storage, type StoredObject } from '@media-foundry/shared/node';

export interface SweepPolicy {
  /** A job that never finished (an upload that stopped, a job lost on the way) goes this long after its last change. */
  storageTtlMs: number;
  /** A finished job's result waits this long for a client to resume it (RESUME_TTL_SECONDS). */
  resumeTtlMs: number;
  /** Results delivered as URLs stay this long (RESULT_URL_TTL_SECONDS). */
  urlTtlMs: number;
}

/**
 * Until when a finished job's files are kept (ms), its result stored at
 * `storedAt`: what a download URL signed for them must not outlive.
 */
export function keptUntil(storedAt: number, policy: Pick<SweepPolicy, 'resumeTtlMs' | 'urlTtlMs'>): number {
  return storedAt + Math.max(policy.resumeTtlMs, policy.urlTtlMs);
}

/**
 * Deletes the files of jobs nobody will collect, a job at a time: a finished
 * job (its result stored) once nobody may resume it any more — or, when its
 * client got download URLs, once those expired; any other job once nothing
 * of it changed for `storageTtlMs`. One gateway sweeps at a time (the
 * holder of the SweepLease); deletes are idempotent all the same. Returns
 * the job ids removed; rejects, once every job was tried, when some could
 * not be removed. `signal` (the lease lost or given up) stops the sweep
 * before its next job.
 */
export async function sweepStorage(
  storage: Storage,
  store: Pick<JobStore, 'readRecord' | 'remove'>,
  policy: SweepPolicy,
  now = Date.now(),
  signal?: AbortSignal,
): Promise<string[]> {
  const byJob = new Map<string, StoredObject[]>();
  for (const o of await storage.list('jobs/')) {
    const id = o.key.split('/')[1];
    if (!id) continue;
    const objects = byJob.get(id);
    if (objects) objects.push(o);
    else byJob.set(id, [o]);
  }
  const removed: string[] = [];
  const failed: unknown[] = [];
  for (const [id, objects] of byJob) {
    if (signal?.aborted) break;
    const result = objects.find((o) => o.key === storageKeys.result(id));
    const newest = Math.max(...objects.map((o) => o.lastModified.getTime()));
    let expired: boolean;
    if (result) {
      const age = now - result.lastModified.getTime();
      if (now > keptUntil(result.lastModified.getTime(), policy)) expired = true;
      else if (age <= policy.resumeTtlMs) expired = false;
      else {
        // a record that cannot be read now may say `url`: look again next sweep rather than break live links
        const record = await store.readRecord(id).catch(() => undefined);
        expired = record !== undefined && record?.delivery_method !== 'url';
      }
    } else expired = now - newest > policy.storageTtlMs;
    if (!expired) continue;
    // one job that cannot be removed (a key the store refuses to delete) must not keep the sweep from the others
    try {
      await store.remove(id);
      removed.push(id);
    } catch (err) {
      failed.push(err);
    }
  }
  if (failed.length > 0) throw new AggregateError(failed, `${failed.length} expired job(s) not removed (${removed.length} removed)`);
  return removed;
}

/**
 * Runs `sweep` every `intervalMs`, one at a time: a tick that comes while the
 * last sweep still runs (a slow or failing store, a short interval) is
 * skipped. Overlapping sweeps listed the whole store each and raced each
 * other's deletes of the same job. The timer does not keep the process up.
 */
export function sweepEvery(intervalMs: number, sweep: () => Promise<unknown>): { stop(): void } {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    sweep()
      .catch(() => {}) // the sweep reports its own failures
      .finally(() => (running = false));
  }, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
