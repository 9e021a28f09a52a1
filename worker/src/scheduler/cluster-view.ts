/**
 * What every worker runs, as the workers tell each other on the control
 * exchange (`worker_state`: on every change and every few seconds). From it
 * a worker knows each tenant's running jobs across the cluster
 * (MAX_JOBS_PER_CLIENT) and whether a live worker already holds a job that
 * was delivered again. A worker not heard from for `expiryMs` is gone —
 * counting only the time this worker could hear: while its own control
 * channel is down (`setListening(false)`) nobody is forgotten, and a peer's
 * silence starts over when it is back, since the broker hands a running job
 * back when it returns and the peer that still runs it must not look gone.
 * Jobs that leave a peer's list — ended, handed back to their queue, or
 * held by a peer that went silent — are told to `onReleased`: their tenants'
 * queues may hold work again. It also remembers for `FINISHED_MEMORY_MS`
 * the jobs whose final answer went out, here or on a peer (`job_finished`).
 * Pure but for `whenTold`'s timer: the clock is passed in.
 */
import type { ControlMessage } from '@media-foundry/shared';

type WorkerState = Extract<ControlMessage, { type: 'worker_state' }>;

/** How long a finished job is remembered: a copy delivered again later than this runs again (storage still dedups while it holds the result). */
export const FINISHED_MEMORY_MS = 10 * 60_000;
/** At most this many finished jobs are remembered (the oldest go first). */
export const FINISHED_MEMORY_MAX = 100_000;
/** A job a worker took: when (`since`), and whether it is `held` for its client's share (shared/src/jobs.ts). */
export type RunningJob = WorkerState['running'][number];

/** The order held jobs are admitted in, the same on every worker: earliest taken first, then by worker and job id. */
function before(a: RunningJob & { worker: string }, b: RunningJob & { worker: string }): boolean {
  const sa = a.since ?? 0;
  const sb = b.since ?? 0;
  if (sa !== sb) return sa < sb;
  if (a.worker !== b.worker) return a.worker < b.worker;
  return a.job_id < b.job_id;
}

export class ClusterView {
  private readonly others = new Map<string, { running: RunningJob[]; heardAt: number }>();
  private own: RunningJob[] = [];
  private listening = true;
  /** Jobs whose final answer was published, and when (oldest first). */
  private readonly finishedAt = new Map<string, number>();
  /** The jobs in the last report of ours that came back to us, and who waits for one (`whenTold`). */
  private told = new Set<string>();
  private readonly waiting = new Map<string, (() => void)[]>();

  constructor(
    readonly workerId: string,
    private readonly expiryMs: number,
    private readonly now: () => number = Date.now,
    private readonly onReleased: (jobs: RunningJob[]) => void = () => {},
  ) {}

  /** Another worker's report; our own, come back, tells whom `whenTold` may let go. Returns true when it changed what we know. */
  update(state: WorkerState): boolean {
    if (state.worker_id === this.workerId) {
      this.told = new Set(state.running.map((j) => j.job_id));
      for (const id of this.told) this.letGo(id);
      return false;
    }
    const before = this.others.get(state.worker_id);
    const released = (before?.running ?? []).filter((j) => !state.running.some((r) => r.job_id === j.job_id));
    if (released.length > 0) this.onReleased(released);
    if (state.stopping && state.running.length === 0) {
      this.others.delete(state.worker_id);
      return before !== undefined;
    }
    this.others.set(state.worker_id, { running: state.running, heardAt: this.now() });
    return JSON.stringify(before?.running ?? []) !== JSON.stringify(state.running);
  }

  /** What this worker runs now. */
  setOwn(running: RunningJob[]): void {
    this.own = running;
  }

  /** Whether this worker hears the control exchange now; silence it could not hear is not held against its peers. */
  setListening(listening: boolean): void {
    if (listening && !this.listening) {
      const now = this.now();
      for (const w of this.others.values()) w.heardAt = now;
    }
    this.listening = listening;
  }

