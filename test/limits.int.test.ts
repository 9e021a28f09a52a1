/** FFMPEG_TIMEOUT_SECONDS and FFMPEG_THREADS are honoured; the gateway shuts down telling clients. */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTestVideo } from './helpers/media.js';
import { holdSecondHalf, type Origin, type RangeLog, startOrigin } from './helpers/origin.js';
import { TestClient } from './helpers/ws-client.js';
import { useSuite } from './helpers/suite.js';

const { dir, files, stack } = useSuite({
  name: 'limits',
  fixtures: (dir) =>
    Promise.all([
      makeTestVideo(join(dir, 'long.mp4'), { seconds: 20, width: 1280, height: 720 }),
      // lossless, 1.5 MB, its index at the end (no faststart) past the first block: read ahead by range, so
      // ffmpeg starts while the file downloads; quick to compress
      makeTestVideo(join(dir, 'short.mp4'), { seconds: 3, width: 640, height: 360, outputArgs: ['-qp', '0'] }),
    ]),
  stack: { workerEnv: { FFMPEG_TIMEOUT_SECONDS: '4', FFMPEG_THREADS: '1' } },
  client: false,
});

/** Lets the slow origin send the second half of its file. */
let releaseHeld!: () => void;
const held = new Promise<void>((resolve) => (releaseHeld = resolve));
const heldLog: RangeLog = { requests: [], bytes: 0 };
let origin: Origin;
beforeAll(async () => {
  origin = await startOrigin({ '/slow.mp4': holdSecondHalf(join(dir, 'short.mp4'), held, heldLog) });
});
afterAll(async () => {
  releaseHeld();
  await origin?.close();
});

it("counts ffmpeg's time from its input's arrival when it reads the input while it downloads", async () => {
  const client = await TestClient.connect(stack.wsUrl);
  client.startJob('held', 'compress', origin.url('/slow.mp4'), { preset: 'low' });
  // ffmpeg encodes the half that came (its own progress), then waits for the rest longer than FFMPEG_TIMEOUT_SECONDS
  await client.next((m) => m.job_id === 'held' && m.type === 'progress' && m.stage === 'processing' && Number(m.percentage) > 0, 30_000);
  await new Promise((resolve) => setTimeout(resolve, 6000));
  releaseHeld();
  const { final } = await client.result('held', 30_000);
  expect(final).toMatchObject({ type: 'completed', output_metadata: { width: 640, height: 360 } });
  // one download, read while it came (not waited for and then handed to ffmpeg)
  expect(heldLog.requests.filter((r) => /^bytes=\d+-$/.test(r ?? ''))).toHaveLength(1);
  expect(stack.workers[0]!.logs.some((l) => l.msg === 'reading the input as it downloads')).toBe(true);
  await client.close();
});

it('kills a job that runs past FFMPEG_TIMEOUT_SECONDS and says so', async () => {
  const client = await TestClient.connect(stack.wsUrl);
  client.startJob('slow', 'speed', files.url('long.mp4'), { speed_factor: 0.5 });
  const started = Date.now();
  const { final } = await client.result('slow', 30_000);
  expect(final).toMatchObject({ type: 'error', code: 'JOB_FAILED', message: 'FFmpeg timed out' });
  expect(final.details).toContain('FFMPEG_TIMEOUT_SECONDS (4s)');
  expect(Date.now() - started).toBeLessThan(20_000);
  // the run used the configured thread count
  const run = stack.workers[0]!.logs.find((l) => l.msg === 'running ffmpeg')!;
  const args = run.args as string[];
  expect(args[args.indexOf('-threads') + 1]).toBe('1');
  expect(await readdir(stack.tempDir)).toEqual([]);
  await client.close();
});

it('closes client sockets with 1001 when the gateway is stopped', async () => {
  const client = await TestClient.connect(stack.wsUrl);
  await stack.gateway.stop();
  await client.until(() => client.closeCode !== null, 5_000).catch(() => undefined);
  expect(client.closeCode).toBe(1001);
  expect(stack.gateway.logs.some((l) => l.msg === 'stopped')).toBe(true);
});
