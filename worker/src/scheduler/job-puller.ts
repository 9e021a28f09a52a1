/**
 * Fair scheduling, worker side. Each of a worker's MAX_CONCURRENT_JOBS slots
 * owns a channel; when a slot is free it asks for the next tenant in turn
 * (TenantRotation over the tenants with waiting jobs that are under
 * MAX_JOBS_PER_CLIENT across the cluster) and takes one job from that
 * tenant's queue with basic.get. The job stays unacked on the slot's channel
 * while it runs: a worker that dies hands it back to its tenant's queue.
 * Picks are made one at a time per worker, so the turn order holds.
 */
import { type WorkerConfig, jobId as jobIdSchema, jsonField, type Topology } from '@media-foundry/shared';
import { type Broker, type Channel, type ConsumeMessage, type GetMessage, isQueueMissing, type Logger } from '@media-foundry/shared/node';
import type { ClusterView, RunningJob } from './cluster-view.js';
import { type SlotHolder, slotToYield } from './fair-share.js';
import type { TenantDirectory } from './tenant-directory.js';
import type { TenantRotation } from './tenant-rotation.js';

/** One job taken from a tenant's queue, until it is settled. */
export interface Delivery {
  message: GetMessage;
  tenantKey: string;
  /** Deliveries of this job before this one (RabbitMQ's x-delivery-count). */
  deliveryCount: number;
  /** Done with it: removed from the queue. */
  ack(): void;
  /** Back to its queue, for this or another worker (counts against the delivery limit). */
  requeue(): void;
  /** Whether its channel is still open (when not, the broker has requeued it already). */
  readonly live: boolean;
}

export interface PullerDeps {
  broker: Broker;
  topology: Topology;
  directory: TenantDirectory;
  view: ClusterView;
  rotation: TenantRotation;
  config: Pick<WorkerConfig, 'maxConcurrentJobs' | 'maxJobsPerClient' | 'fairShareGraceMs'>;
  logger: Logger;
  /** Runs the job and settles it; resolves when it has. */
  handle(delivery: Delivery): Promise<void>;
  /** A job left its tenant's queue (waiting clients move up). */
  onTaken(tenantKey: string, jobId: string): void;
  /** What this worker runs changed (told to the other workers). */
  onRunningChanged(running: RunningJob[]): void;
  /** A job went back to its tenant's queue (told to the other workers, which may have thought it empty). */
  onRequeued(tenantKey: string): void;
  /**
   * Stops a running job and hands it back to its queue, so its slot serves a tenant that starved (fair-share.ts);
   * false when the handler does not run it (yet).
   */
  yieldSlot(jobId: string): boolean;
}

/** A job id for bookkeeping from a message that may not even parse (the handler reports that). */
export function deliveredJobId(message: Pick<GetMessage, 'content' | 'fields'> | Pick<ConsumeMessage, 'content' | 'fields'>): string {
  // not JSON, or no valid id: the handler answers it
  return jsonField(jobIdSchema, message.content.toString('utf8'), 'job_id') ?? `unparsed-${message.fields.deliveryTag}`;
}

/**
 * A job taken while its client's share may be nearly used up waits this
 * long before it asks to be admitted: time for the reports of jobs other
 * workers took at the same moment to arrive, so every worker decides from
 * the same picture.
 */
export const SETTLE_MS = 40;

/**
 * Picks that could pass a client's limit together with other workers' are
 * spread over this long, at random: the first picker's report reaches the
 * others before they pick, so holding (which keeps a slot busy) stays rare.
 */
export const CONTENDED_JITTER_MS = 100;

/** A one-at-a-time lock. */
class Mutex {
  private tail = Promise.resolve();
  async lock(): Promise<() => void> {
    let release!: () => void;
    const previous = this.tail;
    this.tail = new Promise((r) => (release = r));
    await previous;
    return release;
  }
}

export class JobPuller {
  private stopping = false;
  private readonly picking = new Mutex();
  private readonly running = new Map<Delivery, RunningJob>();
  private loops: Promise<void>[] = [];
  /** Tenants with waiting jobs and none running anywhere, since when (ms). */
  private readonly starving = new Map<string, number>();
  /** Jobs asked to yield their slot, not yet gone. */
  private readonly yielding = new Set<Delivery>();
  /** Tenants a yielded slot was freed for: the next pick serves them first. */
  private readonly yieldedFor = new Set<string>();

  constructor(private readonly deps: PullerDeps) {}

