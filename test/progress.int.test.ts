/**
 * Progress that means something for short jobs: a GIF and a set of
 * thumbnails — runs of a second or two — show steps between 0 and 100 %
 * (ffmpeg reports every 0.25 s, and an update the 4-a-second throttle held
 * back is sent when the interval is over), and the `ffmpeg_log` line carries
 * no `speed=0x` / `fps=0` noise.
 */
import { join } from 'node:path';
import { makeTestVideo } from './helpers/media.js';
import { useSuite } from './helpers/suite.js';

const { files, client } = useSuite({
  name: 'progress',
  // keyframes 10 s apart: each thumbnail's seek decodes up to that many frames, a run of a fraction of a second
  fixtures: (dir) =>
    makeTestVideo(join(dir, 'clip.mp4'), { seconds: 30, width: 1280, height: 720, audio: false, outputArgs: ['-g', '250'] }),
  client: 'all',
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
