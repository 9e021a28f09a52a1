import { type SlotHolder, slotToYield } from './fair-share.js';

const job = (jobId: string, tenantKey: string, since: number, extra: Partial<SlotHolder> = {}): SlotHolder => ({
  jobId,
  tenantKey,
  since,
  firstDelivery: true,
  yielding: false,
  ...extra,
});
const fourOfA = [job('a1', 'A', 1), job('a2', 'A', 2), job('a3', 'A', 3), job('a4', 'A', 4)];
const GRACE = 30_000;

describe('slotToYield', () => {
  it('hands back the newest job of the tenant over its share once another tenant starved for the grace period', () => {
    expect(slotToYield(fourOfA, [{ tenantKey: 'B', since: 0 }], 4, GRACE, GRACE)).toEqual({ jobId: 'a4', forTenant: 'B' });
  });

  it('waits out the grace period: short jobs end by themselves first', () => {
    expect(slotToYield(fourOfA, [{ tenantKey: 'B', since: 0 }], 4, GRACE - 1, GRACE)).toBeNull();
  });

  it('does nothing while a slot is free, nobody starves, or a job is yielding already', () => {
    expect(slotToYield(fourOfA.slice(1), [{ tenantKey: 'B', since: 0 }], 4, GRACE, GRACE)).toBeNull();
    expect(slotToYield(fourOfA, [], 4, GRACE, GRACE)).toBeNull();
    const yielding = [...fourOfA.slice(0, 3), job('a4', 'A', 4, { yielding: true })];
    expect(slotToYield(yielding, [{ tenantKey: 'B', since: 0 }], 4, GRACE, GRACE)).toBeNull();
  });

  it('takes from no tenant at or under its share', () => {
    // 4 slots, tenants A, B (running) and C (starving): a share is 1; A holds 2, B 2 -> the fuller one, newest job
    const running = [job('a1', 'A', 1), job('b1', 'B', 2), job('a2', 'A', 5), job('b2', 'B', 3)];
    expect(slotToYield(running, [{ tenantKey: 'C', since: 0 }], 4, GRACE, GRACE)).toEqual({ jobId: 'a2', forTenant: 'C' });
    // 2 slots, A and B one each: nobody is over a share of 1
    expect(slotToYield([job('a1', 'A', 1), job('b1', 'B', 2)], [{ tenantKey: 'C', since: 0 }], 2, GRACE, GRACE)).toBeNull();
  });

  it('never makes a job yield twice: only jobs on their first delivery yield', () => {
    const running = [job('a1', 'A', 1), job('a2', 'A', 2, { firstDelivery: false })];
    expect(slotToYield(running, [{ tenantKey: 'B', since: 0 }], 2, GRACE, GRACE)).toEqual({ jobId: 'a1', forTenant: 'B' });
    const again = running.map((r) => ({ ...r, firstDelivery: false }));
    expect(slotToYield(again, [{ tenantKey: 'B', since: 0 }], 2, GRACE, GRACE)).toBeNull();
  });

  it('serves the tenant that has starved longest first', () => {
    const starving = [
      { tenantKey: 'C', since: 500 },
      { tenantKey: 'B', since: 100 },
    ];
    expect(slotToYield(fourOfA, starving, 4, GRACE + 500, GRACE)?.forTenant).toBe('B');
  });
});
