/**
 * Open connections per client (API key or JWT subject) on this gateway
 * process: MAX_CONNECTIONS_PER_CLIENT. Counted when a socket opens (after
 * authentication), released when it closes; a gateway knows nothing of the
 * sockets other gateways hold, so the ceiling is per process.
 */
export class ClientConnections {
  private readonly counts = new Map<string, number>();

  constructor(private readonly max: number) {}

  /** Counts one more connection of `clientId`; false (and nothing counted) when it has `max` already. */
  admit(clientId: string): boolean {
    const n = this.counts.get(clientId) ?? 0;
    if (n >= this.max) return false;
    this.counts.set(clientId, n + 1);
    return true;
  }

  /** One admitted connection of `clientId` closed. */
  release(clientId: string): void {
    const n = (this.counts.get(clientId) ?? 0) - 1;
    if (n > 0) this.counts.set(clientId, n);
    else this.counts.delete(clientId);
  }

  /** Connections of `clientId` open now. */
  of(clientId: string): number {
    return this.counts.get(clientId) ?? 0;
  }
}
