/**
 * The bytes this gateway process holds for its clients' uploads and
 * deliveries, against one ceiling (GATEWAY_BUFFER_BUDGET_MB): each
 * connection is bounded on its own, and this bounds their sum. New work
 * asks with `reserve` and is refused when it does not fit; a delivery (a
 * result that must arrive) asks with `acquire` and waits its turn.
 *
 * Two rules keep it from deadlocking or starving:
 * - A reservation larger than the whole budget is granted when nothing else
 *   is held: it goes alone, so a budget set below one upload window or one
 *   output frame slows the gateway down to one at a time, never to none.
 * - Waiters are served first come, first served, and `reserve` refuses while
 *   anyone waits: new uploads cannot keep a waiting delivery from its turn.
 * - One client (API key, JWT subject) may `reserve` at most CLIENT_SHARE of
 *   the budget beyond its first reservation: one key with many connections
 *   cannot fill it and turn every other client away.
 */

/** The part of the budget one client's uploads may hold. */
export const CLIENT_SHARE = 0.25;

/** Gives a reservation back; calling it again does nothing. */
export type Release = () => void;

const NOTHING: Release = () => {};

export class ByteBudget {
  private held = 0;
  /** Bytes each client holds through `reserve`. */
  private readonly byClient = new Map<string, number>();
  private readonly waiters: { bytes: number; grant: (release: Release) => void }[] = [];

  constructor(
    /** The ceiling, bytes. */
    readonly limit: number,
  ) {}

  /** Bytes reserved now. */
  used(): number {
    return this.held;
  }

  /** Deliveries waiting for room. */
  waiting(): number {
    return this.waiters.length;
  }

  /** Whether every `reserve` would be refused now: the budget is spent, or a delivery waits for room. */
  full(): boolean {
    return this.waiters.length > 0 || this.held >= this.limit;
  }

  /** Bytes `client` holds now through `reserve`. */
  heldBy(client: string): number {
    return this.byClient.get(client) ?? 0;
  }

  /** Whether `client` may not reserve `bytes` more, being at its share (CLIENT_SHARE) of the budget. */
  overShare(client: string, bytes: number): boolean {
    const mine = this.heldBy(client);
    return mine > 0 && mine + bytes > this.limit * CLIENT_SHARE;
  }

  /** Why `reserve(bytes, client)` would be refused now: the gateway is full, or the client is at its share; null if it would not. */
  refusal(bytes: number, client?: string): 'full' | 'share' | null {
    if (bytes <= 0) return null;
    if (this.waiters.length > 0 || !this.fits(bytes)) return 'full';
    if (client !== undefined && this.overShare(client, bytes)) return 'share';
    return null;
  }

  /** Reserves `bytes` for `client` if they fit now (and nobody waits, and the client is within its share), else null. */
  reserve(bytes: number, client?: string): Release | null {
    if (bytes <= 0) return NOTHING;
    if (this.refusal(bytes, client)) return null;
    const release = this.take(bytes);
    if (client === undefined) return release;
    this.byClient.set(client, this.heldBy(client) + bytes);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = this.heldBy(client) - bytes;
      if (left > 0) this.byClient.set(client, left);
      else this.byClient.delete(client);
      release();
    };
  }

  /** Reserves `bytes` once they fit, after those who asked before. */
  acquire(bytes: number): Promise<Release> {
    const now = this.reserve(bytes);
    if (now) return Promise.resolve(now);
    return new Promise((grant) => this.waiters.push({ bytes, grant }));
  }

  private fits(bytes: number): boolean {
    return this.held === 0 || this.held + bytes <= this.limit;
  }

  private take(bytes: number): Release {
    this.held += bytes;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.held -= bytes;
      this.wake();
    };
  }

  private wake(): void {
    while (this.waiters.length > 0 && this.fits(this.waiters[0]!.bytes)) {
      const next = this.waiters.shift()!;
      next.grant(this.take(next.bytes));
    }
  }
}
