import { EventEmitter } from 'node:events';
import { topology } from '@media-foundry/shared';
import { type Broker, createLogger } from '@media-foundry/shared/node';
import { ClusterView } from './cluster-view.js';
import { type Delivery, JobPuller } from './job-puller.js';
import { TenantDirectory } from './tenant-directory.js';
import { TenantRotation } from './tenant-rotation.js';

const A = '00000000000000a1';
const B = '00000000000000b2';
const t = topology('puller-test');

/** Tenant queues in memory, behind channels that take from them with get and settle with ack/nack. */
function fakeBroker(queues: Map<string, string[]>) {
  const settled: string[] = [];
  let tag = 0;
  const broker = {
    rawChannel: () => {
      const ch = Object.assign(new EventEmitter(), {
        get: (queue: string) => {
          const id = queues.get(queue)?.shift();
          if (id === undefined) return Promise.resolve(false);
          const content = Buffer.from(JSON.stringify({ job_id: id }));
          return Promise.resolve({
            content,
            fields: { deliveryTag: ++tag, messageCount: queues.get(queue)!.length },
            properties: { headers: {} },
          });
        },
        ack: (m: { content: Buffer }) => void settled.push(`ack ${String(JSON.parse(m.content.toString()).job_id)}`),
        nack: (m: { content: Buffer }) => void settled.push(`requeue ${String(JSON.parse(m.content.toString()).job_id)}`),
        close: () => Promise.resolve(),
      });
      return Promise.resolve(ch);
    },
  } as unknown as Broker;
  return { broker, settled };
}

async function until(check: () => boolean, what: string, ms = 5000): Promise<void> {
  for (const end = Date.now() + ms; !check(); await new Promise((r) => setTimeout(r, 10)))
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
}

describe('JobPuller, fair share', () => {
  it("hands back a job still waiting for its client's share when that is the job to yield, so the slot serves the starving tenant", async () => {
    const queues = new Map([
      [t.tenantQueue(A), ['a1', 'a2']],
      [t.tenantQueue(B), [] as string[]],
    ]);
    const { broker, settled } = fakeBroker(queues);
    const directory = new TenantDirectory();
    const view = new ClusterView('w1', 60_000);
    // another worker runs one of A's jobs; A may run 3 at a time across the cluster
    view.update({ type: 'worker_state', worker_id: 'w2', running: [{ job_id: 'w2-a', tenant_key: A, since: 1 }], stopping: false });
    const handled: string[] = [];
    const finishers = new Map<string, () => void>();
    const yields: string[] = [];
    const puller: JobPuller = new JobPuller({
      broker,
      topology: t,
      directory,
      view,
      rotation: new TenantRotation(),
      config: { maxConcurrentJobs: 2, maxJobsPerClient: 3, fairShareGraceMs: 50 },
      logger: createLogger('test', 'silent'),
      handle: (delivery: Delivery) => {
        const id = String(JSON.parse(delivery.message.content.toString()).job_id);
        handled.push(id);
        return new Promise<void>((resolve) => finishers.set(id, resolve)).then(() => delivery.ack());
      },
      onTaken: () => {},
      onRunningChanged: (running) => {
        view.setOwn(running);
        // the other worker took a second job of A meanwhile: a2, taken here too, must wait for A's share
        if (running.some((j) => j.job_id === 'a2' && j.held))
          view.update({
            type: 'worker_state',
            worker_id: 'w2',
            running: [
              { job_id: 'w2-a', tenant_key: A, since: 1 },
              { job_id: 'w2-b', tenant_key: A, since: 2 },
            ],
            stopping: false,
          });
      },
      onRequeued: () => {},
      // the handler yields only jobs it runs: a2 never reaches it while it waits for its share
      yieldSlot: (jobId) => (yields.push(jobId), handled.includes(jobId) && finishers.has(jobId)),
    });
    directory.markReady(A);
    puller.start();
    try {
      await until(() => handled.includes('a1') && puller.runningJobs().some((j) => j.job_id === 'a2' && j.held), 'a1 runs, a2 waits');
      queues.get(t.tenantQueue(B))!.push('b1');
      directory.markReady(B);
      // B has nothing running anywhere and both slots are A's: after the grace the newest of A's, a2, gives its slot up
      await until(() => handled.includes('b1'), 'b1 runs');
      expect(settled).toContain('requeue a2');
      expect(handled).toEqual(['a1', 'b1']);
      expect(yields).toEqual([]); // not the handler's to yield: the slot handed it back itself
    } finally {
      for (const finish of finishers.values()) finish();
      await puller.stop();
    }
  });
});
