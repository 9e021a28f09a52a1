import { TenantDirectory } from './tenant-directory.js';

const A = '00000000000000a1';
const B = '00000000000000b2';
const C = '00000000000000c3';

/** Whether `promise` settles within `ms` ('settled') or not ('pending'). */
async function within(promise: Promise<unknown>, ms: number): Promise<'settled' | 'pending'> {
  let timer: NodeJS.Timeout | undefined;
  const pending = new Promise<'pending'>((resolve) => (timer = setTimeout(() => resolve('pending'), ms)));
  try {
    return await Promise.race([promise.then(() => 'settled' as const), pending]);
  } finally {
    clearTimeout(timer);
  }
}

/** Asserts that `change` stays pending for `quietMs`, then settles (within 500 ms) once `wake` has run. */
async function expectWokenBy(change: Promise<unknown>, wake: () => void, quietMs = 20): Promise<void> {
  expect(await within(change, quietMs)).toBe('pending');
  wake();
  expect(await within(change, 500)).toBe('settled');
}

describe('TenantDirectory', () => {
  it('knows nothing at first', () => {
    const d = new TenantDirectory();
    expect(d.waiting()).toEqual([]);
    expect(d.all()).toEqual([]);
    expect(d.has(A)).toBe(false);
    expect(d.version(A)).toBe(0);
  });

  it('marks an announced tenant as waiting, bumping its version', () => {
    const d = new TenantDirectory();
    d.markReady(A);
    expect(d.waiting()).toEqual([A]);
    expect(d.has(A)).toBe(true);
    expect(d.version(A)).toBe(1);
    expect(d.all()).toEqual([{ key: A, name: null, waiting: true, depth: null, version: 1 }]);
    d.markReady(A);
    expect(d.version(A)).toBe(2);
    expect(d.waiting()).toEqual([A]);
  });

  it('records the depth a look reported, and keeps it when an announcement carries none', () => {
    const d = new TenantDirectory();
    d.markReady(A, 7);
    expect(d.all()[0]!.depth).toBe(7);
    d.markReady(A);
    expect(d.all()[0]!.depth).toBe(7);
    d.setDepth(A, 3);
    expect(d.all()[0]!.depth).toBe(3);
  });

  it('marks a tenant empty when a look begun at its current version found nothing', () => {
    const d = new TenantDirectory();
    d.markReady(A, 2);
    const version = d.version(A);
    d.markEmpty(A, version);
    expect(d.waiting()).toEqual([]);
    expect(d.all()).toEqual([{ key: A, name: null, waiting: false, depth: 0, version }]);
  });

  it('does not let a stale "looked empty" hide work announced after the look began', () => {
    const d = new TenantDirectory();
    d.markReady(A);
    const lookBegan = d.version(A);
    d.markReady(A); // a job published while the look was under way
    d.markEmpty(A, lookBegan);
    expect(d.waiting()).toEqual([A]);
    expect(d.all()[0]!.depth).toBeNull();
  });

  it('does not let a look at an unknown tenant hide work announced while it ran', () => {
    const d = new TenantDirectory();
    const lookBegan = d.version(A); // 0: not known yet
    d.markReady(A);
    d.markEmpty(A, lookBegan);
    expect(d.waiting()).toEqual([A]);
  });

  it('ignores "looked empty" for a tenant it does not know, without adding it', () => {
    const d = new TenantDirectory();
    d.markEmpty(A, 0);
    expect(d.has(A)).toBe(false);
    expect(d.all()).toEqual([]);
  });

  it('lists only the tenants believed to hold waiting jobs, in the order first learnt', () => {
    const d = new TenantDirectory();
    d.markReady(B);
    d.markReady(A);
    d.setDepth(C, 0); // known, but never announced
    d.markReady(C);
    d.markEmpty(A, d.version(A));
    expect(d.waiting()).toEqual([B, C]);
    expect(d.all().map((t) => t.key)).toEqual([B, A, C]);
  });

  it('adds a tenant, not waiting, when only its depth is learnt', () => {
    const d = new TenantDirectory();
    d.setDepth(A, 4);
    expect(d.all()).toEqual([{ key: A, name: null, waiting: false, depth: 4, version: 0 }]);
    expect(d.waiting()).toEqual([]);
  });

  it("reads a known tenant's name once at a time, again after a failed read, and never for a tenant it forgot", () => {
    const d = new TenantDirectory();
    expect(d.startNaming(A)).toBe(false); // unknown
    d.markReady(A);
    expect(d.startNaming(A)).toBe(true);
    expect(d.startNaming(A)).toBe(false); // being read
    d.setName(A, null); // the read failed
    expect(d.startNaming(A)).toBe(true);
    d.setName(A, 'acme');
    expect(d.all()[0]!.name).toBe('acme');
    expect(d.startNaming(A)).toBe(false); // known
    // a name that arrives after its tenant was forgotten does not bring it back (nor leaves anything behind)
    d.markReady(B);
    expect(d.startNaming(B)).toBe(true);
    d.forget(B);
    d.setName(B, 'late');
    expect(d.has(B)).toBe(false);
    d.markReady(B);
    expect(d.all().find((t) => t.key === B)!.name).toBeNull();
    expect(d.startNaming(B)).toBe(true);
  });

  it('forgets a tenant whose queue no longer exists', () => {
    const d = new TenantDirectory();
    d.markReady(A);
    d.setName(A, 'acme');
    d.forget(A);
    expect(d.has(A)).toBe(false);
    expect(d.waiting()).toEqual([]);
    expect(d.version(A)).toBe(0);
    d.forget(B); // unknown: nothing to do
    expect(d.all()).toEqual([]);
  });

  describe('changes', () => {
    it('resolves when a tenant starts waiting', async () => {
      const d = new TenantDirectory();
      const change = d.changes(10_000);
      await expectWokenBy(change, () => d.markReady(A));
    });

    it('resolves when changed() is called', async () => {
      const d = new TenantDirectory();
      const change = d.changes(10_000);
      d.changed();
      expect(await within(change, 500)).toBe('settled');
    });

    it('wakes every waiter at once', async () => {
      const d = new TenantDirectory();
      const changes = [d.changes(10_000), d.changes(10_000), d.changes(10_000)];
      d.markReady(A);
      expect(await within(Promise.all(changes), 500)).toBe('settled');
    });

    it('resolves after the timeout when nothing changes', async () => {
      const d = new TenantDirectory();
      const started = performance.now();
      await d.changes(30);
      expect(performance.now() - started).toBeGreaterThanOrEqual(25);
    });

    it('is not woken by a tenant that was waiting already, nor by one found empty', async () => {
      const d = new TenantDirectory();
      d.markReady(A);
      const change = d.changes(10_000);
      d.markReady(A, 5);
      d.markEmpty(B, 0);
      d.markEmpty(A, d.version(A));
      await expectWokenBy(change, () => d.markReady(A), 50); // empty → waiting again
    });

    it('only wakes the waiters of the moment: a later change needs a new wait', async () => {
      const d = new TenantDirectory();
      const first = d.changes(10_000);
      d.changed();
      await first;
      const second = d.changes(10_000);
      await expectWokenBy(second, () => d.markReady(A));
    });

    it('drops a waiter whose timeout fired, so later changes still wake the others', async () => {
      const d = new TenantDirectory();
      await d.changes(5);
      const other = d.changes(10_000);
      d.changed();
      expect(await within(other, 500)).toBe('settled');
    });
  });
});

describe('TenantDirectory versions after a tenant is forgotten', () => {
  it('never lets a look begun before the tenant was forgotten hide work announced after it came back', () => {
    const d = new TenantDirectory();
    const K = '00000000000000a1';
    d.markReady(K);
    const seen = d.version(K);
    d.forget(K);
    d.markReady(K);
    d.markEmpty(K, seen);
    expect(d.waiting()).toEqual([K]);
  });
});
