/**
 * Fault injection with real processes, real RabbitMQ and real ffmpeg: worker
 * crashes (kill -9), a poison job, SIGTERM on a busy worker, a RabbitMQ
 * restart, and clients that drop and resume. Every accepted job must end
 * exactly once; the counts are printed at the end.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ffprobe, makeTestVideos, video } from './helpers/media.js';
import { holdSecondHalf, startOrigin } from './helpers/origin.js';
import { startPrivateRabbit, type PrivateRabbit } from './helpers/rabbitmq.js';
import { listQueues, startStack, type Stack } from './helpers/stack.js';
import { waitFor } from './helpers/wait.js';
import { startJobMessage, TestClient } from './helpers/ws-client.js';
import { useSuite } from './helpers/suite.js';

const tally = { submitted: 0, completed: 0, failed: 0, duplicated: 0 };

/** Counts a job's ending; more than one `completed`/`error` for a job is a duplicate. */
function count(client: TestClient, jobId: string): 'completed' | 'error' {
  const finals = client.messages(jobId).filter((m) => m.type === 'completed' || m.type === 'error');
  tally.duplicated += Math.max(0, finals.length - 1);
  const kind = finals[0]!.type as 'completed' | 'error';
  if (kind === 'completed') tally.completed++;
  else tally.failed++;
  return kind;
}

const slowSpeed = (jobId: string, file = 'slow.mp4') => startJobMessage(jobId, 'speed', files.url(file), { speed_factor: 0.5 });

/** Sends a job, counting it. */
function submit(client: TestClient, message: { job_id: string }): void {
  tally.submitted++;
  client.send(message);
}

const settle = () => new Promise((r) => setTimeout(r, 1500));

const { dir, files } = useSuite({
  name: 'rel',
  fixtures: (dir) =>
    makeTestVideos(dir, {
      'slow.mp4': video(12, '640x360'),
      'short.mp4': video(3, '320x240'),
      // about 13 MB: raw frames, copied as they are by remove_audio
      'raw.mkv': video(4.5, '320x240', { codecArgs: ['-c:v', 'rawvideo', '-pix_fmt', 'yuv420p', '-c:a', 'pcm_s16le'] }),
    }),
  stack: false,
});
afterAll(() => {
  // the fault-injection report
  console.log(`reliability: ${JSON.stringify(tally)}`);
  expect(tally.duplicated).toBe(0);
});

describe('resume after reconnect', () => {
  const { stack } = useSuite({ stack: { workerEnv: { FFMPEG_THREADS: '1' } }, client: false });

  it('lets a new connection pick up a running job: its state, the rest of its progress, its result', async () => {
    const first = await TestClient.connect(stack.wsUrl);
    submit(first, slowSpeed('trip'));
    const ack = await first.next((m) => m.type === 'ack');
    expect(typeof ack.resume_token).toBe('string');
    const seen = await first.next((m) => m.type === 'progress' && m.stage === 'processing' && (m.percentage as number) > 0, 60_000);
    await first.close();

    const second = await TestClient.connect(stack.wsUrl);
    second.send({ type: 'resume_job', job_id: 'trip', resume_token: ack.resume_token });
    const state = await second.next((m) => m.type === 'progress');
    expect(state.percentage as number).toBeGreaterThanOrEqual(seen.percentage as number);
    const { final, files: out } = await second.result('trip', 120_000);
    expect(count(second, 'trip')).toBe('completed');
    expect(final.type).toBe('completed');
    const percentages = second
      .messages('trip')
      .filter((m) => m.type === 'progress')
      .map((m) => m.percentage as number);
    expect(percentages).toEqual([...percentages].sort((a, b) => a - b));
    expect(out.get('output.mp4')!.length).toBe((final.outputs as { size_bytes: number }[])[0]!.size_bytes);
    await second.close();
  });

  it('keeps a result that finished while the client was away, in storage, until it resumes', async () => {
    const first = await TestClient.connect(stack.wsUrl);
    submit(first, {
      type: 'start_job',
      job_id: 'away',
      operation: 'thumbnail',
      input: { source: 'url', url: files.url('short.mp4') },
    } as never);
    const ack = await first.next((m) => m.type === 'ack');
    await first.close();
    await stack.workers[0]!.waitForLog((l) => l.msg === 'job completed' && l.operation === 'thumbnail', 60_000);
    await settle();
    const stored = await readdir(join(stack.storageDir, 'jobs'), { recursive: true });
    expect(stored.some((p) => String(p).endsWith('thumbnail.png'))).toBe(true);

    const second = await TestClient.connect(stack.wsUrl);
    second.send({ type: 'resume_job', job_id: 'away', resume_token: 'wrong.token' });
    expect(await second.next((m) => m.type === 'error')).toMatchObject({ code: 'RESUME_FAILED', job_id: 'away' });
    second.send({ type: 'resume_job', job_id: 'someone-else', resume_token: ack.resume_token });
    expect(await second.next((m) => m.type === 'error' && m.job_id === 'someone-else')).toMatchObject({ code: 'RESUME_FAILED' });
    second.received.length = 0;
    second.send({ type: 'resume_job', job_id: 'away', resume_token: ack.resume_token });
    const { final, files: out } = await second.result('away');
    expect(final.type).toBe('completed');
    expect(count(second, 'away')).toBe('completed');
    expect(out.get('thumbnail.png')?.subarray(1, 4).toString()).toBe('PNG');
    await settle();
    // delivered: the files are gone, and so is the first connection's reply queue
    const left = await readdir(join(stack.storageDir, 'jobs'), { recursive: true }).catch(() => []);
    expect(left.filter((p) => /\.[a-z0-9]+$/.test(String(p)))).toEqual([]);
    second.send({ type: 'resume_job', job_id: 'away', resume_token: ack.resume_token });
    expect(await second.next((m) => m.type === 'error' && m.code === 'RESUME_FAILED')).toBeTruthy();
    await second.close();
    await settle();
    expect(await listQueues(`${stack.prefix}.reply.`)).toEqual([]);
  });
});

