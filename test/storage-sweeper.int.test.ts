/**
 * One gateway of a deployment sweeps storage at a time (gateway/src/sweep-lease.ts: a token on a
 * single-active-consumer queue of the real broker), and the turn passes on when that gateway is killed (-9),
 * stopped or cut off from the broker. Gateway processes on one queue prefix and one storage directory,
 * sweeping every second.
 */
import { mkdir, utimes, writeFile } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { execa } from 'execa';
import { testS3Storage } from './helpers/s3.js';
import { AMQP_URL, type GatewayHandle } from './helpers/stack.js';
import { startTcpProxy, type TcpProxy } from './helpers/tcp-proxy.js';
import { useSuite } from './helpers/suite.js';
import { waitFor } from './helpers/wait.js';

const { stack } = useSuite({
  stack: { gateways: 2, workers: 0, gatewayEnv: { CLEANUP_INTERVAL_SECONDS: '1' } },
  client: false,
});

const TOOK = 'this gateway sweeps storage (it holds the sweeper token)';
const LOST = 'storage sweeper token lost (broker connection or channel closed); another gateway takes it';
const sweeps = (g: GatewayHandle, since = 0) => g.process.logs.slice(since).filter((l) => l.msg === 'sweeping storage').length;
const live = () => stack.gateways.filter((g) => g.process.proc.exitCode === null && g.process.proc.signalCode === null);

/** The gateway's mf_gateway_sweeper_lease now. */
async function leaseGauge(g: GatewayHandle): Promise<number> {
  const text = await (await fetch(g.healthUrl.replace(/\/health$/, '/metrics'))).text();
  return Number(/^mf_gateway_sweeper_lease(?:\{[^}]*\})? (\d+)$/m.exec(text)?.[1] ?? NaN);
}

/** The one live gateway that has swept lately, after checking over `ms` that no other live one did. */
async function theSweeper(ms = 3000): Promise<GatewayHandle> {
  await waitFor(() => live().some((g) => sweeps(g) > 0), 15_000, 'a sweep');
  const marks = new Map(live().map((g) => [g, g.process.logs.length]));
  await new Promise((r) => setTimeout(r, ms));
  const sweeping = [...marks].filter(([g, mark]) => sweeps(g, mark) > 0).map(([g]) => g);
  expect(sweeping).toHaveLength(1);
  // ticks every second: it swept more than once meanwhile
  expect(sweeps(sweeping[0]!, marks.get(sweeping[0]!))).toBeGreaterThanOrEqual(2);
  return sweeping[0]!;
}

it("one gateway sweeps at a time, and it removes an expired job's files", async () => {
  const holder = await theSweeper();
  expect(holder.process.logs.filter((l) => l.msg === TOOK)).toHaveLength(1);
  for (const other of live().filter((g) => g !== holder)) {
    expect(sweeps(other)).toBe(0);
    // it waits in line without asking at every tick (an exclusive queue's refusal was a channel error each time)
    expect(other.process.logs.filter((l) => l.msg === 'channel closed by the broker')).toEqual([]);
  }
  // /metrics says which one it is
  for (const g of live()) expect(await leaseGauge(g)).toBe(g === holder ? 1 : 0);
  // a job that never finished, untouched for longer than STORAGE_TTL_SECONDS (a day)
  const folder = join(stack.storageDir, 'jobs', randomUUID());
  await mkdir(join(folder, 'input'), { recursive: true });
  const file = join(folder, 'input', 'clip.mp4');
  await writeFile(file, 'x');
  const old = new Date(Date.now() - 2 * 86_400_000);
  await utimes(file, old, old);
  await waitFor(() => !existsSync(file), 10_000, 'the expired file removed');
});

it('hands the turn on when the sweeping gateway is killed (-9)', async () => {
  const holder = await theSweeper();
  const others = live().filter((g) => g !== holder);
  holder.process.kill9();
  // RabbitMQ hands the dead connection's token to the next consumer in line as its socket closes
  await waitFor(() => others.some((g) => g.process.logs.some((l) => l.msg === TOOK)), 15_000, 'another gateway took the lease');
  expect(others).toContain(await theSweeper());
});

it('hands the turn on at once when the sweeping gateway stops (SIGTERM)', async () => {
  await stack.addGateway();
  const holder = await theSweeper();
  const others = live().filter((g) => g !== holder);
  const stopped = holder.process.stop();
  // given back as it starts draining, before its connection closes
  await waitFor(() => others.some((g) => g.process.logs.some((l) => l.msg === TOOK)), 10_000, 'another gateway took the lease');
  await stopped;
  const next = await theSweeper();
  expect(others).toContain(next);
  expect(holder.process.logs.some((l) => l.msg === LOST)).toBe(false);
});

