/** FFMPEG_TIMEOUT_SECONDS and FFMPEG_THREADS are honoured; the gateway shuts down telling clients. */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTestVideo } from './helpers/media.js';
import { TestClient } from './helpers/ws-client.js';
import { useSuite } from './helpers/suite.js';

const { files, stack } = useSuite({
  name: 'limits',
  fixtures: (dir) => makeTestVideo(join(dir, 'long.mp4'), { seconds: 20, width: 1280, height: 720 }),
  stack: { workerEnv: { FFMPEG_TIMEOUT_SECONDS: '2', FFMPEG_THREADS: '1' } },
  client: false,
});

it('kills a job that runs past FFMPEG_TIMEOUT_SECONDS and says so', async () => {
  const client = await TestClient.connect(stack.wsUrl);
  client.startJob('slow', 'speed', files.url('long.mp4'), { speed_factor: 0.5 });
  const started = Date.now();
  const { final } = await client.result('slow', 30_000);
  expect(final).toMatchObject({ type: 'error', code: 'JOB_FAILED', message: 'FFmpeg timed out' });
  expect(final.details).toContain('FFMPEG_TIMEOUT_SECONDS (2s)');
  expect(Date.now() - started).toBeLessThan(15_000);
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