  /** A job's final answer was published (by this worker, or a peer's `job_finished`). */
  noteFinished(jobId: string): void {
    const now = this.now();
    this.finishedAt.delete(jobId); // re-inserted last: the map stays in time order
    this.finishedAt.set(jobId, now);
    for (const [id, at] of this.finishedAt) {
      if (now - at <= FINISHED_MEMORY_MS && this.finishedAt.size <= FINISHED_MEMORY_MAX) break;
      this.finishedAt.delete(id);
    }
  }

  /** Whether this job's final answer was published lately, here or elsewhere. */
  finished(jobId: string): boolean {
    const at = this.finishedAt.get(jobId);
    return at !== undefined && this.now() - at <= FINISHED_MEMORY_MS;
  }

  private live(): RunningJob[][] {
    const cutoff = this.now() - this.expiryMs;
    const lists = [this.own];
    for (const [id, w] of this.others) {
      if (!this.listening || w.heardAt >= cutoff) lists.push(w.running);
      else {
        this.others.delete(id);
        if (w.running.length > 0) this.onReleased(w.running);
      }
    }
    return lists;
  }

  /** Jobs of the tenant running now on all live workers, this one included. */
  runningFor(tenantKey: string): number {
    let n = 0;
    for (const list of this.live()) for (const j of list) if (j.tenant_key === tenantKey) n += 1;
    return n;
  }

  /** runningFor of every tenant that has jobs running, in one pass over the workers' lists. */
  runningByTenant(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const list of this.live()) for (const j of list) counts.set(j.tenant_key, (counts.get(j.tenant_key) ?? 0) + 1);
    return counts;
  }

  /**
   * Whether a job this worker took for `tenantKey` may run now: the jobs of
   * the tenant running anywhere, plus the held ones ahead of it in the
   * common order, leave room under `cap`. Every worker decides the same way
   * from the same reports, so a burst taken by several workers at once is
   * admitted in one order and never runs more than `cap` at a time.
   */
  mayRun(jobId: string, tenantKey: string, cap: number): boolean {
    this.live(); // forgets silent peers first
    const all: (RunningJob & { worker: string })[] = [];
    const add = (worker: string, list: RunningJob[]) => {
      for (const j of list) if (j.tenant_key === tenantKey) all.push({ ...j, worker });
    };
    add(this.workerId, this.own);
    for (const [id, w] of this.others) add(id, w.running);
    const mine = all.find((j) => j.job_id === jobId && j.worker === this.workerId);
    if (!mine) return true;
    const ahead = all.filter((j) => j !== mine && (!j.held || before(j, mine))).length;
    return ahead < cap;
  }

  /**
   * Resolves once a report of ours naming this job has come back through the
   * control exchange (at most `ms` later; at once while this worker cannot
   * hear it). A peer that took the same job earlier and said so was then
   * heard first: the fanout queues one publisher's report after another's
   * that reached it first. So of two workers that take copies of one job at
   * the same moment, the later always sees the earlier before
   * `heldEarlierElsewhere` decides, where a look at once could let both run.
   */
  whenTold(jobId: string, ms: number): Promise<void> {
    if (!this.listening || this.told.has(jobId)) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.letGo(jobId), ms);
      const list = this.waiting.get(jobId) ?? [];
      list.push(() => {
        clearTimeout(timer);
        resolve();
      });
      this.waiting.set(jobId, list);
    });
  }

  private letGo(jobId: string): void {
    const list = this.waiting.get(jobId);
    this.waiting.delete(jobId);
    for (const go of list ?? []) go();
  }

  /**
   * Whether another live worker took this very job before this one did (two
   * copies of one job: routed twice, or delivered again). Only the later
   * copy waits — the same answer on both workers, so they never wait for each other.
   */
  heldEarlierElsewhere(jobId: string): boolean {
    this.live();
    const mine = this.own.find((j) => j.job_id === jobId);
    const me = mine ? { ...mine, worker: this.workerId } : null;
    for (const [id, w] of this.others)
      for (const j of w.running) if (j.job_id === jobId && (!me || before({ ...j, worker: id }, me))) return true;
    return false;
  }

  /** Whether a worker has been heard from (and not forgotten). */
  knows(workerId: string): boolean {
    return this.others.has(workerId);
  }

  /** Live workers besides this one. */
  peers(): number {
    return this.live().length - 1;
  }
}