describe('a connection that drops while its output is still on the way', () => {
  // One frame for any output up to 16 MiB: the gateway hands all of it to the socket at once, and most of it
  // waits in the send buffer of a client that does not read. (With the default 1 MiB, what can be left there
  // when the last piece has gone is up to two pieces: the same window, smaller.)
  const { stack } = useSuite({
    stack: { gatewayEnv: { DOWNLOAD_CHUNK_BYTES: String(16 * 1024 * 1024) }, workerEnv: { FFMPEG_THREADS: '1' } },
    client: false,
  });

  const stored = async () => (await readdir(join(stack.storageDir, 'jobs'), { recursive: true }).catch(() => [])).map(String);

  /** Job `id` (a 13 MB output) to a client that stops reading once `completed` comes: its ack, `completed`, the client. */
  async function stalled(id: string) {
    const client = await TestClient.connect(stack.wsUrl);
    submit(client, startJobMessage(id, 'remove_audio', files.url('raw.mkv'), { keep_video_quality: true }));
    const ack = await client.next((m) => m.type === 'ack');
    const completed = await client.next((m) => m.type === 'completed', 60_000);
    client.ws.pause(); // the kernel's buffers fill, the rest of the output stays in the gateway's
    expect((completed.outputs as { size_bytes: number }[])[0]!.size_bytes).toBeGreaterThan(12_000_000);
    // well past the gathered delete's half second: a delivery counted as done once handed over would be gone by now
    await settle();
    expect((await stored()).some((p) => p.endsWith('output.mkv'))).toBe(true); // (each test waits for its own to go)
    return { ack, completed, client };
  }

  /** Resumes `id` on a new connection and checks the whole output arrives; then its files go. */
  async function resumedWhole(id: string, token: unknown, completed: Record<string, unknown>) {
    const client = await TestClient.connect(stack.wsUrl);
    client.send({ type: 'resume_job', job_id: id, resume_token: token });
    const { final, files: out } = await client.result(id, 60_000);
    expect(count(client, id)).toBe('completed');
    expect(final.outputs).toEqual(completed.outputs);
    const bytes = out.get('output.mkv')!;
    expect(bytes.length).toBe((completed.outputs as { size_bytes: number }[])[0]!.size_bytes);
    await writeFile(join(dir, `${id}.mkv`), bytes);
    const probed = await ffprobe(join(dir, `${id}.mkv`));
    expect([probed.video?.codec_name, probed.audio]).toEqual(['rawvideo', undefined]);
    await client.close();
  }

  it('keeps the result for a resume: the output counts as delivered only once it has left the gateway', async () => {
    const { ack, completed, client } = await stalled('dropped');
    client.ws.terminate(); // the connection drops, the tail of the output undelivered
    await stack.gateway.waitForLog((l) => l.msg === 'client disconnected during delivery; the result waits in storage for a resume');
    await resumedWhole('dropped', ack.resume_token, completed);
    await waitFor(async () => !(await stored()).some((p) => p.endsWith('output.mkv')), 10_000);
  });

  it('delivers the job again to a connection that resumes it before the gateway noticed the old one stalled', async () => {
    const { ack, completed, client } = await stalled('given-up');
    // the client gives the stalled connection up (it is still open) and resumes on a new one
    await resumedWhole('given-up', ack.resume_token, completed);
    await stack.gateway.waitForLog((l) => l.msg === 'job resumed on another connection during its delivery; delivering it there');
    await waitFor(async () => !(await stored()).some((p) => p.endsWith('output.mkv')), 10_000);
    client.ws.terminate();
  });
});

