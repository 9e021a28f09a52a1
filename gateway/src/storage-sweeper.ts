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

/** Errors a sweep keeps to report, of however many jobs failed (the count is in its message). */
const KEPT_ERRORS = 10;

/**
 * Deletes the files of jobs nobody will collect, a job at a time: a finished
 * job (its result stored) once nobody may resume it any more — or, when its
 * client got download URLs, once those expired; any other job once nothing
 * of it changed for `storageTtlMs`. One gateway sweeps at a time (the
 * holder of the SweepLease); deletes are idempotent all the same. Returns
 * the job ids removed; rejects, once every job was tried, when some could
 * not be removed. `signal` (the lease lost or given up) stops the sweep
 * before its next job.
 *
 * The store is listed a page at a time and each job judged as soon as its
 * folder's last object has been listed (a folder's objects come together,
 * `Storage.listPages`): the sweeping gateway holds a page, not a listing of
 * every job's files, however large the store has grown.
 */
export async function sweepStorage(
  storage: Pick<Storage, 'listPages'>,
  store: Pick<JobStore, 'readRecord' | 'remove'>,
  policy: SweepPolicy,
  now = Date.now(),
  signal?: AbortSignal,
): Promise<string[]> {
  const removed: string[] = [];
  const failed: unknown[] = [];
  let failures = 0;
  const sweepJob = async (id: string, objects: StoredObject[]): Promise<void> => {
    if (!(await isExpired(id, objects, store, policy, now))) return;
    // one job that cannot be removed (a key the store refuses to delete) must not keep the sweep from the others
    try {
      await store.remove(id);
      removed.push(id);
    } catch (err) {
      failures += 1;
      if (failed.length < KEPT_ERRORS) failed.push(err);
    }
  };
  let job = null as { id: string; objects: StoredObject[] } | null;
  try {
    listing: for await (const page of storage.listPages('jobs/')) {
      for (const o of page) {
        // `jobs/<id>/…`: a key outside any job's folder is no job's
        const [, id, ...rest] = o.key.split('/');
        if (!id || rest.length === 0) continue;
        if (job?.id === id) {
          job.objects.push(o);
          continue;
        }
        if (job) {
          if (signal?.aborted) break listing;
          await sweepJob(job.id, job.objects);
        }
        job = { id, objects: [o] };
      }
      if (signal?.aborted) break; // before asking for the next page
    }
  } catch (err) {
    // the last job seen may have more files on the page that could not be listed: it is not judged on part of
    // them; what the pages before removed is said, as the log of a sweep that ended would
    const why = err instanceof Error ? err.message : String(err);
    const notRemoved = failures > 0 ? `, ${failures} expired job(s) not removed` : '';
    // (no `cause`: the store's error is the first of `errors`, and a logger would print its message twice)
    throw new AggregateError([err, ...failed], `listing the store failed after ${removed.length} job(s) removed${notRemoved}: ${why}`);
  }
  if (job && !signal?.aborted) await sweepJob(job.id, job.objects);
  if (failures > 0) throw new AggregateError(failed, `${failures} expired job(s) not removed (${removed.length} removed)`);
  return removed;
}

/** Whether a job's files go, judged from all of its objects. */
async function isExpired(
  id: string,
  objects: StoredObject[],
  store: Pick<JobStore, 'readRecord'>,
  policy: SweepPolicy,
  now: number,
): Promise<boolean> {
  const result = objects.find((o) => o.key === storageKeys.result(id));
  // (not Math.max(...spread): a folder may hold more files than a call takes arguments)
  if (!result) return now - objects.reduce((newest, o) => Math.max(newest, o.lastModified.getTime()), 0) > policy.storageTtlMs;
  const storedAt = result.lastModified.getTime();
  if (now > keptUntil(storedAt, policy)) return true;
  if (now - storedAt <= policy.resumeTtlMs) return false;
  // a record that cannot be read now may say `url`: look again next sweep rather than break live links
  const record = await store.readRecord(id).catch(() => undefined);
  return record !== undefined && record?.delivery_method !== 'url';
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
