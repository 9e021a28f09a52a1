/**
 * Any gateway serves any job: three gateway processes and two workers on the
 * real broker and an S3-compatible store, gateways stopped (SIGTERM, as a
 * rolling update does) and killed (-9) mid-job, and clients that come back
 * through another one. Every job is delivered exactly once and ffprobe
 * checks what arrives.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ffprobe, makeTestVideos, video } from './helpers/media.js';
import { type GatewayHandle } from './helpers/stack.js';
import { startJobMessage, TestClient } from './helpers/ws-client.js';
import { useSuite } from './helpers/suite.js';

const KEY = 'gateway-test-key-0001';
const OTHER_KEY = 'gateway-test-key-0002';
const auth = (key = KEY) => ({ authorization: `Bearer ${key}` });

let a: GatewayHandle;
let b: GatewayHandle;
let c: GatewayHandle;

const { dir, files, stack, s3 } = useSuite({
  name: 'gateways',
  fixtures: (dir) =>
    makeTestVideos(dir, {
      'slow.mp4': video(12, '640x360'),
      // a job that outlasts a new gateway's start and a resume on it, however fast the worker is
      'long.mp4': video(40, '640x360'),
      'short.mp4': video(2, '320x240'),
    }),
  s3: true,
  stack: {
    gateways: 3,
    workers: 2,
    // every gateway and worker runs this release: small outputs are kept in their job's result
    env: { API_KEYS: `${KEY},${OTHER_KEY}`, SMALL_OUTPUTS_IN_RESULT: 'true' },
    workerEnv: { FFMPEG_THREADS: '1', MAX_CONCURRENT_JOBS: '2' },
  },
  client: false,
});
beforeAll(() => {
  [a, b, c] = stack.gateways as [GatewayHandle, GatewayHandle, GatewayHandle];
});

const slowJob = (jobId: string, file = 'slow.mp4') => startJobMessage(jobId, 'speed', files.url(file), { speed_factor: 0.5 });

/** Submits on `gateway`, waits until a worker runs it; returns the client and the resume token. */
async function submitRunning(gateway: GatewayHandle, jobId: string, file?: string) {
  const client = await TestClient.connect(gateway.wsUrl, auth());
  client.send(slowJob(jobId, file));
  const ack = await client.next((m) => m.type === 'ack' && m.job_id === jobId);
  await client.next((m) => m.job_id === jobId && m.type === 'progress' && m.stage === 'processing', 60_000);
  return { client, token: String(ack.resume_token) };
}

/** Resumes on `gateway` and checks the job's one result: exactly one `completed`, one file, a valid video of the right length. */
async function resumeAndCollect(gateway: GatewayHandle, jobId: string, token: string, seconds: number): Promise<TestClient> {
  const client = await TestClient.connect(gateway.wsUrl, auth());
  client.send({ type: 'resume_job', job_id: jobId, resume_token: token });
  const { final, files: out } = await client.result(jobId, 120_000);
  expect(final.type).toBe('completed');
  await new Promise((r) => setTimeout(r, 500)); // anything duplicated would arrive now
  expect(client.messages(jobId).filter((m) => m.type === 'completed' || m.type === 'error')).toHaveLength(1);
  expect(client.received.filter((r) => r.kind === 'binary')).toHaveLength(1);
  const path = join(dir, `${jobId}.mp4`);
  await writeFile(path, out.get('output.mp4')!);
  const probed = await ffprobe(path);
  expect(probed.video?.codec_name).toBe('h264');
  expect(Math.abs(probed.duration - seconds)).toBeLessThan(0.3);
  return client;
}

it('resumes on gateway B a job submitted on gateway A, while A is up', async () => {
  const { client, token } = await submitRunning(a, 'on-a');
  await client.close();
  const resumed = await resumeAndCollect(b, 'on-a', token, 24);
  // the first thing B says is where the job stands
  expect(resumed.messages('on-a')[0]).toMatchObject({ type: 'progress' });
  await resumed.close();
});

it('tells clients to reconnect when a gateway is stopped (SIGTERM) mid-job, and the job goes on through another', async () => {
  const { client, token } = await submitRunning(a, 'sigterm');
  let reason = '';
  client.ws.once('close', (_code, why) => (reason = why.toString()));
  await a.process.stop();
  await client.until(() => client.closeCode !== null, 10_000).catch(() => undefined);
  expect(client.closeCode).toBe(1001);
  expect(reason).toMatch(/reconnect and resume_job/);
  await (await resumeAndCollect(b, 'sigterm', token, 24)).close();
});

it('loses nothing when a gateway is killed with -9 mid-job: the client resumes on another', async () => {
  const { client, token } = await submitRunning(b, 'kill9');
  b.process.kill9();
  await client.until(() => client.closeCode !== null, 10_000).catch(() => undefined);
  expect(client.closeCode).not.toBeNull();
  await (await resumeAndCollect(c, 'kill9', token, 24)).close();
});

