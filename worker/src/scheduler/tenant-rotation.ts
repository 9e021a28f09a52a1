/**
 * Which tenant a free worker slot serves next: weighted round robin over the
 * tenants that have jobs waiting (and are under their running limit). Each
 * tenant, in the order it first showed up, gets `weight` starts in a row,
 * then the next tenant's turn comes — whatever the order jobs were
 * submitted in. A tenant alone gets every turn. Pure: no I/O, no clock.
 */
export class TenantRotation {
  /** Tenants in turn order (first seen first). */
  private readonly ring: string[] = [];
  /** The ring's tenants, to tell a new one in one step (a backend may bring thousands). */
  private readonly inRing = new Set<string>();
  private current: string | null = null;
  /** Starts left in the current tenant's turn. */
  private credit = 0;

  constructor(private readonly weightOf: (tenantKey: string) => number = () => 1) {}

  /** The tenant to serve now, from `eligible` (tenants with waiting jobs); null when there is none. */
  next(eligible: readonly string[]): string | null {
    if (eligible.length === 0) return null;
    const allowed = new Set(eligible);
    for (const key of eligible)
      if (!this.inRing.has(key)) {
        this.inRing.add(key);
        this.ring.push(key);
      }
    if (this.current !== null && this.credit > 0 && allowed.has(this.current)) {
      this.credit -= 1;
      return this.current;
    }
    // the next eligible tenant after the current one, wrapping around
    const start = this.current === null ? -1 : this.ring.indexOf(this.current);
    for (let step = 1; step <= this.ring.length; step++) {
      const key = this.ring[(start + step) % this.ring.length]!;
      if (!allowed.has(key)) continue;
      this.current = key;
      this.credit = Math.max(1, this.weightOf(key)) - 1;
      return key;
    }
    return null; // unreachable: every eligible tenant is in the ring
  }

  /** Drops a tenant that went away (its queue expired); it rejoins at the end if it comes back. */
  forget(tenantKey: string): void {
    const at = this.ring.indexOf(tenantKey);
    if (at < 0) return;
    if (this.current === tenantKey) {
      // keep the turn order: the tenant before it becomes current with no credit left
      this.current = this.ring.length > 1 ? this.ring[(at - 1 + this.ring.length) % this.ring.length]! : null;
      this.credit = 0;
    }
    this.ring.splice(at, 1);
    this.inRing.delete(tenantKey);
  }

  /** The tenants in turn order (for tests and /health). */
  order(): readonly string[] {
    return this.ring;
  }
}
