/**
 * Tenant queues on the real broker, and what RabbitMQ counts as a use of a
 * quorum queue with `x-expires` — the assumption the scheduling rests on
 * (shared/src/topology.ts): taking jobs with basic.get keeps a queue alive;
 * passive checks and declares do not. Short expiries here (the config refuses
 * anything shorter than the longest job) keep the test quick.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqplib from 'amqplib';
import { topology } from '@media-foundry/shared';
import { type Broker, connectBroker, createLogger, FsStorage, JobStore, TenantQueues } from '@media-foundry/shared/node';
import { AMQP_URL, deleteTopology, uniquePrefix } from './helpers/stack.js';

const IDLE_MS = 3000;
const logger = createLogger('test', 'silent');

let dir: string;
let broker: Broker;
let tenants: TenantQueues;
let prefix: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mf-tenants-'));
  prefix = uniquePrefix('tq');
  broker = connectBroker(AMQP_URL, logger, 'tenant-queues-test');
  tenants = new TenantQueues(broker, topology(prefix), new JobStore(new FsStorage(dir)), {
    deliveryLimit: 3,
    idleMs: IDLE_MS,
    timeoutMs: 5000,
    logger,
  });
});
afterAll(async () => {
  await tenants?.close();
  await broker?.close();
  await deleteTopology(prefix);
  await rm(dir, { recursive: true, force: true });
});

async function publishOne(queue: string): Promise<void> {
  const conn = await amqplib.connect(AMQP_URL);
  const ch = await conn.createConfirmChannel();
  ch.sendToQueue(queue, Buffer.from('{}'), { persistent: true });
  await ch.waitForConfirms();
  await conn.close();
}

/** Calls `look` every second for `ms`; returns what the last look saw. */
async function lookFor<T>(ms: number, look: () => Promise<T>): Promise<T> {
  let last = await look();
  for (const end = Date.now() + ms; Date.now() < end;) {
    await new Promise((r) => setTimeout(r, 1000));
    last = await look();
  }
  return last;
}

it('keeps a queue alive while a worker takes jobs from it, however long past its idle expiry', async () => {
  const { key, queue } = await tenants.prepare('taken-from');
  for (let i = 0; i < 10; i++) await publishOne(queue);
  const conn = await amqplib.connect(AMQP_URL);
  const ch = await conn.createChannel();
  const left = await lookFor(IDLE_MS * 2.5, async () => {
    const job = await ch.get(queue, { noAck: false });
    if (job) ch.ack(job);
    return tenants.depth(key);
  });
  await conn.close();
  expect(left).toBeGreaterThan(0);
});

it('loses a queue that is only looked at, with its jobs: checks and declares are no use', async () => {
  const looked = await tenants.prepare('looked-at');
  await publishOne(looked.queue);
  expect(await lookFor(IDLE_MS * 2.5, () => tenants.depth(looked.key))).toBeNull();
  // a declare answers, but with a new, empty queue: the job went with the old one
  const declared = await tenants.prepare('declared');
  await publishOne(declared.queue);
  expect(await lookFor(IDLE_MS * 2.5, async () => (await tenants.prepare('declared')).depth)).toBe(0);
});

it('takes a queue declared earlier with other arguments as it is, rather than failing the job', async () => {
  const conn = await amqplib.connect(AMQP_URL);
  const ch = await conn.createChannel();
  const queue = topology(prefix).tenantQueue((await tenants.prepare('other-args')).key);
  await ch.deleteQueue(queue);
  await ch.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
  await conn.close();
  await publishOne(queue);
  expect((await tenants.prepare('other-args')).depth).toBe(1);
});

it('keeps no registration time for tenants it has not seen for a quarter of the idle period', async () => {
  // one per tenant ever seen would grow without bound in a long-lived gateway
  await tenants.prepare('seen-once-1');
  await tenants.prepare('seen-once-2');
  expect(tenants.registrations()).toBeGreaterThanOrEqual(2);
  await new Promise((r) => setTimeout(r, IDLE_MS / 4 + 100));
  await tenants.prepare('seen-later');
  expect(tenants.registrations()).toBe(1);
});