  /** Starts the slots. */
  start(): void {
    for (let slot = 0; slot < this.deps.config.maxConcurrentJobs; slot++) this.loops.push(this.slot(slot));
    if (this.deps.config.fairShareGraceMs > 0) this.loops.push(this.watchFairShare());
  }

  /** Looks, at every change and at least once a second, whether a tenant starves for a slot a tenant over its share holds. */
  private async watchFairShare(): Promise<void> {
    while (!this.stopping) {
      await this.deps.directory.changes(1000);
      if (!this.stopping) this.checkFairShare(Date.now());
    }
  }

  /** Asks one job to yield when a tenant has starved long enough (fair-share.ts decides which). */
  checkFairShare(now: number): void {
    const { view, config, logger } = this.deps;
    const running = view.runningByTenant();
    const starvingNow = new Set(this.eligible(running).filter((key) => !running.has(key)));
    for (const key of this.starving.keys()) if (!starvingNow.has(key)) this.starving.delete(key);
    for (const key of starvingNow) if (!this.starving.has(key)) this.starving.set(key, now);
    const holders: (SlotHolder & { delivery: Delivery })[] = [...this.running].map(([delivery, entry]) => ({
      delivery,
      jobId: entry.job_id,
      tenantKey: entry.tenant_key,
      since: entry.since ?? 0,
      firstDelivery: delivery.deliveryCount === 0,
      yielding: this.yielding.has(delivery),
    }));
    const starving = [...this.starving].map(([tenantKey, since]) => ({ tenantKey, since }));
    const decision = slotToYield(holders, starving, config.maxConcurrentJobs, now, config.fairShareGraceMs);
    if (!decision) return;
    const holder = holders.find((h) => h.jobId === decision.jobId)!;
    const held = this.running.get(holder.delivery)?.held === true;
    // a job still waiting for its client's share (admit) is handed back by its slot; a running one by the handler
    if (!held && !this.deps.yieldSlot(decision.jobId)) return; // not running yet, nor waiting: the next look decides again
    this.yielding.add(holder.delivery);
    this.yieldedFor.add(decision.forTenant);
    logger.info(
      { job_id: decision.jobId, tenant: holder.tenantKey, for_tenant: decision.forTenant },
      'a tenant over its share of slots yields one to a tenant that waits (FAIR_SHARE_GRACE_SECONDS)',
    );
    if (held) this.deps.directory.changed(); // wakes admit()
  }

  /** Takes no more jobs; resolves when every slot has finished its current job. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.deps.directory.changed();
    await Promise.all(this.loops);
  }

  /** Jobs of this worker, running now. */
  runningJobs(): RunningJob[] {
    return [...this.running.values()];
  }

