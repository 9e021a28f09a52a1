/**
 * Faults a production deployment meets, injected with real processes: an S3
 * store that goes away and comes back, one that hangs, URL origins that
 * answer 503 for a while, 404, or stop halfway; and a gateway and a worker
 * started on a brand-new topology while their /health is hammered. Each
 * shows what the user sees (docs/RELIABILITY.md lists them).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import amqplib from 'amqplib';
import { execa } from 'execa';
import { MiB } from '@media-foundry/shared';
import { ffprobe, makeTestVideos, video } from './helpers/media.js';
import { cutFirst, failFirst, halfThenStall, holdSecondHalf, type Origin, serveFile, startOrigin, status } from './helpers/origin.js';
import { freePort } from './helpers/rabbitmq.js';
import { startTestS3, testS3Storage, type TestS3 } from './helpers/s3.js';
import { AMQP_URL, deleteTopology, listQueues, spawnService, startStack, uniquePrefix, type Stack } from './helpers/stack.js';
import { TestClient } from './helpers/ws-client.js';
import { useSuite } from './helpers/suite.js';
import { waitFor } from './helpers/wait.js';

let origin: Origin;
/** What `/held.mp4` waits for before the second half of a download (holdInputs). */
let heldGate: Promise<void> = Promise.resolve();

/**
 * Downloads of `/held.mp4` hold their second half until the returned release
 * is called: a job on it cannot end before the test has done what it does
 * mid-job, however fast the machine. (Its index is at the end, read by a
 * range of its own, and the file is large enough that ffmpeg starts on the
 * bytes that are not held.)
 */
function holdInputs(): () => void {
  let release!: () => void;
  heldGate = new Promise<void>((resolve) => (release = resolve));
  return release;
}

afterAll(async () => {
  await origin?.close();
});
const { dir } = useSuite({
  name: 'faults',
  fixtures: (dir) =>
    makeTestVideos(dir, {
      'clip.mp4': video(3, '320x240'),
      'held.mp4': video(12, '320x240'),
      'big.mp4': video(20, '640x360'),
    }),
  files: false,
  stack: false,
});
beforeAll(async () => {
  origin = await startOrigin({
    '/clip.mp4': serveFile(join(dir, 'clip.mp4')),
    '/flaky.mp4': failFirst(2, 503, serveFile(join(dir, 'clip.mp4'))),
    '/cut.mp4': cutFirst(join(dir, 'clip.mp4'), serveFile(join(dir, 'clip.mp4'))),
    '/missing.mp4': status(404),
    '/stalls.mp4': halfThenStall(join(dir, 'big.mp4')),
    '/held.mp4': (req, res, hit) => holdSecondHalf(join(dir, 'held.mp4'), heldGate)(req, res, hit),
  });
});

const job = (jobId: string, path: string, operation = 'speed', options: object = { speed_factor: 2 }) => ({
  type: 'start_job',
  job_id: jobId,
  operation,
  input: { source: 'url', url: origin.url(path) },
  options,
});

/** Writes a delivered file and probes it. */
async function probed(name: string, bytes: Buffer | undefined) {
  expect(bytes?.length).toBeGreaterThan(0);
  const path = join(dir, name);
  await writeFile(path, bytes!);
  return ffprobe(path);
}

