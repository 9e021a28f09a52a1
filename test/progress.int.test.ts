/**
 * Progress that means something for short jobs: a GIF and a set of
 * thumbnails — runs of a second or two — show steps between 0 and 100 %
 * (ffmpeg reports every 0.25 s, and an update the 4-a-second throttle held
 * back is sent when the interval is over), and the `ffmpeg_log` line carries
 * no `speed=0x` / `fps=0` noise.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFileServer, type FileServer } from './helpers/file-server.js';
import { makeTestVideo } from './helpers/media.js';
import { startStack, type Stack } from './helpers/stack.js';
import { TestClient } from './helpers/ws-client.js';

let stack: Stack;
let files: FileServer;
let dir: string;
let client: TestClient;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'progress-'));
  // keyframes 10 s apart: each thumbnail's seek decodes up to that many frames, a run of a fraction of a second
  await makeTestVideo(join(dir, 'clip.mp4'), { seconds: 30, width: 1280, height: 720, audio: false, outputArgs: ['-g', '250'] });
  files = await startFileServer(dir);
  stack = await startStack();
  client = await TestClient.connect(stack.wsUrl);
});
afterAll(async () => {
  await client?.close();
  await stack?.stop();
  await files?.close();
  await rm(dir, { recursive: true, force: true });
});

/** The job's `processing` progress replies. */
function processing(jobId: string) {
  return client.messages(jobId).filter((m) => m.type === 'progress' && m.stage === 'processing');
}

it.each([
  ['an optimized GIF', 'gif', { start_time: 2, duration: 20, fps: 15, width: 480, optimize: true }],
  ['six thumbnails', 'thumbnail', { count: 6, format: 'jpeg' }],
])('%s shows steps between 0 and 100 %%', async (_what, operation, options) => {
  const jobId = `short-${operation}`;
  client.send({ type: 'start_job', job_id: jobId, operation, input: { source: 'url', url: files.url('clip.mp4') }, options });
  const { final } = await client.result(jobId, 120_000);
  expect(final.type).toBe('completed');
  const steps = processing(jobId).map((m) => m.percentage as number);
  const between = new Set(steps.filter((p) => p > 0 && p < 99));
  expect(between.size).toBeGreaterThanOrEqual(2);
  for (const m of processing(jobId)) expect(String(m.ffmpeg_log ?? '')).not.toMatch(/speed=0x|fps=0(\s|$)/);
});
