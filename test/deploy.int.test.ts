/**
 * What the deployment relies on at run time, on a private RabbitMQ node
 * (never the shared one the other suites use) with its management plugin:
 * - the count KEDA scales the workers on (k8s/worker-scaledobject.yaml),
 *   read the way KEDA reads it, includes the jobs workers are running;
 * - under a real memory alarm, which blocks the connections that publish
 *   (and every call behind a blocked publish, for as long as the alarm
 *   lasts), liveness keeps answering at once on both services, so the
 *   kubelet restarts nothing; /ready answers at once too, says why the
 *   service is not ready, and recovers when the alarm lifts.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTestVideo } from './helpers/media.js';
import { halfThenStall, type Origin, serveFile, startOrigin } from './helpers/origin.js';
import { renderKustomization } from './helpers/kustomize.js';
import { ROOT } from './helpers/paths.js';
import { startPrivateRabbit, type PrivateRabbit } from './helpers/rabbitmq.js';
import { startStack, type Stack } from './helpers/stack.js';
import { waitFor } from './helpers/wait.js';
import { TestClient } from './helpers/ws-client.js';

let rabbit: PrivateRabbit;
let stack: Stack;
let dir: string;
let origin: Origin;
let urls: { gateway: string; worker: string };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mf-deploy-'));
  await makeTestVideo(join(dir, 'clip.mp4'), { seconds: 1, width: 160, height: 120 });
  origin = await startOrigin({ '/clip.mp4': serveFile(join(dir, 'clip.mp4')), '/stalls.mp4': halfThenStall(join(dir, 'clip.mp4')) });
  rabbit = await startPrivateRabbit({ management: true });
  stack = await startStack({
    env: { AMQP_URL: rabbit.url, LOG_LEVEL: 'info' },
    // one slot, so jobs wait; a stalled download keeps its job running (no minimum rate); a stop hands jobs back at once
    workerEnv: { MAX_CONCURRENT_JOBS: '1', FFMPEG_THREADS: '1', URL_MIN_BYTES_PER_SECOND: '0', SHUTDOWN_GRACE_SECONDS: '1' },
  });
  const worker = await stack.workers[0]!.waitForLog((l) => l.msg === 'worker ready');
  urls = { gateway: stack.healthUrl.replace('/health', ''), worker: `http://127.0.0.1:${String(worker.health_port)}` };
}, 120_000);
afterAll(async () => {
  await rabbit?.ctl('set_vm_memory_high_watermark', '0.4').catch(() => undefined);
  await stack?.stop();
  await rabbit?.close();
  await origin?.close();
  await rm(dir, { recursive: true, force: true });
});

const job = (jobId: string, path: string) => ({
  type: 'start_job',
  job_id: jobId,
  operation: 'thumbnail',
  input: { source: 'url', url: origin.url(path) },
});

/** One GET, timed; a request that takes longer than `limitMs` is aborted and reported with status 0. */
async function timedGet(url: string, limitMs = 3000): Promise<{ status: number; ms: number; body: unknown }> {
  const t0 = performance.now();
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(limitMs) });
    const body: unknown = await res.json();
    return { status: res.status, ms: performance.now() - t0, body };
  } catch (err) {
    return { status: 0, ms: performance.now() - t0, body: String(err) };
  }
}

const ready = async (service: keyof typeof urls) => (await timedGet(`${urls[service]}/ready`)).status === 200;

describe("the autoscaler's count (k8s/worker-scaledobject.yaml)", () => {
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

  /** The ScaledObject's trigger, its queue regex moved from the ConfigMap's QUEUE_PREFIX to this stack's. */
  function trigger() {
    const objects = renderKustomization(join(ROOT, 'k8s'));
    const scaled = objects.find((o) => o.kind === 'ScaledObject') as unknown as {
      spec: { triggers: { metadata: Record<string, string> }[] };
    };
    const configPrefix = (objects.find((o) => o.kind === 'ConfigMap') as unknown as { data: { QUEUE_PREFIX: string } }).data.QUEUE_PREFIX;
    const metadata = scaled.spec.triggers[0]!.metadata;
    const base = `^${escape(configPrefix)}\\.`;
    expect(metadata.queueName!.startsWith(base)).toBe(true);
    return { ...metadata, queueName: `^${escape(stack.prefix)}\\.${metadata.queueName!.slice(base.length)}` };
  }

  /** What KEDA's rabbitmq scaler reads with protocol http and useRegex (pkg/scalers/rabbitmq_scaler.go), summed as it sums. */
  async function kedaReads(metadata: Record<string, string>) {
    const base = new URL(rabbit.managementUrl!);
    const url =
      `${base.origin}/api/queues/%2F?page=1&use_regex=true&pagination=false` +
      `&name=${encodeURIComponent(metadata.queueName!)}&page_size=${metadata.pageSize ?? '100'}`;
    const res = await fetch(url, { headers: { authorization: `Basic ${btoa(`${base.username}:${base.password}`)}` } });
    expect(res.status).toBe(200); // a page size RabbitMQ refuses would fail the trigger
    const page = (await res.json()) as { page_count: number; items: { name: string; messages: number; messages_ready: number }[] };
    expect(page.page_count).toBeLessThanOrEqual(1); // KEDA fails when the matches do not fit one page
    return {
      queues: page.items.map((q) => q.name),
      messages: page.items.reduce((n, q) => n + q.messages, 0),
      ready: page.items.reduce((n, q) => n + q.messages_ready, 0),
    };
  }

  it('sums waiting AND running jobs over the tenant queues, where the AMQP count (ready only) would miss the running ones', async () => {
    const metadata = trigger();
    const [a, b] = [await TestClient.connect(stack.wsUrl), await TestClient.connect(stack.wsUrl)]; // auth off: two tenants
    try {
      a.send(job('a1', '/stalls.mp4'));
      a.send(job('a2', '/stalls.mp4'));
      b.send(job('b1', '/stalls.mp4'));
      // one job runs (its download stalls), unacked in its tenant's queue; two wait
      let read = { queues: [] as string[], messages: 0, ready: 0 };
      await waitFor(
        async () => {
          read = await kedaReads(metadata);
          return read.messages === 3 && read.ready === 2;
        },
        20_000,
        'the management API to count 3 jobs, 2 of them ready',
      );
      expect(read.queues.filter((q) => q.startsWith(`${stack.prefix}.tenant.`))).toHaveLength(2);
    } finally {
      for (const [client, ids] of [
        [a, ['a1', 'a2']],
        [b, ['b1']],
      ] as const) {
        for (const id of ids) client.send({ type: 'cancel_job', job_id: id });
        for (const id of ids) await client.next((m) => m.job_id === id && m.type === 'error', 30_000).catch(() => undefined);
        await client.close();
      }
    }
  });
});

