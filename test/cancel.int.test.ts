/**
 * cancel_job against real workers: a running job's ffmpeg is killed, a queued
 * job never starts, and only the submitting connection may cancel.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { makeTestVideo } from './helpers/media.js';
import { waitFor } from './helpers/wait.js';
import { startJobMessage, TestClient } from './helpers/ws-client.js';
import { useSuite } from './helpers/suite.js';

const { files, stack } = useSuite({
  name: 'cancel',
  // long enough that a slowed-down 720p re-encode is still running when we cancel it
  fixtures: (dir) => makeTestVideo(join(dir, 'long.mp4'), { seconds: 30, width: 1280, height: 720 }),
  stack: { workerEnv: { MAX_CONCURRENT_JOBS: '1', FFMPEG_THREADS: '1' } },
  client: false,
});

/** ffmpeg processes working in this stack's temp dir. */
async function ffmpegProcesses(): Promise<string[]> {
  const { stdout } = await execa('ps', ['-eo', 'args'], { reject: false });
  return String(stdout)
    .split('\n')
    .filter((line) => line.startsWith('ffmpeg') && line.includes(stack.tempDir));
}

const slowJob = (jobId: string) => startJobMessage(jobId, 'speed', files.url('long.mp4'), { speed_factor: 0.5 });

it('cancels a running job: JOB_CANCELLED within 5 s, ffmpeg gone, temp files removed', async () => {
  const client = await TestClient.connect(stack.wsUrl);
  client.send(slowJob('running'));
  await client.next((m) => m.type === 'progress' && m.job_id === 'running' && m.stage === 'processing', 60_000);
  await waitFor(async () => (await ffmpegProcesses()).length === 1);

  const asked = Date.now();
  client.send({ type: 'cancel_job', job_id: 'running' });
  const err = await client.next((m) => m.type === 'error' && m.job_id === 'running', 5_000);
  expect(err.code).toBe('JOB_CANCELLED');
  expect(Date.now() - asked).toBeLessThan(5_000);

  // SIGTERM, then SIGKILL after a short grace
  await waitFor(async () => (await ffmpegProcesses()).length === 0, 8_000);
  await stack.workers[0]!.waitForLog((l) => l.msg === 'job cancelled');
  await waitFor(async () => (await readdir(stack.tempDir)).length === 0);
  // nothing else arrives for the cancelled job
  await new Promise((r) => setTimeout(r, 500));
  expect(client.messages('running').filter((m) => m.type === 'completed')).toEqual([]);
  await client.close();
});

it('cancels a queued job so that it never starts', async () => {
  const client = await TestClient.connect(stack.wsUrl);
  client.send(slowJob('first'));
  await client.next((m) => m.type === 'progress' && m.job_id === 'first' && m.stage === 'processing', 60_000);
  client.send(slowJob('second')); // the only worker is busy: this one waits in the queue
  await client.next((m) => m.type === 'ack' && m.job_id === 'second');
  client.send({ type: 'cancel_job', job_id: 'second' });
  expect(await client.next((m) => m.type === 'error' && m.job_id === 'second', 5_000)).toMatchObject({ code: 'JOB_CANCELLED' });

  client.send({ type: 'cancel_job', job_id: 'first' });
  await client.next((m) => m.type === 'error' && m.job_id === 'first', 5_000);
  // the worker takes "second" off the queue only to drop it
  const dropped = await stack.workers[0]!.waitForLog(
    (l) => l.msg === 'job cancelled' && l.details === 'cancelled before it started',
    30_000,
  );
  const ranSecond = stack.workers[0]!.logs.filter(
    (l) => l.job_id === dropped.job_id && (l.msg === 'job completed' || l.msg === 'job failed'),
  );
  expect(ranSecond).toEqual([]);
  // it was queued (with its place in line), then cancelled: nothing else
  expect(client.messages('second').map((m) => m.type)).toEqual(['ack', 'progress', 'error']);
  expect(client.messages('second')[1]).toMatchObject({ stage: 'queued', queue_position: 1 });
  await client.close();
});

it('lets only the submitting connection cancel a job', async () => {
  const owner = await TestClient.connect(stack.wsUrl);
  const stranger = await TestClient.connect(stack.wsUrl);
  owner.send(slowJob('mine'));
  await owner.next((m) => m.type === 'ack' && m.job_id === 'mine');
  stranger.send({ type: 'cancel_job', job_id: 'mine' });
  expect(await stranger.next((m) => m.type === 'error')).toMatchObject({ code: 'CANCEL_FAILED', job_id: 'mine' });
  expect(owner.messages('mine').some((m) => m.type === 'error')).toBe(false);
  owner.send({ type: 'cancel_job', job_id: 'mine' });
  await owner.next((m) => m.type === 'error' && m.job_id === 'mine');
  await Promise.all([owner.close(), stranger.close()]);
});