it('hands over a job that finished while its gateway was dead', async () => {
  const d = await stack.addGateway();
  const client = await TestClient.connect(d.wsUrl, auth());
  client.send(slowJob('while-dead', 'short.mp4'));
  const ack = await client.next((m) => m.type === 'ack');
  d.process.kill9();
  // the resume token starts with the id workers know the job by
  const internalId = String(ack.resume_token).split('.')[0];
  await Promise.any(stack.workers.map((w) => w.waitForLog((l) => l.msg === 'job completed' && l.job_id === internalId, 60_000)));
  await (await resumeAndCollect(c, 'while-dead', String(ack.resume_token), 4)).close();
});

it('hands over a small output kept only in the result, after its gateway died', async () => {
  const d = await stack.addGateway();
  const client = await TestClient.connect(d.wsUrl, auth());
  client.send(startJobMessage('thumb-dead', 'thumbnail', files.url('short.mp4'), { timestamp: 1 }));
  const ack = await client.next((m) => m.type === 'ack');
  d.process.kill9();
  const internalId = String(ack.resume_token).split('.')[0];
  await Promise.any(stack.workers.map((w) => w.waitForLog((l) => l.msg === 'job completed' && l.job_id === internalId, 60_000)));
  // only gateways read this job's result: its PNG went into result.json, not into an object of its own
  const writes = s3.requests.filter((r) => r.startsWith('PUT ') && r.includes(`/jobs/${internalId}/`));
  expect(writes.some((r) => r.includes(`/jobs/${internalId}/result.json`))).toBe(true);
  expect(writes.filter((r) => r.includes('/output/'))).toEqual([]);
  const resumed = await TestClient.connect(c.wsUrl, auth());
  resumed.send({ type: 'resume_job', job_id: 'thumb-dead', resume_token: ack.resume_token });
  const { final, files: out } = await resumed.result('thumb-dead', 60_000);
  expect(final).toMatchObject({ type: 'completed', outputs: [{ filename: 'thumbnail.png' }] });
  const png = out.get('thumbnail.png')!;
  expect(png.subarray(1, 4).toString()).toBe('PNG');
  expect(png.length).toBe((final.outputs as { size_bytes: number }[])[0]!.size_bytes);
  await resumed.close();
  await client.close();
});

it('refuses, on another gateway, a wrong token and a client with another key, alike', async () => {
  const client = await TestClient.connect(c.wsUrl, auth());
  client.send(slowJob('guarded', 'short.mp4'));
  const ack = await client.next((m) => m.type === 'ack');
  await client.close();
  const e = await stack.addGateway();
  const stranger = await TestClient.connect(e.wsUrl, auth(OTHER_KEY));
  stranger.send({ type: 'resume_job', job_id: 'guarded', resume_token: ack.resume_token });
  const foreign = await stranger.next((m) => m.type === 'error');
  const guesser = await TestClient.connect(e.wsUrl, auth());
  guesser.send({ type: 'resume_job', job_id: 'guarded', resume_token: `${String(ack.resume_token).split('.')[0]}.guessed` });
  const wrong = await guesser.next((m) => m.type === 'error');
  expect(foreign).toMatchObject({ code: 'RESUME_FAILED', job_id: 'guarded' });
  expect(wrong).toEqual(foreign);
  await Promise.all([stranger.close(), guesser.close()]);
  // the owner, on the same gateway, still gets it
  await (await resumeAndCollect(e, 'guarded', String(ack.resume_token), 4)).close();
});

it('cancels, from another gateway, a job resumed there', async () => {
  const { client, token } = await submitRunning(c, 'cancel-elsewhere', 'long.mp4');
  await client.close();
  const f = await stack.addGateway();
  const resumed = await TestClient.connect(f.wsUrl, auth());
  resumed.send({ type: 'resume_job', job_id: 'cancel-elsewhere', resume_token: token });
  await resumed.next((m) => m.type === 'progress');
  resumed.send({ type: 'cancel_job', job_id: 'cancel-elsewhere' });
  expect(await resumed.next((m) => m.type === 'error')).toMatchObject({ code: 'JOB_CANCELLED' });
  await Promise.race(stack.workers.map((w) => w.waitForLog((l) => l.msg === 'job cancelled', 20_000)));
  await new Promise((r) => setTimeout(r, 500));
  expect(resumed.messages('cancel-elsewhere').filter((m) => m.type === 'completed')).toEqual([]);
  await resumed.close();
});

it('on SIGTERM turns not-ready and refuses new connections at once, closing open ones only after the lead time', async () => {
  const g = await stack.addGateway({ SHUTDOWN_LEAD_SECONDS: '2' });
  const open = await TestClient.connect(g.wsUrl, auth());
  const stopped = g.process.stop();
  await g.process.waitForLog((l) => String(l.msg).startsWith('shutting down'), 5000);
  expect((await fetch(g.healthUrl.replace('/health', '/ready'))).status).toBe(503);
  const { upgradeStatus } = await import('./helpers/ws-client.js');
  expect(await upgradeStatus(g.wsUrl, auth())).toBe(503);
  expect(open.closeCode).toBeNull(); // still served during the lead time
  await open.until(() => open.closeCode !== null, 10_000).catch(() => undefined);
  expect(open.closeCode).toBe(1001);
  await stopped;
});