it('takes the turn up again when an operator deletes the lease queue (its token gone with it)', async () => {
  await stack.addGateway();
  await theSweeper();
  const took = () => live().reduce((n, g) => n + g.process.logs.filter((l) => l.msg === TOOK).length, 0);
  const before = took();
  // RabbitMQ cancels every gateway's consumer; each consumes afresh at its next tick and adds a token
  await execa('rabbitmqctl', ['delete_queue', `${stack.prefix}.storage-sweeper`]);
  await waitFor(() => took() > before, 15_000, 'a gateway took the new token');
  await theSweeper();
});

describe('a sweeping gateway that loses the broker', () => {
  let proxy: TcpProxy;
  const cut = useSuite({
    // the first gateway reaches RabbitMQ through a proxy whose links the test cuts
    stack: async () => {
      proxy = await startTcpProxy(AMQP_URL);
      return { gateways: 1, workers: 0, gatewayEnv: { CLEANUP_INTERVAL_SECONDS: '1', AMQP_URL: proxy.url } };
    },
    client: false,
  });
  afterAll(() => proxy.close());

  it('loses the turn to another gateway, and does not sweep beside it once it is back', async () => {
    const first = cut.stack.gateways[0]!;
    await first.process.waitForLog((l) => l.msg === TOOK, 15_000);
    const second = await cut.stack.addGateway({ AMQP_URL });
    // the network to the broker goes down for the first (and stays down until the second has the turn)
    proxy.refuse(true);
    proxy.dropAll();
    await first.process.waitForLog((l) => l.msg === LOST, 15_000);
    await second.process.waitForLog((l) => l.msg === TOOK, 15_000);
    proxy.refuse(false);
    // the first reconnects and waits in line behind the second
    await first.process.waitForLog((l) => l.msg === 'connected to RabbitMQ' && Number(l.connects) >= 2, 15_000);
    const marks = [first.process.logs.length, second.process.logs.length] as const;
    await new Promise((r) => setTimeout(r, 3000));
    expect(sweeps(first, marks[0])).toBe(0);
    expect(sweeps(second, marks[1])).toBeGreaterThanOrEqual(2);
  });
});

describe('a gateway sweeping an S3 store longer than one listing page (1,000 keys)', () => {
  const paged = useSuite({
    s3: true,
    stack: { gateways: 1, workers: 0, gatewayEnv: { CLEANUP_INTERVAL_SECONDS: '1', STORAGE_TTL_SECONDS: '3' } },
    client: false,
  });

  it('removes the expired jobs of every page and keeps one whose fresh file is listed pages after its old ones', async () => {
    const storage = testS3Storage(paged.s3);
    const gateway = paged.stack.gateways[0]!;
    const put = (key: string) => storage.put(key, Buffer.from('x'));
    /** `keys` stored 16 at a time. */
    const putAll = async (keys: string[]) => {
      for (let i = 0; i < keys.length; i += 16) await Promise.all(keys.slice(i, i + 16).map(put));
    };
    // a job still being written to: its last key (`zz-fresh`, rewritten every half second) comes after its
    // 1,020 other files, which are older than STORAGE_TTL_SECONDS
    const kept = randomUUID();
    const keptKeys = Array.from({ length: 1020 }, (_, i) => `jobs/${kept}/input/part-${String(i).padStart(4, '0')}`);
    let writing = true;
    const touching = (async () => {
      while (writing) {
        await put(`jobs/${kept}/zz-fresh`);
        await new Promise((r) => setTimeout(r, 500));
      }
    })();
    await putAll(keptKeys);
    const expired = Array.from({ length: 40 }, () => randomUUID());
    await putAll(expired.map((id) => `jobs/${id}/input/clip.mp4`));
    const ids = async () => new Set((await storage.list('jobs/')).map((o) => o.key.split('/')[1]));
    await waitFor(
      async () => {
        const left = await ids();
        return expired.every((id) => !left.has(id));
      },
      30_000,
      'the expired jobs removed',
    );
    // a few more sweeps, each listing two pages with the kept job across both
    const since = gateway.process.logs.length;
    await waitFor(() => sweeps(gateway, since) >= 3, 15_000, 'three more sweeps');
    expect((await storage.list(`jobs/${kept}/`)).length).toBe(keptKeys.length + 1);
    expect(gateway.process.logs.filter((l) => l.msg === 'storage sweep failed')).toEqual([]);
    // no longer written to: it goes too
    writing = false;
    await touching;
    await waitFor(async () => (await storage.list(`jobs/${kept}/`)).length === 0, 30_000, 'the kept job removed once it went stale');
  });
});
