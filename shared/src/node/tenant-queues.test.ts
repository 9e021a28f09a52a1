import { EventEmitter } from 'node:events';
import { topology } from '../topology.js';
import type { Broker, Channel } from './broker.js';
import type { JobStore } from './job-store.js';
import { SpareChannel, TenantQueues } from './tenant-queues.js';

const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** amqplib's error for a missing queue: the broker closes the channel with it. */
const notFound = () => Object.assign(new Error('NOT_FOUND'), { code: 404 });

/**
 * A stand-in for RabbitMQ's queues as raw channels see them: each call is
 * recorded, takes `latency` ms (`createLatency` for a declare that creates),
 * and a passive check of a missing queue fails with 404 and closes its channel.
 */
class FakeBroker {
  readonly queues = new Map<string, number>();
  readonly calls: { method: 'assertQueue' | 'checkQueue'; queue: string }[] = [];
  opened = 0;
  closed = 0;
  latency = 1;
  createLatency = 1;

  rawChannel(): Promise<Channel> {
    this.opened += 1;
    const ch = new EventEmitter() as EventEmitter & Record<string, unknown>;
    let open = true;
    const close = () => {
      if (!open) return;
      open = false;
      this.closed += 1;
      ch.emit('close');
    };
    ch.close = () => {
      close();
      return Promise.resolve();
    };
    ch.assertQueue = async (queue: string) => {
      this.calls.push({ method: 'assertQueue', queue });
      await delay(this.queues.has(queue) ? this.latency : this.createLatency);
      if (!this.queues.has(queue)) this.queues.set(queue, 0);
      return { queue, messageCount: this.queues.get(queue), consumerCount: 0 };
    };
    ch.checkQueue = async (queue: string) => {
      this.calls.push({ method: 'checkQueue', queue });
      await delay(this.latency);
      if (!this.queues.has(queue)) {
        close();
        throw notFound();
      }
      return { queue, messageCount: this.queues.get(queue), consumerCount: 0 };
    };
    return Promise.resolve(ch as unknown as Channel);
  }

  asBroker(): Broker {
    return this as unknown as Broker;
  }

  count(method: 'assertQueue' | 'checkQueue'): number {
    return this.calls.filter((c) => c.method === method).length;
  }
}

/** What a call settles with, and after how long. */
async function timed<T>(run: () => Promise<T>): Promise<{ ok: boolean; value: T | Error; ms: number }> {
  const start = Date.now();
  try {
    const value = await run();
    return { ok: true, value, ms: Date.now() - start };
  } catch (err) {
    return { ok: false, value: err as Error, ms: Date.now() - start };
  }
}

describe('SpareChannel', () => {
  it('counts an operation’s time from when it was queued: one stuck behind others fails in time and never runs', async () => {
    const broker = new FakeBroker();
    const spare = new SpareChannel(broker.asBroker(), 300);
    const first = timed(() => spare.run(() => delay(200)));
    const second = timed(() => spare.run(() => delay(50)));
    // queued now, its turn comes at ~250 ms, and it would take 100 ms more: it must not hold on past 300 ms
    const third = timed(() => spare.run(() => delay(100)));
    expect((await first).ok).toBe(true);
    expect((await second).ok).toBe(true);
    const late = await third;
    expect(late.ok).toBe(false);
    expect((late.value as Error).message).toMatch(/RabbitMQ did not answer within 0.3s/);
    expect(late.ms).toBeLessThan(340);
    await spare.close();
    // running when its time was up: its channel was closed, which ends it
    expect(broker.closed).toBeGreaterThanOrEqual(1);
  });

  it('gives up an operation that waited its whole time in line without running it, and says so', async () => {
    const broker = new FakeBroker();
    const spare = new SpareChannel(broker.asBroker(), 100);
    let ran = false;
    const blocker = spare.run(() => delay(150));
    const waiting = timed(() =>
      spare.run(() => {
        ran = true;
        return Promise.resolve();
      }),
    );
    const result = await waiting;
    expect(result.ok).toBe(false);
    expect((result.value as Error).message).toContain('waited behind 1 other operation');
    expect(result.ms).toBeLessThan(140);
    await blocker.catch(() => {});
    await spare.close();
    expect(ran).toBe(false);
  });

  it('runs operations on several lanes at once, each lane one at a time', async () => {
    const broker = new FakeBroker();
    const spare = new SpareChannel(broker.asBroker(), 1000, 3);
    let running = 0;
    let most = 0;
    const op = async () => {
      running += 1;
      most = Math.max(most, running);
      await delay(30);
      running -= 1;
    };
    const started = Date.now();
    await Promise.all(Array.from({ length: 9 }, () => spare.run(op)));
    expect(most).toBe(3);
    expect(Date.now() - started).toBeLessThan(9 * 30);
    expect(spare.pending).toBe(0);
    await spare.close();
    expect(broker.opened).toBe(3);
  });

  it('lets a 404 end only its own operation, and reopens the channel for the next', async () => {
    const broker = new FakeBroker();
    broker.queues.set('there', 4);
    const spare = new SpareChannel(broker.asBroker(), 1000);
    const missing = spare.run((ch) => ch.checkQueue('gone'));
    const present = spare.run((ch) => ch.checkQueue('there'));
    await expect(missing).rejects.toMatchObject({ code: 404 });
    await expect(present).resolves.toMatchObject({ messageCount: 4 });
    await spare.close();
    expect(broker.opened).toBe(2);
  });
});

