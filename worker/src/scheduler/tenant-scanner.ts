/**
 * Keeps the tenant directory true to the broker, as a safety net under the
 * announcements: on start every queue in the tenant index is checked (a
 * worker that starts after a restart finds the jobs that wait), and then
 * every `intervalMs` the queues believed to hold jobs plus those registered
 * lately.
 * Every `fullEveryMs` the whole index and every tenant the directory knows
 * are checked again: a queue that expires after its registration stopped
 * counting as recent (taken from later, or idle a while after it emptied)
 * is found gone there, so the directory, the turn order and the index do
 * not keep every tenant ever seen. Index entries of queues that are gone and
 * were not registered for an idle period are removed.
 */
import type { JobStore, Logger, TenantQueues } from '@media-foundry/shared/node';
import type { TenantDirectory } from './tenant-directory.js';
import type { TenantRotation } from './tenant-rotation.js';

export interface ScannerDeps {
  store: JobStore;
  tenants: TenantQueues;
  directory: TenantDirectory;
  rotation: TenantRotation;
  /** TENANT_QUEUE_IDLE_SECONDS, ms. */
  idleMs: number;
  logger: Logger;
}

export class TenantScanner {
  private timer: NodeJS.Timeout | null = null;
  private scanning: Promise<void> | null = null;

  constructor(private readonly deps: ScannerDeps) {}

  /** Scans everything now and every `fullEveryMs`, and the recent part every `intervalMs` in between. */
  start(intervalMs: number, fullEveryMs: number): void {
    let lastFull = 0;
    const run = () => {
      if (this.scanning) return;
      const now = Date.now();
      const full = now - lastFull >= fullEveryMs;
      this.scanning = this.scan(full, now)
        .then(() => {
          if (full) lastFull = now;
        })
        .catch((err: unknown) => this.deps.logger.warn({ err }, 'tenant scan failed'))
        .finally(() => (this.scanning = null));
    };
    run();
    this.timer = setInterval(run, intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.scanning;
  }

  /** One pass: `full` checks every indexed or known queue, else only those in use or registered within an idle period. */
  async scan(full: boolean, now = Date.now()): Promise<void> {
    const { store, tenants, directory, rotation, idleMs } = this.deps;
    const index = await store.tenantIndex();
    const registeredAt = new Map(index.map((e) => [e.key, e.registeredAt.getTime()]));
    const keys = new Set(full ? directory.all().map((t) => t.key) : directory.waiting());
    for (const e of index) if (full || now - e.registeredAt.getTime() < idleMs) keys.add(e.key);
    for (const key of keys) {
      const version = directory.version(key);
      const depth = await tenants.depth(key);
      if (depth === null) {
        directory.forget(key);
        rotation.forget(key);
        const at = registeredAt.get(key);
        if (at !== undefined && now - at > idleMs) await store.forgetTenant(key).catch(() => {});
        continue;
      }
      if (depth > 0) directory.markReady(key, depth);
      else directory.markEmpty(key, version);
      if (directory.startNaming(key)) directory.setName(key, await store.tenantName(key).catch(() => null));
    }
  }
}