describe('worker crashes', () => {
  const { stack } = useSuite({ stack: { workers: 2, workerEnv: { MAX_CONCURRENT_JOBS: '2', FFMPEG_THREADS: '1' } }, client: false });

  it('redelivers the jobs of a worker killed with -9; every job completes exactly once', async () => {
    const client = await TestClient.connect(stack.wsUrl);
    const ids = Array.from({ length: 6 }, (_, i) => `crash-${i}`);
    for (const id of ids) submit(client, slowSpeed(id, 'short.mp4'));
    const victim = stack.workers[0]!;
    await victim.waitForLog((l) => l.msg === 'running ffmpeg', 60_000);
    victim.kill9();
    await victim.exit();
    await stack.addWorker(); // the replacement pod
    for (const id of ids) {
      const { final, files: out } = await client.result(id, 120_000);
      expect(final.type).toBe('completed');
      expect(out.size).toBe(1);
    }
    await settle();
    for (const id of ids) expect(count(client, id)).toBe('completed');
    const redelivered = stack.workers.flatMap((w) => w.logs).filter((l) => l.msg === 'job started' && l.redelivered === true);
    expect(redelivered.length).toBeGreaterThan(0);
    await client.close();
  });
});

describe('a poison job', () => {
  const { stack } = useSuite({ stack: { workers: 0, env: { JOB_DELIVERY_LIMIT: '2' } }, client: false });

  it('is dead-lettered after JOB_DELIVERY_LIMIT worker deaths, and the client is told', async () => {
    const client = await TestClient.connect(stack.wsUrl);
    submit(client, slowSpeed('poison'));
    await client.next((m) => m.type === 'ack');
    let kills = 0;
    while (!client.messages('poison').some((m) => m.type === 'error') && kills < 6) {
      const worker = await stack.addWorker({ FFMPEG_THREADS: '1' });
      const started = await Promise.race([
        worker
          .waitForLog((l) => l.msg === 'job started', 30_000)
          .then(
            () => true,
            () => false,
          ),
        client
          .until((r) => r.some((x) => x.kind === 'json' && x.data.job_id === 'poison' && x.data.type === 'error'), 30_000)
          .then(
            () => false,
            () => false,
          ),
      ]);
      if (started) {
        // the crash: the job never finishes on this worker
        worker.kill9();
        await worker.exit();
        kills++;
      }
    }
    const { final } = await client.result('poison', 30_000);
    expect(final).toMatchObject({ type: 'error', code: 'JOB_FAILED', message: 'Job abandoned after repeated worker failures' });
    expect(kills).toBe(3); // the first delivery and JOB_DELIVERY_LIMIT redeliveries
    expect(count(client, 'poison')).toBe('error');
    await client.close();
  });
});

