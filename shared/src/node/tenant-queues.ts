/**
 * The per-tenant job queues, as publishers and workers use them. A tenant's
 * queue is created on demand (passively checked first, so a queue declared
 * with older arguments keeps working), registered once in the tenant index
 * in storage (a worker that starts later finds it there), and expires by
 * itself when unused.
 */
import { tenantQueueArguments, type Topology } from '../topology.js';
import type { Broker, Channel } from './broker.js';
import type { Logger } from './logger.js';
import { type JobStore, tenantKey } from './job-store.js';

/** amqplib's error for a queue that does not exist (the broker closes the channel with it). */
export function isQueueMissing(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 404;
}

/** amqplib's error for a declare whose arguments differ from the existing queue's. */
export function isPreconditionFailed(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 406;
}

/** One channel of a SpareChannel, and the operations waiting for it. */
interface Lane {
  current: Promise<Channel> | null;
  /** Settles when the last operation queued on this lane has. */
  tail: Promise<unknown>;
  /** Operations queued or running on it. */
  pending: number;
}

/** One call of `run`: whether its time is up, and the channel it is running on. */
interface Call {
  expired: boolean;
  channel: Channel | null;
}

/**
 * Raw channels for operations that may close them (a passive check of a
 * missing queue answers 404 by closing the channel). Each of `width` lanes
 * runs its operations one at a time, so a 404 only ever ends its own
 * operation; a lane's channel is reopened on demand. An operation goes to the
 * lane with the fewest waiting.
 *
 * An operation's time counts from when it is queued, not from when it
 * begins: a lane backed up behind slow operations (quorum queues being
 * created) fails what waits on it in time, with a clear error, rather than
 * holding it without bound. One given up while waiting is never run; one
 * given up while running has its channel closed, which ends it.
 */
export class SpareChannel {
  private readonly lanes: Lane[];

  constructor(
    private readonly broker: Broker,
    /** An operation (its wait for a lane and a connection included) that takes longer fails, ms. */
    private readonly timeoutMs = 10_000,
    width = 1,
  ) {
    this.lanes = Array.from({ length: Math.max(1, width) }, () => ({ current: null, tail: Promise.resolve(), pending: 0 }));
  }

  /** Operations queued or running now. */
  get pending(): number {
    return this.lanes.reduce((sum, lane) => sum + lane.pending, 0);
  }

  private channel(lane: Lane): Promise<Channel> {
    if (!lane.current) {
      const opening = this.broker.rawChannel();
      lane.current = opening;
      const forget = () => {
        if (lane.current === opening) lane.current = null;
      };
      opening.then((ch) => ch.once('close', forget), forget);
    }
    return lane.current;
  }

  run<T>(op: (ch: Channel) => Promise<T>): Promise<T> {
    const lane = this.lanes.reduce((best, l) => (l.pending < best.pending ? l : best));
    const ahead = lane.pending;
    lane.pending += 1;
    const call: Call = { expired: false, channel: null };
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        call.expired = true;
        const running = call.channel !== null;
        call.channel?.close().catch(() => {});
        const waited = running || ahead === 0 ? '' : ` (it waited behind ${ahead} other operation${ahead === 1 ? '' : 's'})`;
        reject(new Error(`RabbitMQ did not answer within ${this.timeoutMs / 1000}s${waited}`));
      }, this.timeoutMs);
    });
    const work = lane.tail.then(() => (call.expired ? undefined : this.attempt(lane, op, call)));
    lane.tail = work
      .catch(() => {})
      .finally(() => {
        lane.pending -= 1;
      });
    return Promise.race([work as Promise<T>, timeout]).finally(() => clearTimeout(timer));
  }

  private async attempt<T>(lane: Lane, op: (ch: Channel) => Promise<T>, call: Call): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const opening = this.channel(lane);
      const ch = await opening;
      // given up while the channel opened (RabbitMQ away): not started at all
      if (call.expired) throw new Error('given up before it began');
      call.channel = ch;
      try {
        return await op(ch);
      } catch (err) {
        // whatever failed, this channel may be closed now: the next operation opens a fresh one
        if (lane.current === opening) lane.current = null;
        ch.close().catch(() => {});
        if (call.expired || isQueueMissing(err) || isPreconditionFailed(err) || attempt >= 2) throw err;
      } finally {
        call.channel = null;
      }
    }
  }

  async close(): Promise<void> {
    await Promise.all(
      this.lanes.map(async (lane) => {
        await lane.tail;
        const current = lane.current;
        lane.current = null;
        if (current) await current.then((ch) => ch.close()).catch(() => {});
      }),
    );
  }
}

export interface TenantQueueOptions {
  deliveryLimit: number;
  /** x-expires of tenant queues, ms. */
  idleMs: number;
  /** A broker call (a declare or a check) that takes longer fails, ms (PUBLISH_TIMEOUT_SECONDS). */
  timeoutMs?: number;
  logger?: Logger;
}

/**
 * Lanes for declares: creating a quorum queue takes the broker tens of ms, and
 * a burst of new tenants (with auth off, every connection is one) must not
 * queue all submissions behind one channel.
 */
