import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { createLogger, type JobStore, type TenantQueues } from '@media-foundry/shared/node';
import { TenantDirectory } from './tenant-directory.js';
import { TenantRotation } from './tenant-rotation.js';
import { TenantScanner } from './tenant-scanner.js';

const A = '00000000000000a1';
const B = '00000000000000b2';
const IDLE_MS = 60_000;

/**
 * A broker and an index in memory: `queues` maps a tenant key to its depth
 * (absent: the queue expired); `index` to when the tenant was last registered.
 */
function world(now: number) {
  const queues = new Map<string, number>();
  const index = new Map<string, number>();
  const names = new Map<string, string>();
  const checked: string[] = [];
  const store = {
    tenantIndex: () => Promise.resolve([...index].map(([key, at]) => ({ key, registeredAt: new Date(at) }))),
    forgetTenant: (key: string) => Promise.resolve(void index.delete(key)),
    tenantName: (key: string) => Promise.resolve(names.get(key) ?? null),
  } as unknown as JobStore;
  const tenants = {
    depth: (key: string) => {
      checked.push(key);
      return Promise.resolve(queues.get(key) ?? null);
    },
  } as unknown as TenantQueues;
  const directory = new TenantDirectory();
  const rotation = new TenantRotation();
  const scanner = new TenantScanner({ store, tenants, directory, rotation, idleMs: IDLE_MS, logger: createLogger('test', 'silent') });
  /** A tenant registered at `at`, its queue holding `depth` jobs. */
  const register = (key: string, name: string, at: number, depth: number) => {
    queues.set(key, depth);
    index.set(key, at);
    names.set(key, name);
  };
  return { now, queues, index, checked, directory, rotation, scanner, register };
}

describe('TenantScanner', () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  it('finds on start every indexed queue that holds jobs, with its name', async () => {
    const w = world(10 * IDLE_MS);
    w.register(A, 'acme', w.now - 5 * IDLE_MS, 3); // long ago: only a full scan looks
    w.register(B, 'globex', w.now - 1000, 0);
    await w.scanner.scan(true, w.now);
    expect(w.directory.waiting()).toEqual([A]);
    // an empty queue adds nothing: the directory holds the tenants it has seen work for
    expect(w.directory.all().map((t) => [t.key, t.name, t.depth])).toEqual([[A, 'acme', 3]]);
  });

  it('looks between full scans only at the tenants with jobs and those registered within an idle period', async () => {
    const w = world(10 * IDLE_MS);
    w.register(A, 'acme', w.now - 5 * IDLE_MS, 0);
    w.register(B, 'globex', w.now - 1000, 0);
    await w.scanner.scan(false, w.now);
    expect(w.checked).toEqual([B]);
  });

  it('forgets a tenant whose queue expired after its registration stopped counting as recent (a later full scan)', async () => {
    const w = world(10 * IDLE_MS);
    // registered, then its jobs were taken for longer than an idle period (every take keeps the queue alive)
    w.register(A, 'acme', w.now - 2 * IDLE_MS, 0);
    w.directory.markReady(A);
    w.directory.markEmpty(A, w.directory.version(A));
    w.rotation.next([A]);
    w.queues.delete(A); // an idle period after the last take: RabbitMQ deleted it
    await w.scanner.scan(false, w.now);
    expect(w.directory.has(A)).toBe(true); // a recent scan does not look at it: neither waiting nor registered lately
    await w.scanner.scan(true, w.now);
    expect(w.directory.has(A)).toBe(false);
    expect(w.rotation.order()).toEqual([]);
    expect(w.index.has(A)).toBe(false);
  });

  it('forgets on a full scan a tenant it knows from announcements only (not in the index)', async () => {
    const w = world(10 * IDLE_MS);
    w.directory.markReady(B);
    w.directory.markEmpty(B, w.directory.version(B));
    await w.scanner.scan(true, w.now);
    expect(w.directory.has(B)).toBe(false);
  });

  it('keeps an index entry whose queue is gone while its registration is recent (the queue is being made)', async () => {
    const w = world(10 * IDLE_MS);
    w.register(A, 'acme', w.now - 1000, 0);
    w.queues.delete(A);
    await w.scanner.scan(true, w.now);
    expect(w.index.has(A)).toBe(true);
  });

  it('scans everything on start and every fullEveryMs, the recent part every intervalMs in between', async () => {
    jest.useFakeTimers({ now: 10 * IDLE_MS });
    const w = world(Date.now());
    w.register(A, 'acme', w.now - 5 * IDLE_MS, 0);
    const scans: boolean[] = [];
    const scan = w.scanner.scan.bind(w.scanner);
    w.scanner.scan = (full, now) => {
      scans.push(full);
      return scan(full, now);
    };
    w.scanner.start(1000, 3500);
    for (let i = 0; i < 8; i++) await jest.advanceTimersByTimeAsync(1000);
    await w.scanner.stop();
    // at 0 (start), then at 1, 2, 3 s recent; at 4 s (3.5 s after the first) full; 5, 6, 7 recent; at 8 full
    expect(scans).toEqual([true, false, false, false, true, false, false, false, true]);
    expect(w.checked).toEqual([A, A, A]);
  });
});
