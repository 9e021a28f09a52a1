/**
 * Jobs end to end — WebSocket client → gateway → RabbitMQ → worker → ffmpeg →
 * storage → client — on both storage drivers, with outputs checked by ffprobe.
 */
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { ffprobe, makeTestVideo } from './helpers/media.js';
import { testS3Storage } from './helpers/s3.js';
import { listQueues } from './helpers/stack.js';
import { waitFor } from './helpers/wait.js';
import { TestClient } from './helpers/ws-client.js';
import { useSuite } from './helpers/suite.js';

const { dir: mediaDir, files } = useSuite({
  name: 'media',
  fixtures: async (dir) => {
    await makeTestVideo(join(dir, 'clip.mp4'), { seconds: 4, width: 320, height: 240 });
    await makeTestVideo(join(dir, 'silent.mp4'), { seconds: 2, audio: false });
    await makeTestVideo(join(dir, 'long.mp4'), { seconds: 12, width: 640, height: 480 });
  },
  stack: false,
});

/** Writes bytes to a temp file and probes them. */
async function probeBytes(bytes: Buffer, name: string) {
  const path = join(mediaDir, `probe-${Date.now()}-${name}`);
  await writeFile(path, bytes);
  return ffprobe(path);
}

const SPEC_METADATA_KEYS = ['audio_codec', 'bitrate', 'duration', 'format', 'fps', 'height', 'size_bytes', 'video_codec', 'width'];