describe('graceful shutdown', () => {
  const { stack } = useSuite({ stack: { workers: 1, workerEnv: { FFMPEG_THREADS: '1', SHUTDOWN_GRACE_SECONDS: '60' } }, client: false });

  it('lets a SIGTERMed worker finish its running job, and takes no new ones', async () => {
    const client = await TestClient.connect(stack.wsUrl);
    submit(client, slowSpeed('draining', 'short.mp4'));
    const busy = stack.workers[0]!;
    await busy.waitForLog((l) => l.msg === 'running ffmpeg', 60_000);
    busy.proc.kill('SIGTERM');
    // the signal is handled asynchronously: a job submitted before that may be taken, as it should be
    await busy.waitForLog((l) => l.msg === 'shutting down');
    submit(client, slowSpeed('after-term', 'short.mp4'));
    await client.next((m) => m.type === 'ack' && m.job_id === 'after-term');
    const { final } = await client.result('draining', 60_000);
    expect(final.type).toBe('completed');
    expect(await busy.exit()).toBe(0);
    expect(busy.logs.filter((l) => l.msg === 'job started')).toHaveLength(1);
    await stack.addWorker();
    expect((await client.result('after-term', 60_000)).final.type).toBe('completed');
    expect(count(client, 'draining')).toBe('completed');
    expect(count(client, 'after-term')).toBe('completed');
    await client.close();
  });

  it('hands a job that outlasts the grace period back to the queue, where another worker completes it', async () => {
    // the input's second half is held until the job was handed back: the run cannot end within the grace,
    // however fast the machine (a fast one finished this job in the grace second)
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const origin = await startOrigin({ '/slow.mp4': holdSecondHalf(join(dir, 'slow.mp4'), gate) });
    try {
      const quick = await stack.addWorker({ SHUTDOWN_GRACE_SECONDS: '1', FFMPEG_THREADS: '1' });
      for (const w of stack.workers) if (w !== quick) await w.stop();
      const client = await TestClient.connect(stack.wsUrl);
      submit(client, startJobMessage('handed-back', 'speed', origin.url('/slow.mp4'), { speed_factor: 0.5 }));
      await quick.waitForLog((l) => l.msg === 'running ffmpeg', 60_000);
      quick.proc.kill('SIGTERM');
      await quick.waitForLog((l) => String(l.msg).includes('handing it back'), 10_000);
      expect(await quick.exit()).toBe(0);
      release();
      await stack.addWorker();
      const { final, files: out } = await client.result('handed-back', 120_000);
      expect(final.type).toBe('completed');
      const path = join(dir, 'handed-back.mp4');
      await writeFile(path, out.get('output.mp4')!);
      expect(Math.abs((await ffprobe(path)).duration - 24)).toBeLessThan(0.5);
      expect(count(client, 'handed-back')).toBe('completed');
      await client.close();
    } finally {
      release();
      await origin.close();
    }
  });
});

describe('a RabbitMQ restart', () => {
  let rabbit: PrivateRabbit;
  let stack: Stack;
  beforeAll(async () => {
    rabbit = await startPrivateRabbit();
    stack = await startStack({
      env: { AMQP_URL: rabbit.url, PUBLISH_TIMEOUT_SECONDS: '3' },
      workerEnv: { MAX_CONCURRENT_JOBS: '1', FFMPEG_THREADS: '1' },
    });
  }, 120_000);
  afterAll(async () => {
    await stack?.stop();
    await rabbit?.close();
  });

  it('is survived: both services reconnect, queued jobs are kept, and a submit while it is down fails clearly', async () => {
    const client = await TestClient.connect(stack.wsUrl);
    const ids = ['r-0', 'r-1', 'r-2'];
    for (const id of ids) submit(client, slowSpeed(id, 'short.mp4'));
    for (const id of ids) await client.next((m) => m.type === 'ack' && m.job_id === id);
    await stack.workers[0]!.waitForLog((l) => l.msg === 'running ffmpeg', 60_000);

    await rabbit.stopApp();
    await waitFor(() => brokerIs(stack, 'disconnected'), 30_000, 'broker disconnected in /health');
    const ready = await fetch(stack.healthUrl.replace('/health', '/ready'));
    expect(ready.status).toBe(503);
    submit(client, slowSpeed('while-down', 'short.mp4'));
    expect(await client.next((m) => m.job_id === 'while-down' && m.type === 'error', 30_000)).toMatchObject({ code: 'SUBMIT_FAILED' });
    tally.failed++;

    await rabbit.startApp();
    await waitFor(() => brokerIs(stack, 'connected'), 60_000, 'broker connected in /health');
    for (const id of ids) {
      const { final } = await client.result(id, 180_000);
      expect(final.type).toBe('completed');
    }
    await settle();
    for (const id of ids) expect(count(client, id)).toBe('completed');
    expect(stack.gateway.logs.some((l) => l.msg === 'connected to RabbitMQ' && (l.connects as number) >= 2)).toBe(true);
    expect(stack.workers[0]!.logs.some((l) => l.msg === 'connected to RabbitMQ' && (l.connects as number) >= 2)).toBe(true);
    await client.close();
  });
});