describe('storage', () => {
  let s3: TestS3;
  let stack: Stack;
  beforeEach(async () => {
    s3 = await startTestS3();
  });
  afterEach(async () => {
    await stack?.stop();
    await s3?.close();
  });

  it.each([
    ['stored under its key', 'false'],
    ['kept in its result', 'true'],
  ])(
    'survives an S3 store that is stopped for 8 s mid-job: both jobs complete, and the clients saw the retries (output %s)',
    async (_how, inResult) => {
      stack = await startStack({
        env: { ...s3.env },
        gatewayEnv: { SMALL_OUTPUTS_IN_RESULT: inResult },
        workerEnv: { MAX_CONCURRENT_JOBS: '2', FFMPEG_THREADS: '1' },
      });
      const client = await TestClient.connect(stack.wsUrl);
      const release = holdInputs();
      client.send(job('s1', '/held.mp4', 'speed', { speed_factor: 4 }));
      client.send(job('s2', '/held.mp4', 'speed', { speed_factor: 4 }));
      for (const id of ['s1', 's2']) await client.next((m) => m.job_id === id && m.type === 'progress' && m.stage === 'processing', 60_000);
      await s3.stop(); // the outputs are stored while the store is away
      release();
      await new Promise((r) => setTimeout(r, 8000));
      await s3.start();
      for (const id of ['s1', 's2']) {
        const { final, files } = await client.result(id, 120_000);
        expect(final.type).toBe('completed');
        const out = await probed(`${id}.mp4`, files.get('output.mp4'));
        expect(Math.abs(out.duration - 3)).toBeLessThan(0.3);
      }
      const retrying = client.messages().filter((m) => m.type === 'progress' && m.stage === 'retrying');
      expect(retrying.length).toBeGreaterThan(0);
      expect(String(retrying[0]!.message)).toMatch(/storing output\.mp4 failed .*storage.*; retry \d+ in/i);
      // what was retried: the output's own object, or the result that holds it (no object of its own)
      const outputWrites = s3.requests.filter((r) => r.startsWith('PUT ') && r.includes('/output/output.mp4'));
      expect(outputWrites.length > 0).toBe(inResult === 'false');
      await client.close();
    },
  );

  it("removes delivered jobs' files though S3 refuses the delete of every key with SlowDown, by trying those keys again", async () => {
    stack = await startStack({ env: { ...s3.env }, workerEnv: { MAX_CONCURRENT_JOBS: '2', FFMPEG_THREADS: '1' } });
    const client = await TestClient.connect(stack.wsUrl);
    s3.throttleDeletes(1);
    for (const id of ['d1', 'd2']) client.send(job(id, '/clip.mp4', 'thumbnail', { timestamp: 1 }));
    for (const id of ['d1', 'd2']) expect((await client.result(id, 60_000)).final.type).toBe('completed');
    const storage = testS3Storage(s3);
    await waitFor(async () => (await storage.list('jobs/')).length === 0, 15_000);
    const deletes = s3.recorded.flatMap((r) => (r.deleteKeys ? [r.deleteKeys] : []));
    // the refused request's keys (a job's record, result and thumbnail among them) were each named again later
    const [refused, ...later] = deletes;
    expect(refused).toEqual(
      expect.arrayContaining([expect.stringMatching(/\/job\.json$/), expect.stringMatching(/\/output\/thumbnail\.png$/)]),
    );
    for (const key of refused!) expect(later.some((keys) => keys.includes(key))).toBe(true);
    expect(stack.gateway.logs.filter((l) => l.msg === 'could not delete the job files')).toEqual([]);
    await client.close();
  });

  it("leaves a delivered job's files to the sweeper when S3 fails their delete after its retries, and the sweeper removes them once it works", async () => {
    stack = await startStack({
      env: { ...s3.env },
      // results expire at once, and the sweeper looks every second
      gatewayEnv: { RESUME_TTL_SECONDS: '1', RESULT_URL_TTL_SECONDS: '1', CLEANUP_INTERVAL_SECONDS: '1' },
      workerEnv: { FFMPEG_THREADS: '1' },
    });
    const client = await TestClient.connect(stack.wsUrl);
    s3.failDeletes(true);
    client.send(job('kept', '/clip.mp4', 'thumbnail', { timestamp: 1 }));
    expect((await client.result('kept', 60_000)).final.type).toBe('completed');
    // the SDK's own tries, then the gathered delete's three: one warning, no crash, the files still there
    await waitFor(async () => stack!.gateway.logs.some((l) => l.msg === 'could not delete the job files'), 30_000);
    const storage = testS3Storage(s3);
    expect((await storage.list('jobs/')).length).toBeGreaterThan(0);
    // the store's deletes work again: the sweeper takes what the delivery left
    s3.failDeletes(false);
    const since = stack.gateway.logs.length;
    // Gone, by a sweep: the gateway's own delete gave up. (Not necessarily one that logged 'swept': s3rver can
    // answer 500 to a DeleteObjects that removed every key, when two of them race to remove the emptied folder.)
    const swept = () =>
      stack!.gateway.logs.slice(since).some((l) => l.msg === 'swept expired job files' || l.msg === 'storage sweep failed');
    await waitFor(async () => swept() && (await storage.list('jobs/')).length === 0, 45_000).catch((err: unknown) => {
      // what the gateway said meanwhile, for a run where this does not happen
      const said = stack!.gateway.logs.slice(since).map((l) => `${String(l.msg)} ${JSON.stringify(l.err ?? '')}`.slice(0, 300));
      throw new Error(`${(err as Error).message}; the gateway logged since the deletes work again:\n${said.join('\n')}`);
    });
    client.send(job('after', '/clip.mp4', 'thumbnail', { timestamp: 1 }));
    expect((await client.result('after', 60_000)).final.type).toBe('completed');
    await client.close();
  });

  it('fails a job, naming storage, when S3 accepts connections but never answers — nothing hangs', async () => {
    stack = await startStack({
      env: { ...s3.env, TRANSIENT_RETRY_SECONDS: '3', S3_REQUEST_TIMEOUT_SECONDS: '1', JOB_DELIVERY_LIMIT: '1' },
      workerEnv: { FFMPEG_THREADS: '1' },
    });
    const client = await TestClient.connect(stack.wsUrl);
    const release = holdInputs();
    client.send(job('hang', '/held.mp4', 'speed', { speed_factor: 2 }));
    await client.next((m) => m.job_id === 'hang' && m.type === 'progress' && m.stage === 'processing', 60_000);
    s3.blackhole(true);
    release(); // its output is stored into the hung store
    const { final } = await client.result('hang', 90_000);
    expect(final).toMatchObject({ type: 'error', code: 'JOB_FAILED', message: 'Storage is unavailable' });
    // the first delivery gave up storing its output after its retries and went back to the queue; the
    // last one answered — storage still hung, it could not even look the job up
    expect(String(final.details)).toMatch(/^looking up the job in storage: storage \(S3\) GetObject .*TimeoutError/);
    const logs = stack.workers[0]!.logs;
    expect(logs.filter((l) => l.msg === 'job started').map((l) => l.deliveries)).toEqual([1]);
    const requeued = logs.filter((l) => l.msg === 'transient failure outlasted the retries; requeueing');
    expect(requeued.map((l) => [l.deliveries, (l.err as { message?: string }).message])).toEqual([[1, expect.stringMatching(/PutObject/)]]);
    s3.blackhole(false);
    await client.close();
  });

  it('stores multipart uploads by S3 rules: parts of 5 MiB or more but the last, a Content-Length on every part, at most 10,000 parts', async () => {
    // the largest file this configuration allows, in small client chunks
    stack = await startStack({ env: { ...s3.env, MAX_FILE_SIZE_MB: '24' }, workers: 0 });
    const { uploadInChunks } = await import('./helpers/ws-client.js');
    const client = await TestClient.connect(stack.wsUrl);
    const bytes = Buffer.alloc(24 * MiB, 7);
    client.send({ type: 'start_job', job_id: 'big', operation: 'probe', input: { source: 'upload' }, options: {} });
    await client.next((m) => m.type === 'ack');
    await uploadInChunks(client, 'big', 'big.bin', bytes, 64 * 1024);
    await client.next((m) => m.job_id === 'big' && m.type === 'progress' && m.stage === 'queued', 60_000);
    const parts = s3.recorded.filter((r) => r.method === 'PUT' && /[?&]partNumber=\d+/.test(r.url) && r.url.includes('/input/big.bin'));
    expect(parts.length).toBeGreaterThan(1);
    expect(parts.length).toBeLessThanOrEqual(10_000);
    for (const part of parts) {
      expect(part.contentLength).toBe(part.bodyBytes);
      expect(part.contentLength).not.toBeNull();
    }
    const sizes = parts.map((p) => p.bodyBytes);
    for (const size of sizes.slice(0, -1)) expect(size).toBeGreaterThanOrEqual(5 * MiB);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(bytes.length);
    // every other body went up with its length declared too
    for (const r of s3.recorded.filter((q) => q.method === 'PUT')) expect(r.contentLength).toBe(r.bodyBytes);
    await client.close();
  });
});