  private async slot(slot: number): Promise<void> {
    let channel: { ch: Channel; open: boolean } | null = null;
    while (!this.stopping) {
      if (!channel?.open) {
        let ch: Channel;
        try {
          ch = await this.deps.broker.rawChannel();
        } catch {
          return; // the broker connection was closed: we are stopping
        }
        const opened = { ch, open: true };
        ch.once('close', () => (opened.open = false));
        channel = opened;
      }
      let delivery: Delivery | null;
      try {
        delivery = await this.pick(channel);
      } catch (err) {
        this.deps.logger.warn({ err, slot }, 'taking a job failed');
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      if (!delivery) continue;
      try {
        if (await this.admit(delivery, this.running.get(delivery)!)) await this.deps.handle(delivery);
        else delivery.requeue(); // stopping, yielding, or the channel went (then the broker has it back already)
      } catch (err) {
        this.deps.logger.error({ err, slot }, 'job handler failed unexpectedly');
        delivery.requeue();
      } finally {
        this.running.delete(delivery);
        this.yielding.delete(delivery);
        this.deps.onRunningChanged(this.runningJobs());
        this.deps.directory.changed(); // a slot and maybe a tenant's share came free
      }
    }
    if (channel?.open) await channel.ch.close().catch(() => {});
  }

  /** Tenants with waiting jobs whose jobs, cluster-wide, are under the limit (counted once for all: tenants may be thousands). */
  private eligible(running = this.deps.view.runningByTenant()): string[] {
    const cap = this.deps.config.maxJobsPerClient;
    return this.deps.directory.waiting().filter((key) => (running.get(key) ?? 0) < cap);
  }

  /** Whether picking `tenantKey` now could, together with other workers picking it at the same moment, pass its limit. */
  private contended(tenantKey: string): boolean {
    const { view, config } = this.deps;
    const peers = view.peers();
    return peers > 0 && view.runningFor(tenantKey) + 1 + peers > config.maxJobsPerClient;
  }

  /**
   * Holds a job just taken until its client's share lets it run. Several
   * workers may take the same client's jobs at the very same moment, each
   * from a picture that does not yet show the others'; when that can matter
   * (the jobs taken, plus one per other worker, exceed the limit) the job
   * waits until every worker's reports agree who goes first (ClusterView.mayRun).
   */
  private async admit(delivery: Delivery, entry: RunningJob): Promise<boolean> {
    const { view, directory, config } = this.deps;
    const cap = config.maxJobsPerClient;
    if (view.peers() > 0 && view.runningFor(delivery.tenantKey) + view.peers() > cap) {
      await new Promise((r) => setTimeout(r, SETTLE_MS));
      // asked to yield its slot (fair share) while it waits: handed back, like a running job that yields
      while (!this.yielding.has(delivery) && !view.mayRun(entry.job_id, delivery.tenantKey, cap)) {
        if (this.stopping || !delivery.live) return false;
        await directory.changes(1000);
      }
    }
    if (this.yielding.has(delivery)) return false;
    entry.held = false;
    this.deps.onRunningChanged(this.runningJobs());
    return true;
  }

  /** The next job by the turn order, or null when stopping or the channel closed. */
  private async pick(channel: { ch: Channel; open: boolean }): Promise<Delivery | null> {
    const release = await this.picking.lock();
    try {
      const { directory, rotation, topology } = this.deps;
      for (;;) {
        if (this.stopping || !channel.open) return null;
        const eligible = this.eligible();
        // a slot freed by a yield serves the tenant it was freed for, ahead of the turn order
        const owed = [...this.yieldedFor].find((k) => eligible.includes(k));
        this.yieldedFor.clear();
        const key = owed ?? rotation.next(eligible);
        if (key === null) {
          await directory.changes(2000);
          continue;
        }
        if (this.contended(key)) {
          // near the client's limit, with other workers that may be picking it right now: a random pause
          // lets the first of us take it and tell the others before they look again
          await new Promise((r) => setTimeout(r, Math.random() * CONTENDED_JITTER_MS));
          if (!this.eligible().includes(key)) continue;
        }
        const version = directory.version(key);
        let message: GetMessage | false;
        try {
          message = await channel.ch.get(topology.tenantQueue(key), { noAck: false });
        } catch (err) {
          if (isQueueMissing(err)) {
            // expired or deleted: forget it until someone announces it again
            directory.forget(key);
            rotation.forget(key);
          }
          return null; // the channel is closed either way
        }
        if (!message) {
          directory.markEmpty(key, version);
          continue;
        }
        directory.setDepth(key, message.fields.messageCount);
        if (message.fields.messageCount === 0) directory.markEmpty(key, version);
        return this.take(channel, key, message);
      }
    } finally {
      release();
    }
  }

  private take(channel: { ch: Channel; open: boolean }, tenantKey: string, message: GetMessage): Delivery {
    let settled = false;
    const backInQueue = () => {
      this.deps.directory.markReady(tenantKey);
      this.deps.onRequeued(tenantKey);
    };
    // a channel that closes with the job unsettled hands it back to its queue (the broker does)
    const onClose = () => {
      if (!settled) backInQueue();
    };
    channel.ch.once('close', onClose);
    const settle = (how: (ch: Channel) => void, requeued: boolean) => {
      if (settled || !channel.open) return;
      settled = true;
      channel.ch.removeListener('close', onClose);
      try {
        how(channel.ch);
      } catch (err) {
        this.deps.logger.warn({ err }, 'could not settle a job (its channel closed)');
      }
      if (requeued) backInQueue();
    };
    const delivery: Delivery = {
      message,
      tenantKey,
      deliveryCount: Number(message.properties.headers?.['x-delivery-count'] ?? 0),
      ack: () => settle((ch) => ch.ack(message), false),
      requeue: () => settle((ch) => ch.nack(message, false, true), true),
      get live() {
        return channel.open;
      },
    };
    // counted at once, before the next pick looks at this tenant's share
    const jobId = deliveredJobId(message);
    this.running.set(delivery, { job_id: jobId, tenant_key: tenantKey, since: Date.now(), held: true });
    this.deps.onRunningChanged(this.runningJobs());
    this.deps.onTaken(tenantKey, jobId);
    return delivery;
  }
}
