/** /health, /ready and /metrics of both services, and a trace id followed from the upgrade into the worker's logs. */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { makeTestVideo } from './helpers/media.js';
import { waitFor } from './helpers/wait.js';
import { TestClient } from './helpers/ws-client.js';
import { useSuite } from './helpers/suite.js';

const { files, s3, stack } = useSuite({
  name: 'obs',
  fixtures: (dir) => makeTestVideo(join(dir, 'clip.mp4'), { seconds: 2 }),
  s3: true,
  client: false,
});

const workerUrl = async (path: string) => {
  const ready = await stack.workers[0]!.waitForLog((l) => l.msg === 'worker ready');
  return `http://127.0.0.1:${String(ready.health_port)}${path}`;
};
const gatewayUrl = (path: string) => stack.healthUrl.replace('/health', path);

it('follows one trace id from the WebSocket upgrade through RabbitMQ into the worker', async () => {
  const traceId = randomBytes(16).toString('hex');
  const client = await TestClient.connect(stack.wsUrl, { traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` });
  client.send({ type: 'start_job', job_id: 'traced', operation: 'thumbnail', input: { source: 'url', url: files.url('clip.mp4') } });
  expect((await client.result('traced')).final.type).toBe('completed');
  await client.close();
  const gatewayLines = stack.gateway.logs.filter((l) => l.job_id === 'traced');
  expect(gatewayLines.length).toBeGreaterThan(0);
  expect(gatewayLines.every((l) => l.trace_id === traceId)).toBe(true);
  const started = await stack.workers[0]!.waitForLog((l) => l.msg === 'job started' && l.trace_id === traceId);
  expect(stack.workers[0]!.logs.filter((l) => l.job_id === started.job_id).every((l) => l.trace_id === traceId)).toBe(true);
});

it('serves Prometheus metrics on both services', async () => {
  const gateway = await (await fetch(gatewayUrl('/metrics'))).text();
  expect(gateway).toMatch(/^mf_ws_connections\{service="gateway"\} \d+$/m);
  expect(gateway).toMatch(/^mf_jobs_submitted_total\{operation="thumbnail",service="gateway"\} [1-9]/m);
  expect(gateway).toMatch(/^mf_jobs_finished_total\{operation="thumbnail",outcome="completed",service="gateway"\} [1-9]/m);
  expect(gateway).toMatch(/^mf_job_duration_seconds_count\{service="gateway",operation="thumbnail"\} [1-9]/m);
  expect(gateway).toMatch(/^mf_broker_connected\{service="gateway"\} 1$/m);
  expect(gateway).toMatch(/^mf_queue_depth\{service="gateway"\} 0$/m);
  expect(gateway).toMatch(/^mf_bytes_sent_total\{service="gateway"\} [1-9]/m);
  expect(gateway).toContain('mf_process_resident_memory_bytes');
  const worker = await (await fetch(await workerUrl('/metrics'))).text();
  expect(worker).toMatch(/^mf_worker_jobs_total\{operation="thumbnail",outcome="completed",service="worker"\} [1-9]/m);
  // every stage of a thumbnail job was timed (input_fetch, probe and ffmpeg always run; output_probe: it has an output)
  for (const stage of ['queue_wait', 'input_fetch', 'probe', 'ffmpeg', 'output_probe', 'store', 'reply'])
    expect(worker).toMatch(
      new RegExp(`^mf_worker_stage_seconds_count\\{service="worker",operation="thumbnail",stage="${stage}"\\} [1-9]`, 'm'),
    );
  expect(worker).toMatch(/^mf_worker_active_jobs\{service="worker"\} 0$/m);
});

it("counts ffmpeg runs by how their process started: the next job's ffmpeg was loaded before it (FFMPEG_PRESTART)", async () => {
  // a job's ffmpeg start loads the next job's; the worker logs when it is ready
  await stack.workers[0]!.waitForLog((l) => l.msg === 'ffmpeg loaded for the next job');
  const client = await TestClient.connect(stack.wsUrl);
  client.send({ type: 'start_job', job_id: 'warm', operation: 'thumbnail', input: { source: 'url', url: files.url('clip.mp4') } });
  expect((await client.result('warm')).final.type).toBe('completed');
  await client.close();
  const worker = await (await fetch(await workerUrl('/metrics'))).text();
  expect(worker).toMatch(/^mf_worker_ffmpeg_starts_total\{start="prestarted",service="worker"\} [1-9]/m);
  // the first job of the stack had none to take
  expect(worker).toMatch(/^mf_worker_ffmpeg_starts_total\{start="cold",service="worker"\} [1-9]/m);
});

it('is ready while RabbitMQ and storage answer, and says why not when storage goes away', async () => {
  for (const url of [gatewayUrl('/ready'), await workerUrl('/ready')]) {
    // the checks behind /ready run in the background: the first ones may predate the broker connection
    await waitFor(async () => (await fetch(url)).status === 200, 10_000, `${url} ready`);
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ready: true });
  }
  await s3.close();
  for (const url of [gatewayUrl('/ready'), await workerUrl('/ready')]) {
    // storage is checked in the background (every 5 s): /ready answers from the last check, never waiting on S3
    await waitFor(async () => (await fetch(url)).status === 503, 10_000, `${url} not ready`);
    const res = await fetch(url);
    expect(res.status).toBe(503);
    const body = (await res.json()) as { ready: boolean; problems: string[] };
    expect(body.ready).toBe(false);
    expect(body.problems.join(' ')).toContain('storage is not reachable');
  }
  // liveness is unaffected: the process itself is fine
  expect((await fetch(stack.healthUrl)).status).toBe(200);
});