describe('URL inputs', () => {
  const { stack } = useSuite({ stack: { workerEnv: { FFMPEG_STALL_SECONDS: '3', FFMPEG_THREADS: '1' } }, client: false });

  it('retries an origin that answers 503 twice, then completes', async () => {
    const client = await TestClient.connect(stack.wsUrl);
    client.send(job('flaky', '/flaky.mp4'));
    const { final, files } = await client.result('flaky', 60_000);
    expect(final.type).toBe('completed');
    expect(origin.hits('/flaky.mp4')).toBe(3);
    const retries = client.messages('flaky').filter((m) => m.type === 'progress' && m.stage === 'retrying');
    expect(retries).toHaveLength(2);
    expect(String(retries[0]!.message)).toContain('HTTP 503');
    expect(Math.abs((await probed('flaky.mp4', files.get('output.mp4'))).duration - 1.5)).toBeLessThan(0.3);
    await client.close();
  });

  it('retries an origin that cuts the connection mid-body, then completes', async () => {
    const client = await TestClient.connect(stack.wsUrl);
    client.send(job('cut', '/cut.mp4'));
    const { final } = await client.result('cut', 60_000);
    expect(final.type).toBe('completed');
    expect(origin.hits('/cut.mp4')).toBe(2);
    const retries = client.messages('cut').filter((m) => m.type === 'progress' && m.stage === 'retrying');
    expect(retries).toHaveLength(1);
    await client.close();
  });

  it('fails at once, without retrying, when the origin answers 404', async () => {
    const client = await TestClient.connect(stack.wsUrl);
    client.send(job('gone', '/missing.mp4'));
    const { final } = await client.result('gone', 30_000);
    expect(final).toMatchObject({
      type: 'error',
      code: 'JOB_FAILED',
      message: 'Could not download the input URL',
      details: 'HTTP 404 Not Found',
    });
    expect(origin.hits('/missing.mp4')).toBe(1);
    expect(client.messages('gone').filter((m) => m.stage === 'retrying')).toEqual([]);
    await client.close();
  });

  it('stops a download that stalls halfway after FFMPEG_STALL_SECONDS, saying it stalled', async () => {
    const client = await TestClient.connect(stack.wsUrl);
    client.send(job('stall', '/stalls.mp4'));
    await client.next((m) => m.job_id === 'stall' && m.stage === 'downloading', 30_000);
    const since = Date.now();
    const { final } = await client.result('stall', 60_000);
    const took = Date.now() - since;
    expect(final).toMatchObject({ type: 'error', code: 'JOB_FAILED', message: 'Job stalled' });
    expect(String(final.details)).toMatch(/received no data for 3s/);
    // within the stall time plus a margin, not the 300 s download timeout
    expect(took).toBeLessThan(15_000);
    expect(stack.workers[0]!.logs.some((l) => l.msg === 'job failed')).toBe(true);
    const port = stack.workers[0]!.logs.find((l) => l.msg === 'worker ready')!.health_port as number;
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toMatch(/mf_jobs_stalled_total\{[^}]*operation="speed"[^}]*\} 1/);
    await client.close();
  });
});