const DECLARE_LANES = 4;
/** Lanes for passive checks (known tenants' depth, the intake): never behind a declare that creates a queue. */
const CHECK_LANES = 2;
/** The longest a declare is trusted, ms (less when TENANT_QUEUE_IDLE_SECONDS is short). */
const DECLARE_TRUST_MAX_MS = 60_000;

export class TenantQueues {
  private readonly declares: SpareChannel;
  private readonly checks: SpareChannel;
  /** When this process last registered each tenant in the index (entries past their use are pruned). */
  private readonly registered = new Map<string, number>();
  /** When this process last declared each tenant's queue (entries past `trustMs` are pruned). */
  private readonly declared = new Map<string, number>();
  /**
   * How long after a declare a passive check stands in for the next one. Well
   * under the idle expiry, though the check is what guards against a queue
   * that expired meanwhile: it answers "missing" and the queue is declared
   * again (a declare does not keep a quorum queue alive: topology.ts).
   */
  private readonly trustMs: number;
  private prunedAt = Date.now();

  constructor(
    broker: Broker,
    private readonly topology: Topology,
    private readonly store: JobStore,
    private readonly options: TenantQueueOptions,
  ) {
    this.declares = new SpareChannel(broker, options.timeoutMs, DECLARE_LANES);
    this.checks = new SpareChannel(broker, options.timeoutMs, CHECK_LANES);
    this.trustMs = Math.min(options.idleMs / 10, DECLARE_TRUST_MAX_MS);
  }

  /**
   * Declares the queue, creating it when it does not exist. A queue declared
   * earlier with other arguments (a changed TENANT_QUEUE_IDLE_SECONDS) is
   * refused with PRECONDITION_FAILED: then it is only checked, and keeps its
   * own arguments until it expires.
   */
  private async declare(key: string): Promise<number> {
    const queue = this.topology.tenantQueue(key);
    const args = tenantQueueArguments(this.topology, this.options.deliveryLimit, this.options.idleMs);
    try {
      return (await this.declares.run((ch) => ch.assertQueue(queue, { durable: true, arguments: args }))).messageCount;
    } catch (err) {
      if (!isPreconditionFailed(err)) throw err;
      this.options.logger?.warn({ queue }, 'tenant queue was declared with other arguments; it keeps them until it expires');
      return (await this.declares.run((ch) => ch.checkQueue(queue))).messageCount;
    }
  }

  /**
   * Makes sure the tenant's queue exists and is registered; returns its key,
   * name and how many jobs wait in it now. A queue this process declared
   * lately is only checked (on a lane no declare waits on); one found missing
   * is declared again.
   */
  async prepare(tenant: string): Promise<{ key: string; queue: string; depth: number }> {
    const key = tenantKey(tenant);
    const queue = this.topology.tenantQueue(key);
    const declaredAt = this.declared.get(key);
    let depth = declaredAt !== undefined && Date.now() - declaredAt < this.trustMs ? await this.checkDepth(queue) : null;
    if (depth === null) {
      this.declared.delete(key);
      depth = await this.declare(key);
      this.declared.set(key, Date.now());
    }
    // re-registered a few times per idle period, so the index never loses a queue that is in use
    const now = Date.now();
    const refresh = this.options.idleMs / 4;
    this.prune(now, refresh);
    const at = this.registered.get(key) ?? 0;
    if (now - at > refresh) {
      // the index only helps workers that start later: a store that cannot take it now must not stop the job
      await this.store.registerTenant({ tenant, tenant_key: key }).then(
        () => this.registered.set(key, Date.now()),
        (err: unknown) => this.options.logger?.warn({ err, tenant_key: key }, 'tenant not registered in the index; will try again'),
      );
    }
    return { key, queue, depth };
  }

  /**
   * The tenant's queue was found missing (a job published to it came back
   * unroutable: it expired since it was last declared or checked). The next
   * `prepare` declares it again.
   */
  lost(key: string): void {
    this.declared.delete(key);
  }

  /**
   * Drops, once per `refresh`, the registrations and declares old enough to be
   * made again anyway: one per tenant ever seen would pile up.
   */
  private prune(now: number, refresh: number): void {
    if (now - this.prunedAt < Math.min(refresh, this.trustMs)) return;
    this.prunedAt = now;
    for (const [key, at] of this.registered) if (now - at > refresh) this.registered.delete(key);
    for (const [key, at] of this.declared) if (now - at >= this.trustMs) this.declared.delete(key);
  }

  /** How many tenants this process holds a registration time for (for tests). */
  registrations(): number {
    return this.registered.size;
  }

  /** How many tenants' declares this process trusts now (for tests). */
  declarations(): number {
    return this.declared.size;
  }

  /** Jobs waiting in the tenant's queue; null when it does not exist (a passive check: it is not created). */
  depth(key: string): Promise<number | null> {
    return this.checkDepth(this.topology.tenantQueue(key));
  }

  /** Jobs waiting in the intake queue; null when it does not exist (yet). */
  intakeDepth(): Promise<number | null> {
    return this.checkDepth(this.topology.jobsQueue);
  }

  private async checkDepth(queue: string): Promise<number | null> {
    try {
      return (await this.checks.run((ch) => ch.checkQueue(queue))).messageCount;
    } catch (err) {
      if (isQueueMissing(err)) return null;
      throw err;
    }
  }

  async close(): Promise<void> {
    await Promise.all([this.declares.close(), this.checks.close()]);
  }
}