describe('a RabbitMQ outage longer than a worker stays unheard', () => {
  // The workers forget a peer they have not heard from for 15 s (PEER_EXPIRY_MS). A broker away for
  // longer silences every peer; when it returns it hands the running job back to its queue, and an idle
  // worker takes it. That worker must still see that its peer runs the job, and wait for it, not run it twice.
  it('does not run a job twice: the worker that takes it back waits for the one that still runs it', async () => {
    const rabbit = await startPrivateRabbit();
    const body = await readFile(join(dir, 'short.mp4'));
    let gets = 0;
    // an input that takes about 45 s to arrive, without a length (no ranges: the worker downloads it)
    const origin = await startOrigin({
      '/slow.mp4': async (req, res) => {
        if (req.method !== 'GET') return void res.writeHead(405).end();
        gets++;
        res.writeHead(200, { 'content-type': 'video/mp4' });
        const step = Math.ceil(body.length / 180);
        for (let at = 0; at < body.length && !res.destroyed; at += step) {
          res.write(body.subarray(at, at + step));
          await new Promise((r) => setTimeout(r, 250));
        }
        res.end();
      },
    });
    const stack = await startStack({
      workers: 2,
      env: { AMQP_URL: rabbit.url },
      // the input arrives slowly on purpose
      workerEnv: { MAX_CONCURRENT_JOBS: '1', FFMPEG_THREADS: '1', URL_MIN_BYTES_PER_SECOND: '0' },
    });
    try {
      const client = await TestClient.connect(stack.wsUrl);
      submit(client, startJobMessage('outlasting', 'thumbnail', origin.url('/slow.mp4'), { timestamp: 1 }));
      await waitFor(() => gets === 1, 60_000, 'the input requested');
      // the only job here: the workers log it under the gateway's id for it
      const ofJob = (l: Record<string, unknown>) => l.operation === 'thumbnail';
      const runs = (w: (typeof stack.workers)[number]) => w.logs.some(ofJob);
      await waitFor(() => stack.workers.some(runs), 30_000, 'a worker took the job');
      const first = stack.workers.find(runs)!;
      const second = stack.workers.find((w) => w !== first)!;
      await rabbit.stopApp();
      await new Promise((r) => setTimeout(r, 20_000)); // past PEER_EXPIRY_MS
      await rabbit.startApp();
      // the job is back in its queue, and the idle worker takes it while the first still downloads its input
      await second.waitForLog((l) => ofJob(l) && l.msg === 'another worker runs this job; waiting for it to end', 45_000);
      const { final } = await client.result('outlasting', 120_000);
      expect(final.type).toBe('completed');
      await settle();
      expect(count(client, 'outlasting')).toBe('completed');
      expect(gets).toBe(1);
      // the first run's answer was delivered and its files removed before the copy looked: storage could not tell
      // it the job had ended; the first worker's `job_finished` did
      expect(second.logs.some((l) => ofJob(l) && /answered already/.test(String(l.msg)))).toBe(true);
      expect(second.logs.some((l) => ofJob(l) && l.msg === 'running ffmpeg')).toBe(false);
      expect(first.logs.some((l) => ofJob(l) && l.msg === 'running ffmpeg')).toBe(true);
      await client.close();
    } finally {
      await stack.stop();
      await origin.close();
      await rabbit.close();
    }
  }, 240_000);
});

describe('a worker stopped while RabbitMQ is away', () => {
  it('exits on SIGTERM without waiting for the broker to come back', async () => {
    const rabbit = await startPrivateRabbit();
    const stack = await startStack({
      env: { AMQP_URL: rabbit.url },
      workerEnv: { MAX_CONCURRENT_JOBS: '1', FFMPEG_THREADS: '1', TRANSIENT_RETRY_SECONDS: '2' },
    });
    try {
      const client = await TestClient.connect(stack.wsUrl);
      submit(client, slowSpeed('down')); // a 12 s clip: still running when the broker goes
      tally.failed++; // it never ends for its client: the worker stops without the broker, the test with it
      const worker = stack.workers[0]!;
      await worker.waitForLog((l) => l.msg === 'running ffmpeg', 60_000);
      await rabbit.stopApp();
      // the job ends while the broker is away (its reply cannot go out), and its slot waits for a channel
      await worker.waitForLog((l) => l.msg === 'final reply not published; the job goes back to the queue', 90_000);
      await new Promise((r) => setTimeout(r, 1000));
      worker.proc.kill('SIGTERM');
      // within the closing deadline (WEBHOOK_TIMEOUT_SECONDS + 10 s), not whenever the broker returns
      const exited = await Promise.race([worker.exit(), new Promise((r) => setTimeout(() => r('still running'), 40_000))]);
      expect(exited).toBe(0);
      await client.close();
    } finally {
      await stack.stop();
      await rabbit.close();
    }
  }, 180_000);
});

/** Whether /health reports the broker `state`; false while the gateway cannot be asked. */
async function brokerIs(stack: Stack, state: string): Promise<boolean> {
  const health = await fetch(stack.healthUrl)
    .then((r) => r.json() as Promise<{ broker: string }>)
    .catch(() => null);
  return health?.broker === state;
}