describe('RabbitMQ refusing a publish (nack)', () => {
  // A real nack: a policy caps the stack's tenant queues (max-length 0, overflow reject-publish: a quorum queue
  // takes one past its limit), so the broker nacks the second job until the policy is cleared. Scoped to this
  // stack's queues by name.
  let stack: Stack | undefined;
  let policy: string | undefined;
  const capTenantQueues = async (s: Stack) => {
    policy = `${s.prefix}-full`;
    const pattern = `^${s.prefix.replace(/[.-]/g, '\\$&')}\\.tenant\\.`;
    await execa('rabbitmqctl', ['set_policy', '--apply-to', 'queues', policy, pattern, '{"max-length":0,"overflow":"reject-publish"}']);
  };
  const uncap = async () => {
    if (policy) await execa('rabbitmqctl', ['clear_policy', policy]);
    policy = undefined;
  };
  afterEach(async () => {
    await uncap();
    await stack?.stop();
    stack = undefined;
  });

  it('is survived: the job is published again until the broker takes it, once', async () => {
    stack = await startStack({ workers: 0 });
    await capTenantQueues(stack);
    const client = await TestClient.connect(stack.wsUrl);
    client.send(job('n1', '/clip.mp4'));
    expect(await client.next((m) => m.job_id === 'n1' && m.type === 'progress')).toMatchObject({ stage: 'queued', queue_position: 1 });
    client.send(job('n2', '/clip.mp4'));
    await stack.gateway.waitForLog((l) => l.msg === 'RabbitMQ refused the job; publishing it again' && l.job_id === 'n2');
    await uncap();
    expect(await client.next((m) => m.job_id === 'n2' && m.type === 'progress', 30_000)).toMatchObject({ stage: 'queued' });
    // and the next job too (RabbitMQ goes on nacking the channel that met the full queue: it is not used again)
    client.send(job('n3', '/clip.mp4'));
    expect(await client.next((m) => m.job_id === 'n3' && m.type === 'progress', 30_000)).toMatchObject({ stage: 'queued' });
    expect(client.messages().filter((m) => m.type === 'error')).toEqual([]);
    // the nacked tries left nothing behind: the three jobs, each once
    const tenantQueues = (await listQueues(stack.prefix)).filter((q) => q.startsWith(`${stack!.prefix}.tenant.`));
    expect(tenantQueues).toHaveLength(1);
    const amqp = await amqplib.connect(AMQP_URL);
    const ch = await amqp.createChannel();
    expect((await ch.checkQueue(tenantQueues[0]!)).messageCount).toBe(3);
    await amqp.close();
    await client.close();
  });

  it('fails the submission clearly once TRANSIENT_RETRY_SECONDS are spent', async () => {
    stack = await startStack({ workers: 0, gatewayEnv: { TRANSIENT_RETRY_SECONDS: '1' } });
    await capTenantQueues(stack);
    const client = await TestClient.connect(stack.wsUrl);
    client.send(job('f1', '/clip.mp4'));
    await client.next((m) => m.job_id === 'f1' && m.type === 'progress');
    client.send(job('f2', '/clip.mp4'));
    const error = await client.next((m) => m.job_id === 'f2' && m.type === 'error', 30_000);
    expect(error).toMatchObject({ code: 'SUBMIT_FAILED' });
    expect(String(error.details)).toMatch(/RabbitMQ did not accept the job: .*\(nack\)/);
    expect(client.messages('f2').some((m) => m.type === 'ack')).toBe(false);
    await client.close();
  });
});

