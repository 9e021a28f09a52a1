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

/**
 * One raw channel for operations that may close it (a passive check of a
 * missing queue answers 404 by closing the channel). Operations run one at
 * a time, so a 404 only ever ends its own operation; the channel is reopened
 * on demand.
 */
export class SpareChannel {
  private current: Promise<Channel> | null = null;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly broker: Broker,
    /** An operation (waiting for a connection included) that takes longer fails, ms. */
    private readonly timeoutMs = 10_000,
  ) {}

  private channel(): Promise<Channel> {
    if (!this.current) {
      const opening = this.broker.rawChannel();
      this.current = opening;
      const forget = () => {
        if (this.current === opening) this.current = null;
      };
      opening.then((ch) => ch.once('close', forget), forget);
    }
    return this.current;
  }

  run<T>(op: (ch: Channel) => Promise<T>): Promise<T> {
    const result = this.tail.then(() => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`RabbitMQ did not answer within ${this.timeoutMs / 1000}s`)), this.timeoutMs);
      });
      return Promise.race([this.attempt(op), timeout]).finally(() => clearTimeout(timer));
    });
    this.tail = result.catch(() => {});
    return result;
  }

  private async attempt<T>(op: (ch: Channel) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const opening = this.channel();
      const ch = await opening;
      try {
        return await op(ch);
      } catch (err) {
        // whatever failed, this channel may be closed now: the next operation opens a fresh one
        if (this.current === opening) this.current = null;
        ch.close().catch(() => {});
        if (isQueueMissing(err) || isPreconditionFailed(err) || attempt >= 2) throw err;
      }
    }
  }

  async close(): Promise<void> {
    await this.tail;
    const current = this.current;
    this.current = null;
    if (current) await current.then((ch) => ch.close()).catch(() => {});
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

export class TenantQueues {
  private readonly spare: SpareChannel;
  /** When this process last registered each tenant in the index (entries past their use are pruned). */
  private readonly registered = new Map<string, number>();
  private prunedAt = Date.now();

  constructor(
    broker: Broker,
    private readonly topology: Topology,
    private readonly store: JobStore,
    private readonly options: TenantQueueOptions,
  ) {
    this.spare = new SpareChannel(broker, options.timeoutMs);
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
      return (await this.spare.run((ch) => ch.assertQueue(queue, { durable: true, arguments: args }))).messageCount;
    } catch (err) {
      if (!isPreconditionFailed(err)) throw err;
      this.options.logger?.warn({ queue }, 'tenant queue was declared with other arguments; it keeps them until it expires');
      return (await this.spare.run((ch) => ch.checkQueue(queue))).messageCount;
    }
  }

  /**
   * Makes sure the tenant's queue exists and is registered; returns its key,
   * name and how many jobs wait in it now.
   */
  async prepare(tenant: string): Promise<{ key: string; queue: string; depth: number }> {
    const key = tenantKey(tenant);
    const queue = this.topology.tenantQueue(key);
    const depth = await this.declare(key);
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

  /** Drops, once per `refresh`, the registrations old enough to be made again anyway: one per tenant ever seen would pile up. */
  private prune(now: number, refresh: number): void {
    if (now - this.prunedAt < refresh) return;
    this.prunedAt = now;
    for (const [key, at] of this.registered) if (now - at > refresh) this.registered.delete(key);
  }

  /** How many tenants this process holds a registration time for (for tests). */
  registrations(): number {
    return this.registered.size;
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
      return (await this.spare.run((ch) => ch.checkQueue(queue))).messageCount;
    } catch (err) {
      if (isQueueMissing(err)) return null;
      throw err;
    }
  }

  close(): Promise<void> {
    return this.spare.close();
  }
}
