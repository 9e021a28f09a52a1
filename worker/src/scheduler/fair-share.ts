/**
 * Fair share of a worker's slots when one tenant took them all while alone
 * and another arrives: without this the newcomer waits until a job of the
 * first ends, which for long encodes is minutes. After FAIR_SHARE_GRACE_SECONDS
 * of such waiting (short jobs end by themselves first), the tenant furthest
 * over its share hands its newest job back to its queue (the least work
 * lost) and the freed slot serves the waiting tenant. A job yields at most
 * once (only on its first delivery), so no job is starved by yielding; the
 * yield costs it one of its JOB_DELIVERY_LIMIT deliveries. Pure: no I/O, no clock.
 */

/** A job in one of this worker's slots. */
export interface SlotHolder {
  jobId: string;
  tenantKey: string;
  /** When it took the slot (ms). */
  since: number;
  /** On its first delivery: it has never yielded (nor been handed back otherwise). */
  firstDelivery: boolean;
  /** Asked to yield already, not yet gone. */
  yielding: boolean;
}

/** A tenant with jobs waiting and none running anywhere, since when (ms; each worker's clock starts at a random point of a short span). */
export interface StarvingTenant {
  tenantKey: string;
  since: number;
}

export interface YieldDecision {
  jobId: string;
  /** The tenant the freed slot goes to. */
  forTenant: string;
}

/**
 * The job to hand back so a starving tenant gets a slot, or null: when every
 * slot is taken, a tenant has starved for `graceMs`, and a tenant holds more
 * than its share (slots ÷ tenants running here or starving, at least one).
 * One at a time: nothing while a job is yielding already.
 */
export function slotToYield(
  running: readonly SlotHolder[],
  starving: readonly StarvingTenant[],
  slots: number,
  now: number,
  graceMs: number,
): YieldDecision | null {
  if (running.length < slots || running.some((r) => r.yielding)) return null;
  const due = starving.filter((s) => now - s.since >= graceMs).sort((a, b) => a.since - b.since)[0];
  if (!due) return null;
  const counts = new Map<string, number>();
  for (const r of running) counts.set(r.tenantKey, (counts.get(r.tenantKey) ?? 0) + 1);
  const tenants = new Set([...counts.keys(), ...starving.map((s) => s.tenantKey)]);
  const share = Math.max(1, Math.floor(slots / tenants.size));
  const overShare = [...counts].filter(([, n]) => n > share).sort((a, b) => b[1] - a[1]);
  for (const [tenantKey] of overShare) {
    const newest = running.filter((r) => r.tenantKey === tenantKey && r.firstDelivery).sort((a, b) => b.since - a.since)[0];
    if (newest) return { jobId: newest.jobId, forTenant: due.tenantKey };
  }
  return null;
}