describe("the worker's control queue deleted under it (an operator, a policy)", () => {
  let stack: Stack | undefined;
  afterEach(async () => {
    await stack?.stop();
    stack = undefined;
  });

  /** The queues bound to a stack's control fanout (only workers bind one). */
  const controlQueues = async (s: Stack): Promise<string[]> => {
    const { stdout } = await execa('rabbitmqctl', ['list_bindings', '--quiet', '--no-table-headers', 'source_name', 'destination_name']);
    return stdout
      .split('\n')
      .map((line) => line.split('\t'))
      .filter(([source]) => source === s.prefix + '.control')
      .map(([, queue]) => queue!);
  };

  it('binds a new one, and a cancel sent through it stops the running job', async () => {
    stack = await startStack();
    let deleted = '';
    await waitFor(async () => ([deleted = ''] = await controlQueues(stack!)).length === 1, 10_000, 'the control binding');
    // the broker cancels the worker's consumer: the queue is gone with whatever it held
    await execa('rabbitmqctl', ['delete_queue', deleted]);
    await stack.workers[0]!.waitForLog((l) => l.msg === 'the control queue was deleted; binding a new one');
    await waitFor(
      async () => {
        const queues = await controlQueues(stack!);
        return queues.length === 1 && queues[0] !== deleted;
      },
      10_000,
      'a new control binding',
    );

    // a job whose input download stalls (FFMPEG_STALL_SECONDS is 120 s): only a cancel heard on the fanout stops it
    const client = await TestClient.connect(stack.wsUrl);
    client.send(job('deaf', '/stalls.mp4'));
    await client.next((m) => m.job_id === 'deaf' && m.type === 'progress' && m.stage !== 'queued', 30_000);
    client.send({ type: 'cancel_job', job_id: 'deaf' });
    await stack.workers[0]!.waitForLog((l) => l.msg === 'cancelling running job', 10_000);
    expect(await client.next((m) => m.job_id === 'deaf' && m.type === 'error', 15_000)).toMatchObject({ code: 'JOB_CANCELLED' });
    await client.close();
  });
});

