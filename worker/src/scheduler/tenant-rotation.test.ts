import { TenantRotation } from './tenant-rotation.js';

/** Picks `n` times with the same eligible tenants. */
function picks(rotation: TenantRotation, eligible: readonly string[], n: number): (string | null)[] {
  return Array.from({ length: n }, () => rotation.next(eligible));
}

/**
 * Waiting jobs per tenant, drained one start at a time the way the puller
 * does: only tenants with jobs waiting are eligible.
 */
class Queues {
  readonly waiting = new Map<string, number>();
  readonly started: string[] = [];

  constructor(private readonly rotation: TenantRotation) {}

  submit(tenant: string, jobs: number): void {
    this.waiting.set(tenant, (this.waiting.get(tenant) ?? 0) + jobs);
  }

  start(): string | null {
    const eligible = [...this.waiting].filter(([, n]) => n > 0).map(([t]) => t);
    const tenant = this.rotation.next(eligible);
    if (tenant !== null) {
      this.waiting.set(tenant, this.waiting.get(tenant)! - 1);
      this.started.push(tenant);
    }
    return tenant;
  }
}

describe('TenantRotation', () => {
  it('has nobody to serve when no tenant is eligible', () => {
    const r = new TenantRotation();
    expect(r.next([])).toBeNull();
    r.next(['A']);
    expect(r.next([])).toBeNull();
  });

  it('serves tenants in turn, in the order they were first seen', () => {
    const r = new TenantRotation();
    expect(picks(r, ['A', 'B', 'C'], 7)).toEqual(['A', 'B', 'C', 'A', 'B', 'C', 'A']);
    expect(r.order()).toEqual(['A', 'B', 'C']);
  });

  it('keeps the first-seen order whatever order the eligible list comes in', () => {
    const r = new TenantRotation();
    expect(r.next(['B', 'A'])).toBe('B');
    expect(picks(r, ['A', 'B'], 4)).toEqual(['A', 'B', 'A', 'B']);
    expect(r.order()).toEqual(['B', 'A']);
  });

  it('gives a tenant alone every pick', () => {
    const r = new TenantRotation();
    expect(picks(r, ['A'], 5)).toEqual(['A', 'A', 'A', 'A', 'A']);
  });

  it('gives a weighted tenant alone every pick too', () => {
    const r = new TenantRotation(() => 3);
    expect(picks(r, ['A'], 7)).toEqual(['A', 'A', 'A', 'A', 'A', 'A', 'A']);
  });

  it('serves a tenant that appears next, after the current tenant’s turn', () => {
    const r = new TenantRotation();
    expect(picks(r, ['A'], 3)).toEqual(['A', 'A', 'A']);
    expect(r.next(['A', 'B'])).toBe('B');
    expect(r.next(['A', 'B'])).toBe('A');
  });

  it('lets a weighted tenant finish its turn before a newcomer is served', () => {
    const r = new TenantRotation((key) => (key === 'A' ? 3 : 1));
    expect(r.next(['A'])).toBe('A'); // A's turn: 3 starts, 1 used
    expect(picks(r, ['A', 'B'], 4)).toEqual(['A', 'A', 'B', 'A']);
  });

  it('slots a newcomer in after the current tenant, ahead of the rest of the round', () => {
    const r = new TenantRotation();
    expect(picks(r, ['A', 'B'], 2)).toEqual(['A', 'B']);
    expect(picks(r, ['A', 'B', 'C'], 4)).toEqual(['C', 'A', 'B', 'C']);
  });

  it('gives each tenant `weight` consecutive picks', () => {
    const weights: Record<string, number> = { A: 3, B: 1, C: 2 };
    const r = new TenantRotation((key) => weights[key] ?? 1);
    expect(picks(r, ['A', 'B', 'C'], 12)).toEqual(['A', 'A', 'A', 'B', 'C', 'C', 'A', 'A', 'A', 'B', 'C', 'C']);
  });

  it('treats a weight under 1 as 1', () => {
    const r = new TenantRotation((key) => (key === 'A' ? 0 : -5));
    expect(picks(r, ['A', 'B'], 4)).toEqual(['A', 'B', 'A', 'B']);
  });

  it('skips tenants that are not eligible, keeping the turn order', () => {
    const r = new TenantRotation();
    expect(r.next(['A', 'B', 'C'])).toBe('A');
    expect(r.next(['A', 'C'])).toBe('C'); // B has nothing waiting
    expect(r.next(['A', 'B', 'C'])).toBe('A');
    expect(r.next(['A', 'B', 'C'])).toBe('B');
    expect(r.next(['B'])).toBe('B');
    expect(r.next(['A', 'B', 'C'])).toBe('C');
  });

  it('ends a weighted turn early when its tenant is no longer eligible', () => {
    const r = new TenantRotation((key) => (key === 'A' ? 3 : 1));
    expect(r.next(['A', 'B'])).toBe('A');
    expect(r.next(['B'])).toBe('B');
    // A's turn starts afresh: three in a row again
    expect(picks(r, ['A', 'B'], 4)).toEqual(['A', 'A', 'A', 'B']);
  });

  it('keeps the turn order when the current tenant is forgotten', () => {
    const r = new TenantRotation();
    expect(picks(r, ['A', 'B', 'C'], 2)).toEqual(['A', 'B']);
    r.forget('B');
    expect(r.order()).toEqual(['A', 'C']);
    expect(picks(r, ['A', 'C'], 3)).toEqual(['C', 'A', 'C']);
  });

  it('keeps the turn order when the current tenant is forgotten from the front of the ring', () => {
    const r = new TenantRotation();
    expect(r.next(['A', 'B', 'C'])).toBe('A');
    r.forget('A');
    expect(picks(r, ['B', 'C'], 3)).toEqual(['B', 'C', 'B']);
  });

  it('does not give a forgotten weighted tenant’s remaining turn to anyone', () => {
    const r = new TenantRotation((key) => (key === 'B' ? 3 : 1));
    expect(picks(r, ['A', 'B', 'C'], 2)).toEqual(['A', 'B']);
    r.forget('B');
    expect(picks(r, ['A', 'C'], 2)).toEqual(['C', 'A']);
  });

  it('keeps the turn order when another tenant is forgotten', () => {
    const r = new TenantRotation();
    expect(picks(r, ['A', 'B', 'C'], 2)).toEqual(['A', 'B']);
    r.forget('A');
    expect(picks(r, ['B', 'C'], 3)).toEqual(['C', 'B', 'C']);
  });

  it('forgets the only tenant and starts afresh', () => {
    const r = new TenantRotation();
    r.next(['A']);
    r.forget('A');
    expect(r.order()).toEqual([]);
    expect(r.next(['B'])).toBe('B');
  });

  it('ignores forgetting a tenant it never saw', () => {
    const r = new TenantRotation();
    expect(r.next(['A', 'B'])).toBe('A');
    r.forget('Z');
    expect(r.order()).toEqual(['A', 'B']);
    expect(r.next(['A', 'B'])).toBe('B');
  });

  it('puts a forgotten tenant that comes back at the end of the order', () => {
    const r = new TenantRotation();
    r.next(['A', 'B', 'C']);
    r.forget('A');
    r.next(['A', 'B', 'C']);
    expect(r.order()).toEqual(['B', 'C', 'A']);
  });

  it('serves a tenant with one job within two picks of it arriving behind another tenant’s twelve', () => {
    const q = new Queues(new TenantRotation());
    q.submit('A', 12);
    for (let i = 0; i < 3; i++) expect(q.start()).toBe('A');
    q.submit('B', 1);
    const next = [q.start(), q.start()];
    expect(next).toContain('B');
    expect(next).toEqual(['B', 'A']);
    // then A alone again, until it has nothing left
    while (q.start() !== null);
    expect(q.started).toEqual(['A', 'A', 'A', 'B', ...Array<string>(9).fill('A')]);
  });

  it('serves a newcomer within one turn of a weighted tenant with a backlog', () => {
    const q = new Queues(new TenantRotation((key) => (key === 'A' ? 2 : 1)));
    q.submit('A', 12);
    q.start();
    q.submit('B', 1);
    expect([q.start(), q.start()]).toEqual(['A', 'B']);
  });

  it('interleaves three tenants with six jobs each, whatever order they were submitted in', () => {
    const q = new Queues(new TenantRotation());
    q.submit('A', 6);
    q.submit('B', 6);
    q.submit('C', 6);
    const counts = new Map<string, number>([
      ['A', 0],
      ['B', 0],
      ['C', 0],
    ]);
    for (let i = 0; i < 18; i++) {
      const t = q.start()!;
      counts.set(t, counts.get(t)! + 1);
      const values = [...counts.values()];
      // no tenant has had all six before every other has had two
      if (values.includes(6)) expect(Math.min(...values)).toBeGreaterThanOrEqual(2);
      expect(Math.max(...values) - Math.min(...values)).toBeLessThanOrEqual(1);
    }
    expect(q.start()).toBeNull();
    expect(q.started).toEqual(['A', 'B', 'C', 'A', 'B', 'C', 'A', 'B', 'C', 'A', 'B', 'C', 'A', 'B', 'C', 'A', 'B', 'C']);
  });

  it('asks for a tenant’s weight at the start of each of its turns', () => {
    const weights: Record<string, number> = { A: 1, B: 1 };
    const r = new TenantRotation((key) => weights[key] ?? 1);
    expect(picks(r, ['A', 'B'], 2)).toEqual(['A', 'B']);
    weights.A = 2;
    expect(picks(r, ['A', 'B'], 3)).toEqual(['A', 'A', 'B']);
  });
});