describe('probes under a RabbitMQ memory alarm', () => {
  it('keeps /health answering in < 1 s on both services while the alarm holds, and /ready says why', async () => {
    await waitFor(async () => (await ready('gateway')) && (await ready('worker')), 20_000, 'both services ready');

    // Every node's memory is over 0.01 % of the machine's: the alarm goes on at once.
    await rabbit.ctl('set_vm_memory_high_watermark', '0.0001');
    await waitFor(async () => (await rabbit.ctl('eval', 'rabbit_alarm:get_alarms().')).includes('memory'), 10_000, 'memory alarm');
    // A publish is what gets a connection blocked: a submit on the gateway's, a worker's state broadcasts (every 5 s) on the worker's.
    const client = await TestClient.connect(stack.wsUrl);
    try {
      client.send(job('during-alarm', '/clip.mp4'));
      await stack.gateway.waitForLog((l) => l.msg === 'RabbitMQ blocked the connection', 10_000);
      await stack.workers[0]!.waitForLog((l) => l.msg === 'RabbitMQ blocked the connection', 15_000);

      // Hammer both services' probes for a while, one request after another on each.
      const samples: { service: string; path: string; status: number; ms: number }[] = [];
      const until = Date.now() + 6000;
      await Promise.all(
        (['gateway', 'worker'] as const).flatMap((service) =>
          ['/health', '/ready'].map(async (path) => {
            while (Date.now() < until) {
              const { status, ms } = await timedGet(`${urls[service]}${path}`);
              samples.push({ service, path, status, ms });
              await new Promise((r) => setTimeout(r, 20));
            }
          }),
        ),
      );
      const health = samples.filter((s) => s.path === '/health');
      for (const service of ['gateway', 'worker']) expect(health.filter((s) => s.service === service).length).toBeGreaterThan(20);
      expect(health.filter((s) => s.status !== 200)).toEqual([]);
      expect(Math.max(...health.map((s) => s.ms))).toBeLessThan(1000);
      // readiness answers at once too (from cached checks)
      expect(Math.max(...samples.filter((s) => s.path === '/ready').map((s) => s.ms))).toBeLessThan(1000);

      // Why: the connection is blocked (known locally at once), and the background check's round trip hangs behind
      // it (what a /health that awaited the broker would have done), cut off by its own timeout.
      for (const service of ['gateway', 'worker'] as const) {
        let problems: string[] = [];
        await waitFor(
          async () => {
            const { status, body } = await timedGet(`${urls[service]}/ready`);
            expect(status).toBe(503);
            problems = (body as { problems: string[] }).problems;
            return problems.some((p) => p.startsWith('RabbitMQ did not answer: no answer within'));
          },
          10_000,
          `${service}: the broker check timing out`,
        );
        expect(problems).toContain('RabbitMQ blocks publishing (low on memory): a resource alarm');
      }

      // The alarm lifts: both turn ready again and work as before.
      await rabbit.ctl('set_vm_memory_high_watermark', '0.4');
      await waitFor(async () => (await ready('gateway')) && (await ready('worker')), 20_000, 'both services ready again');
      // the submit held by the alarm ran once it lifted, or failed clearly if the alarm outlasted PUBLISH_TIMEOUT_SECONDS
      const held = (await client.result('during-alarm', 60_000)).final;
      if (held.type !== 'completed') expect(held).toMatchObject({ type: 'error', code: 'SUBMIT_FAILED' });
      client.send(job('after-alarm', '/clip.mp4'));
      expect((await client.result('after-alarm', 60_000)).final).toMatchObject({ type: 'completed' });
      for (const service of [stack.gateway, stack.workers[0]!]) expect(service.proc.exitCode).toBeNull();
    } finally {
      await client.close();
    }
  });
});