describe('TenantQueues', () => {
  const t = topology('tq-unit');
  const store = { registerTenant: () => Promise.resolve() } as unknown as JobStore;
  let tenants: TenantQueues | null = null;
  afterEach(async () => {
    await tenants?.close();
    tenants = null;
  });

  it('declares a new tenant’s queue, then only checks it while the declare is recent, and declares again after', async () => {
    const broker = new FakeBroker();
    // a declare is trusted for a tenth of the idle period: 100 ms here
    tenants = new TenantQueues(broker.asBroker(), t, store, { deliveryLimit: 3, idleMs: 1000, timeoutMs: 1000 });
    const first = await tenants.prepare('a');
    broker.queues.set(first.queue, 2);
    expect((await tenants.prepare('a')).depth).toBe(2);
    expect((await tenants.prepare('a')).depth).toBe(2);
    expect([broker.count('assertQueue'), broker.count('checkQueue')]).toEqual([1, 2]);
    await delay(120);
    await tenants.prepare('a');
    expect([broker.count('assertQueue'), broker.count('checkQueue')]).toEqual([2, 2]);
  });

  it('declares again, rather than trusting its declare, a queue that expired behind its back', async () => {
    const broker = new FakeBroker();
    tenants = new TenantQueues(broker.asBroker(), t, store, { deliveryLimit: 3, idleMs: 60_000, timeoutMs: 1000 });
    const { queue } = await tenants.prepare('a');
    broker.queues.delete(queue);
    expect((await tenants.prepare('a')).depth).toBe(0);
    expect(broker.queues.has(queue)).toBe(true);
    expect(broker.calls.map((c) => c.method)).toEqual(['assertQueue', 'checkQueue', 'assertQueue']);
  });

  it('declares again a queue said to be lost (a job published to it came back)', async () => {
    const broker = new FakeBroker();
    tenants = new TenantQueues(broker.asBroker(), t, store, { deliveryLimit: 3, idleMs: 60_000, timeoutMs: 1000 });
    const { key } = await tenants.prepare('a');
    tenants.lost(key);
    await tenants.prepare('a');
    expect(broker.calls.map((c) => c.method)).toEqual(['assertQueue', 'assertQueue']);
  });

  it('forgets declares once they are no longer trusted, so they do not pile up', async () => {
    const broker = new FakeBroker();
    tenants = new TenantQueues(broker.asBroker(), t, store, { deliveryLimit: 3, idleMs: 1000, timeoutMs: 1000 });
    await tenants.prepare('a');
    await tenants.prepare('b');
    expect(tenants.declarations()).toBe(2);
    await delay(120);
    await tenants.prepare('c');
    expect(tenants.declarations()).toBe(1);
  });

  it('does not hold a known tenant’s submission behind a burst of new tenants whose queues are being created', async () => {
    const broker = new FakeBroker();
    tenants = new TenantQueues(broker.asBroker(), t, store, { deliveryLimit: 3, idleMs: 60_000, timeoutMs: 5000 });
    await tenants.prepare('known');
    broker.createLatency = 40;
    const burst = Array.from({ length: 40 }, (_, i) => tenants!.prepare(`new-${i}`));
    await delay(5);
    const known = await timed(() => tenants!.prepare('known'));
    expect(known.ok).toBe(true);
    expect(known.ms).toBeLessThan(100);
    const started = Date.now();
    await Promise.all(burst);
    // several lanes create at once: well under 40 creations one after another
    expect(Date.now() - started).toBeLessThan(40 * 40 * 0.5);
  });

  it('fails a submission stuck behind creations once its time is up, counted from when it asked', async () => {
    const broker = new FakeBroker();
    tenants = new TenantQueues(broker.asBroker(), t, store, { deliveryLimit: 3, idleMs: 60_000, timeoutMs: 200 });
    broker.createLatency = 100;
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => timed(() => tenants!.prepare(`new-${i}`))));
    const failed = results.filter((r) => !r.ok);
    expect(failed.length).toBeGreaterThan(0);
    for (const r of failed) {
      expect((r.value as Error).message).toContain('RabbitMQ did not answer within 0.2s');
      expect(r.ms).toBeLessThan(260);
    }
  });
});
