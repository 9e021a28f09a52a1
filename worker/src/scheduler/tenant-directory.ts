/**
 * The tenant queues this worker knows of, and which of them it believes hold
 * waiting jobs. Learnt from announcements (`tenant_ready` on the control
 * exchange, sent after every publish to a tenant queue), from what each
 * basic.get reports, and from periodic passive checks of the queues listed in
 * the tenant index. Pure state with a change signal; the I/O is elsewhere.
 */
export interface TenantInfo {
  key: string;
  /** The tenant's name, once read from the index (for metrics). */
  name: string | null;
  /** Whether the queue is believed to hold jobs. */
  waiting: boolean;
  /** Jobs ready in the queue at the last look (null: not looked yet). */
  depth: number | null;
  /** Bumped on every sign of new work: a "looked empty" from before it must not hide the work. */
  version: number;
}

export class TenantDirectory {
  private readonly tenants = new Map<string, TenantInfo>();
  /** Tenants whose name is being read from the index now. */
  private readonly naming = new Set<string>();
  /** One counter for every tenant, so a version is never reused (not even after a tenant is forgotten and comes back). */
  private clock = 0;
  private waiters: (() => void)[] = [];

  private entry(key: string): TenantInfo {
    let info = this.tenants.get(key);
    if (!info) {
      info = { key, name: null, waiting: false, depth: null, version: 0 };
      this.tenants.set(key, info);
    }
    return info;
  }

  /** The queue has (or may have) jobs: from an announcement, a get, or a check. */
  markReady(key: string, depth: number | null = null): void {
    const info = this.entry(key);
    info.version = ++this.clock;
    if (depth !== null) info.depth = depth;
    if (!info.waiting) {
      info.waiting = true;
      this.changed();
    }
  }

  /** A look (begun at `version`) found the queue empty; ignored if new work was announced since. */
  markEmpty(key: string, version: number): void {
    const info = this.tenants.get(key);
    if (!info || info.version !== version) return;
    info.waiting = false;
    info.depth = 0;
  }

  setDepth(key: string, depth: number): void {
    this.entry(key).depth = depth;
  }

  /**
   * Whether the tenant's name should be read now: known to the directory,
   * its name unknown and not being read already. A true answer must be
   * followed by `setName`, with null when the read failed.
   */
  startNaming(key: string): boolean {
    if (this.tenants.get(key)?.name !== null || this.naming.has(key)) return false;
    this.naming.add(key);
    return true;
  }

  /** The name read for a tenant (null: not read, try again later); ignored for a tenant forgotten meanwhile. */
  setName(key: string, name: string | null): void {
    this.naming.delete(key);
    const info = this.tenants.get(key);
    if (info && name !== null) info.name = name;
  }

  /** The queue no longer exists. */
  forget(key: string): void {
    this.tenants.delete(key);
    this.naming.delete(key);
  }

  version(key: string): number {
    return this.tenants.get(key)?.version ?? 0;
  }

  /** Tenants believed to hold waiting jobs. */
  waiting(): string[] {
    return [...this.tenants.values()].filter((t) => t.waiting).map((t) => t.key);
  }

  all(): TenantInfo[] {
    return [...this.tenants.values()];
  }

  has(key: string): boolean {
    return this.tenants.has(key);
  }

  /** Wakes whoever waits in `changes()`. */
  changed(): void {
    for (const wake of this.waiters.splice(0)) wake();
  }

  /** Resolves at the next change, or after `ms` at the latest. */
  changes(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const waiters = this.waiters;
      function done() {
        clearTimeout(timer);
        const at = waiters.indexOf(done);
        if (at >= 0) waiters.splice(at, 1);
        resolve();
      }
      waiters.push(done);
    });
  }
}