describe.each(['fs', 's3'] as const)('jobs with STORAGE_DRIVER=%s', (driver) => {
  const suite = useSuite({ s3: driver === 's3' });
  const { stack, client } = suite;
  const s3 = driver === 's3' ? suite.s3 : undefined;

  /** What is left in storage under jobs/ (must be nothing once results are delivered). */
  async function storedKeys(): Promise<string[]> {
    if (s3) {
      const storage = testS3Storage(s3);
      return (await storage.list('jobs/')).map((o) => o.key);
    }
    const dir = join(stack.storageDir, 'jobs');
    return (await readdir(dir, { recursive: true }).catch(() => [])).filter((p) => /\.[a-z0-9]+$/.test(String(p))).map(String);
  }

  /** S3 listings of one job's folder so far (the sweeper and storedKeys() list all of jobs/). */
  const jobFolderListings = () => (s3?.requests ?? []).filter((r) => /[?&]list-type=2/.test(r) && /[?&]prefix=jobs%2F[^&%]+%2F/.test(r));

  it("runs the spec's speed example from a URL: ack, progress, completed, then the file", async () => {
    client.startJob('job-001', 'speed', files.url('clip.mp4'), { speed_factor: 2.0, maintain_pitch: false });
    const { items, files: out, final } = await client.result('job-001');
    const kinds = items.map((r) => (r.kind === 'json' ? r.data.type : 'binary'));
    expect(kinds[0]).toBe('ack');
    expect(kinds.indexOf('completed')).toBeLessThan(kinds.indexOf('binary'));
    expect(kinds.at(-1)).toBe('binary');
    expect(final.type).toBe('completed');
    expect(Object.keys(final.output_metadata as object).sort()).toEqual(SPEC_METADATA_KEYS);
    expect(final).toMatchObject({
      delivery_method: 'binary',
      message: 'Job completed successfully',
      output_metadata: { format: 'mp4', video_codec: 'h264', audio_codec: 'aac', width: 320, height: 240 },
      outputs: [{ filename: 'output.mp4', content_type: 'video/mp4' }],
    });
    const video = out.get('output.mp4')!;
    expect(video.length).toBe((final.outputs as { size_bytes: number }[])[0]!.size_bytes);
    const probed = await probeBytes(video, 'speed.mp4');
    expect(Math.abs(probed.duration - 2)).toBeLessThan(0.2);
    expect(probed.video?.codec_name).toBe('h264');
    expect(probed.audio?.codec_name).toBe('aac');

    const progress = items.flatMap((r) => (r.kind === 'json' && r.data.type === 'progress' ? [r.data] : []));
    expect(progress.length).toBeGreaterThan(0);
    const percentages = progress.map((p) => p.percentage as number);
    expect(percentages).toEqual([...percentages].sort((a, b) => a - b));
    expect(percentages.at(-1)).toBe(100);
    await waitFor(async () => (await storedKeys()).length === 0);
    // a delivered job's files are the ones it names: removed without listing its folder
    expect(jobFolderListings()).toEqual([]);
  });

  it('generates a job_id when the client sends none', async () => {
    client.send({
      type: 'start_job',
      operation: 'thumbnail',
      input: { source: 'url', url: files.url('clip.mp4') },
      options: { timestamp: 1 },
    });
    const ack = await client.next((m) => m.type === 'ack');
    expect(ack.job_id).toMatch(/^[0-9a-f-]{36}$/);
    const { final, files: out } = await client.result(String(ack.job_id));
    expect(final.type).toBe('completed');
    expect(out.get('thumbnail.png')?.subarray(1, 4).toString()).toBe('PNG');
  });

  it('takes an upload, then returns one file per thumbnail', async () => {
    client.startJob('thumbs', 'thumbnail', { source: 'upload' }, { count: 3, format: 'jpeg', width: 160 });
    await client.next((m) => m.type === 'ack' && m.job_id === 'thumbs');
    client.upload('thumbs', 'my clip.mp4', await readFile(join(mediaDir, 'clip.mp4')));
    const { final, files: out } = await client.result('thumbs');
    expect(final.type).toBe('completed');
    expect([...out.keys()]).toEqual(['thumbnail_001.jpeg', 'thumbnail_002.jpeg', 'thumbnail_003.jpeg']);
    for (const [name, bytes] of out) {
      const probed = await probeBytes(bytes, name);
      expect(probed.video).toMatchObject({ codec_name: 'mjpeg', width: 160, height: 120 });
    }
    // the uploaded input and the three outputs too, without a listing
    await waitFor(async () => (await storedKeys()).length === 0);
    expect(jobFolderListings()).toEqual([]);
  });

  it('extracts audio with the requested codec and sample rate', async () => {
    client.startJob('job-003', 'extract_audio', files.url('clip.mp4'), { format: 'mp3', bitrate_kbps: 128, sample_rate: 22050 });
    const { final, files: out } = await client.result('job-003');
    expect(final).toMatchObject({ type: 'completed', output_metadata: { format: 'mp3', audio_codec: 'mp3', video_codec: null } });
    const probed = await probeBytes(out.get('output.mp3')!, 'a.mp3');
    expect(probed.audio).toMatchObject({ codec_name: 'mp3', sample_rate: '22050' });
    expect(probed.video).toBeUndefined();
    expect(Math.abs(probed.duration - 4)).toBeLessThan(0.2);
  });

  it('fails clearly when the input has no audio to extract', async () => {
    client.startJob('mute', 'extract_audio', files.url('silent.mp4'), {});
    const { final } = await client.result('mute');
    expect(final).toMatchObject({ type: 'error', code: 'JOB_FAILED', message: 'Input has no audio stream' });
  });

  it('fails clearly when the URL does not exist or the upload is not media', async () => {
    client.startJob('nf', 'speed', files.url('missing.mp4'), { speed_factor: 2 });
    const missing = await client.result('nf');
    expect(missing.final).toMatchObject({ code: 'JOB_FAILED' });
    expect(missing.final.details).toContain('404');

    client.send({ type: 'start_job', job_id: 'junk', operation: 'thumbnail', input: { source: 'upload' }, options: {} });
    await client.next((m) => m.type === 'ack' && m.job_id === 'junk');
    client.upload('junk', 'notes.mp4', Buffer.from('this is not a video, just text\n'.repeat(100)));
    const junk = await client.result('junk');
    expect(junk.final).toMatchObject({ code: 'JOB_FAILED', message: 'Input is not a readable media file' });
    await waitFor(async () => (await storedKeys()).length === 0);
  });

  if (driver === 'fs') {
    it('changes the speed of an input without audio', async () => {
      client.startJob('mute-speed', 'speed', files.url('silent.mp4'), { speed_factor: 2 });
      const { final, files: out } = await client.result('mute-speed');
      expect(final).toMatchObject({ type: 'completed', output_metadata: { video_codec: 'h264', audio_codec: null } });
      const probed = await probeBytes(out.get('output.mp4')!, 'mute-speed.mp4');
      expect(probed.audio).toBeUndefined();
      expect(Math.abs(probed.duration - 1)).toBeLessThan(0.15);
    });

    it('keeps two clients that use the same job_id apart', async () => {
      const other = await TestClient.connect(stack.wsUrl);
      client.send({ type: 'start_job', job_id: 'same', operation: 'thumbnail', input: { source: 'url', url: files.url('clip.mp4') } });
      other.send({ type: 'start_job', job_id: 'same', operation: 'probe', input: { source: 'url', url: files.url('silent.mp4') } });
      const mine = await client.result('same');
      const theirs = await other.result('same');
      expect(mine.final).toMatchObject({ type: 'completed', outputs: [{ filename: 'thumbnail.png' }], output_metadata: { width: 320 } });
      expect(theirs.final).toMatchObject({ type: 'completed', outputs: [], output_metadata: { audio_codec: null } });
      expect(theirs.items.some((r) => r.kind === 'binary')).toBe(false);
      expect(client.messages('same').filter((m) => m.type === 'completed')).toHaveLength(1);
      await other.close();
    });

    it('throttles progress to about 4 messages a second', async () => {
      client.startJob('slow', 'speed', files.url('long.mp4'), { speed_factor: 0.5 });
      const started = Date.now();
      const { final } = await client.result('slow', 120_000);
      const elapsed = Date.now() - started;
      expect(final.type).toBe('completed');
      const processing = client.messages('slow').filter((m) => m.type === 'progress' && m.stage === 'processing');
      // stage changes pass at once; within a stage at most one update per 250 ms
      expect(processing.length).toBeLessThanOrEqual(Math.ceil(elapsed / 250) + 2);
      expect(processing.length).toBeGreaterThan(1);
      expect(processing.some((m) => typeof m.ffmpeg_log === 'string' && /time=\d\d:\d\d/.test(m.ffmpeg_log))).toBe(true);
    });

    it('receives replies on one queue per gateway, whatever the number of connections and jobs', async () => {
      const clients = await Promise.all([TestClient.connect(stack.wsUrl), TestClient.connect(stack.wsUrl)]);
      const gatewayQueues = await listQueues(`${stack.prefix}.gateway.`);
      expect(gatewayQueues).toHaveLength(1);
      clients.forEach((c, i) => c.startJob(`q${i}`, 'thumbnail', files.url('clip.mp4'), {}));
      await Promise.all(clients.map((c, i) => c.result(`q${i}`)));
      expect(await listQueues(`${stack.prefix}.gateway.`)).toEqual(gatewayQueues);
      // no per-connection or per-job queues: only the gateway's, the intake, the dead letters, the tenants' and the
      // storage sweeper's token (once the first sweeper tick has come)
      const all = await listQueues(`${stack.prefix}.`);
      expect(all.filter((q) => !/\.(gateway\.[0-9a-f]+|jobs|jobs\.dead|tenant\.[0-9a-f]{16}|storage-sweeper)$/.test(q))).toEqual([]);
      await Promise.all(clients.map((c) => c.close()));
    });
  }
});