describe('/health during start-up on a brand-new topology', () => {
  it('never takes a gateway or a worker down, however often it is probed', async () => {
    for (let round = 0; round < 5; round++) {
      const prefix = uniquePrefix(`storm-${round}`);
      const [gwHealth, wkHealth] = [await freePort(), await freePort()];
      const base = {
        AMQP_URL,
        QUEUE_PREFIX: prefix,
        WS_HOST: '127.0.0.1',
        WS_PORT: '0',
        STORAGE_DIR: join(dir, `storm-${round}`),
        TEMP_DIR: join(dir, `storm-tmp-${round}`),
        LOG_LEVEL: 'warn',
        SHUTDOWN_LEAD_SECONDS: '0',
      };
      const gateway = spawnService('gateway', { ...base, HEALTH_PORT: String(gwHealth) });
      const worker = spawnService('worker', { ...base, HEALTH_PORT: String(wkHealth) });
      // probed from the first moment, until each has answered 100 probes (the window that matters is the
      // start-up: how long it lasts depends on the machine's load, so the probes are counted, not timed)
      const answered = new Map<number, number>([
        [gwHealth, 0],
        [wkHealth, 0],
      ]);
      const giveUp = Date.now() + 30_000;
      const hammer = async (port: number) => {
        for (let i = 0; answered.get(port)! < 100 && Date.now() < giveUp; i++) {
          // /metrics and /ready read the broker's numbers too
          await fetch(`http://127.0.0.1:${port}/${['health', 'metrics', 'ready', 'health'][i % 4]}`)
            .then((r) => r.status < 500 && answered.set(port, answered.get(port)! + 1))
            .catch(() => undefined);
          await new Promise((r) => setTimeout(r, 3));
        }
      };
      await Promise.all([hammer(gwHealth), hammer(wkHealth), hammer(gwHealth), hammer(wkHealth)]);
      try {
        expect(gateway.proc.exitCode).toBeNull();
        expect(worker.proc.exitCode).toBeNull();
        for (const count of answered.values()) expect(count).toBeGreaterThanOrEqual(100);
        for (const port of [gwHealth, wkHealth]) expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);
        expect(`${gateway.stderr}${worker.stderr}`).not.toMatch(/Unhandled|Channel ended/);
      } finally {
        await Promise.all([gateway.stop(), worker.stop()]);
        await deleteTopology(prefix);
      }
    }
  });
});
