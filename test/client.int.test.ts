/**
 * The SDK (@media-foundry/client, Node) against the real stack: every kind
 * of input (path, stream, URL, several files), chunked upload and chunked
 * download streamed to disk, links, cancel, typed errors, and a connection
 * cut mid-job that the client survives with exactly one result.
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { type JobEvent, MediaFoundry, MediaFoundryClient, MediaFoundryError } from '@media-foundry/client';
import { MiB } from '@media-foundry/shared';
import { ffprobe, makeTestVideos, video } from './helpers/media.js';
import { startTcpProxy, type TcpProxy } from './helpers/tcp-proxy.js';
import { useSuite } from './helpers/suite.js';

let mf: MediaFoundry;

afterAll(async () => {
  await mf?.close();
});
const { dir, files, stack } = useSuite({
  name: 'client',
  fixtures: (dir) =>
    Promise.all([
      makeTestVideos(dir, { 'clip.mp4': video(3, '320x240'), 'other.mp4': video(2, '320x240'), 'long.mp4': video(10, '320x240') }),
      // uncompressed: 4 s of 320x240 is 11.5 MB, more than the 8 MiB upload window
      execa('ffmpeg', [
        ...['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25:duration=4'],
        ...['-c:v', 'rawvideo', '-pix_fmt', 'yuv420p', join(dir, 'raw.nut')],
      ]),
      // ten minutes of tone: as a 96 kHz WAV, 115 MB
      execa('ffmpeg', [
        ...['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=8000:duration=600'],
        ...['-c:a', 'aac', '-b:a', '16k', join(dir, 'tone.m4a')],
      ]),
      // two minutes: as a 96 kHz WAV, 23 MB (a chunked download)
      execa('ffmpeg', [
        ...['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=8000:duration=120'],
        ...['-c:a', 'aac', '-b:a', '16k', join(dir, 'tone2.m4a')],
      ]),
      writeFile(join(dir, 'not-media.mp4'), Buffer.alloc(64 * 1024, 7)),
    ]),
  client: false,
});
beforeAll(async () => {
  mf = await MediaFoundry.connect(stack.wsUrl);
});

async function outDir(name: string): Promise<string> {
  return mkdtemp(join(dir, `${name}-`));
}

describe('inputs', () => {
  it('connects clients of the MediaFoundry class: instanceof holds', () => {
    expect(mf).toBeInstanceOf(MediaFoundry);
    expect(mf).toBeInstanceOf(MediaFoundryClient);
  });

  it('uploads a path: three thumbnails, saved to a directory', async () => {
    const job = mf.thumbnail({ file: join(dir, 'clip.mp4') }, { count: 3, format: 'jpeg' });
    const progress: number[] = [];
    job.on('progress', (p) => progress.push(p.percentage));
    const out = await outDir('thumbs');
    const paths = await job.saveTo(out);
    expect(paths).toHaveLength(3);
    for (const path of paths) {
      const probed = await ffprobe(path);
      expect(probed.video).toMatchObject({ codec_name: 'mjpeg', width: 320, height: 240 });
    }
    const outputs = await job.result();
    expect(outputs.map((o) => o.contentType)).toEqual(['image/jpeg', 'image/jpeg', 'image/jpeg']);
    expect(outputs.every((o) => o.path !== undefined && o.data === undefined)).toBe(true);
    expect(progress.length).toBeGreaterThan(0);
    expect([...progress].sort((a, b) => a - b)).toEqual(progress);
  });

  it('uploads a Node stream, and yields every event by async iteration', async () => {
    const job = mf.run('thumbnail', { file: createReadStream(join(dir, 'clip.mp4')) }, { timestamp: 1, width: 160 });
    const events: JobEvent[] = [];
    for await (const event of job) events.push(event);
    const types = events.map((e) => e.type);
    expect(types[0]).toBe('accepted');
    expect(types).toContain('upload');
    expect(types).toContain('progress');
    expect(types.slice(-2)).toEqual(['output', 'done']);
    expect(types.indexOf('completed')).toBeLessThan(types.indexOf('download'));
    const [output] = await job.result();
    expect(output!.filename).toMatch(/\.png$/);
    const path = join(dir, 'stream-thumb.png');
    await writeFile(path, output!.data!);
    expect((await ffprobe(path)).video).toMatchObject({ width: 160, height: 120 });
  });

  it('takes a URL, and delivers links with delivery: url', async () => {
    const job = mf.thumbnail({ url: files.url('clip.mp4') }, { timestamp: 0.5 }, { delivery: 'url' });
    const [output] = await job.result();
    expect(output!.url).toMatch(/^http/);
    expect(output!.data).toBeUndefined();
    const [path] = await job.saveTo(await outDir('linked'));
    expect((await ffprobe(path!)).video).toMatchObject({ codec_name: 'png', width: 320 });
  });

  it('uploads two files for concat', async () => {
    const job = mf.concat({ files: [join(dir, 'clip.mp4'), join(dir, 'other.mp4')] });
    const [path] = await job.saveTo(await outDir('concat'));
    expect((await ffprobe(path!)).duration).toBeCloseTo(5, 0);
    expect((await job.metadata()).duration).toBeCloseTo(5, 0);
  });

  it('saves an hls ladder as its tree of playlists and segments, which ffprobe opens', async () => {
    const job = mf.hls({ file: join(dir, 'clip.mp4') }, { renditions: [{ height: 240 }, { height: 120 }], segment_seconds: 2 });
    const out = await outDir('hls');
    const paths = await job.saveTo(out);
    const names = (await job.result()).map((o) => o.filename);
    expect(names[0]).toMatch(/\.m3u8$/);
    expect(names.some((n) => n.includes('/'))).toBe(true);
    expect(paths.every((p) => p.startsWith(out + '/'))).toBe(true);
    const master = await ffprobe(paths[0]!);
    expect(master.video).toMatchObject({ codec_name: 'h264' });
  });

  it('uploads a file over the window in chunks (probe: metadata, no file)', async () => {
    const size = (await stat(join(dir, 'raw.nut'))).size;
    expect(size).toBeGreaterThan(8 * MiB);
    const job = mf.probe({ file: join(dir, 'raw.nut') });
    const acks: number[] = [];
    job.on('upload', (u) => acks.push(u.ackedBytes));
    expect(await job.result()).toEqual([]);
    expect(await job.metadata()).toMatchObject({ width: 320, height: 240, video_codec: 'rawvideo' });
    expect(acks.at(-1)).toBe(size);
    // acknowledged as it went (how often is the gateway's choice), up to the last byte
    expect(acks.length).toBeGreaterThan(1);
  });
});

describe('large outputs', () => {
  it('streams a chunked download over 16 MiB to disk with bounded memory', async () => {
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    const chunked: boolean[] = [];
    try {
      const job = mf.extract_audio({ file: join(dir, 'tone.m4a') }, { format: 'wav', sample_rate: 96000 });
      job.on('download', (d) => chunked.push(d.totalBytes > 16 * MiB));
      const [path] = await job.saveTo(await outDir('wav'));
      const size = (await stat(path!)).size;
      expect(size).toBeGreaterThan(100 * MiB);
      const [output] = await job.result();
      expect(output!.size).toBe(size);
      const probed = await ffprobe(path!);
      expect(probed.audio).toMatchObject({ codec_name: 'pcm_s16le', sample_rate: '96000' });
      expect(probed.duration).toBeCloseTo(600, 0);
    } finally {
      clearInterval(sampler);
    }
    expect(chunked.length).toBeGreaterThan(100);
    expect(chunked.every(Boolean)).toBe(true);
    // the file is 115 MB; what the process grew by is a few chunks in flight and garbage not yet collected
    expect(peak - baseline).toBeLessThan(64 * MiB);
  });
});

describe('cancel and errors', () => {
  it('cancel() stops a running job: result() rejects with JOB_CANCELLED', async () => {
    const job = mf.compress({ file: join(dir, 'long.mp4') }, { preset: 'high' });
    await new Promise<void>((resolve) => job.on('progress', () => resolve()));
    job.cancel();
    await expect(job.result()).rejects.toMatchObject({ name: 'MediaFoundryError', code: 'JOB_CANCELLED' });
  });

  it('an AbortSignal cancels', async () => {
    const controller = new AbortController();
    const job = mf.speed({ url: files.url('long.mp4') }, { speed_factor: 0.5 }, { signal: controller.signal });
    job.on('accepted', () => controller.abort());
    await expect(job.result()).rejects.toMatchObject({ code: 'JOB_CANCELLED' });
  });

  it('a bad option throws VALIDATION_ERROR with the server wording, before sending', () => {
    let error: unknown;
    try {
      mf.speed({ file: join(dir, 'clip.mp4') }, { speed_factor: 50 });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(MediaFoundryError);
    expect(error).toMatchObject({ code: 'VALIDATION_ERROR', details: expect.stringMatching(/^options\.speed_factor: Too big/) });
    expect(() => mf.concat({ file: join(dir, 'clip.mp4') })).toThrow(MediaFoundryError);
  });

  it('an output that cannot be written fails the job with OUTPUT_ERROR, and the process lives on', async () => {
    const notADir = join(dir, 'plain-file');
    await writeFile(notADir, 'x');
    const job = mf.thumbnail({ file: join(dir, 'clip.mp4') }, { count: 2, format: 'jpeg' });
    await expect(job.saveTo(join(notADir, 'out'))).rejects.toMatchObject({ code: 'OUTPUT_ERROR' });
    // the connection still serves the next job
    const next = mf.thumbnail({ file: join(dir, 'clip.mp4') }, { format: 'jpeg' });
    expect(await next.result()).toHaveLength(1);
  });

  it('a job the server fails rejects with its code, message and details', async () => {
    const error = (await mf
      .thumbnail({ file: join(dir, 'not-media.mp4') })
      .result()
      .catch((e: unknown) => e)) as MediaFoundryError;
    expect(error).toBeInstanceOf(MediaFoundryError);
    expect(error.code).toBe('JOB_FAILED');
    expect(typeof error.message).toBe('string');
    expect(error.jobId).toMatch(/^[0-9a-f]{24}$/);
  });

  it('a missing file is INPUT_ERROR; a server that is not there is CONNECTION_FAILED', async () => {
    await expect(mf.thumbnail({ file: join(dir, 'nope.mp4') }).result()).rejects.toMatchObject({ code: 'INPUT_ERROR' });
    await expect(MediaFoundry.connect('ws://127.0.0.1:9', { reconnect: false })).rejects.toMatchObject({ code: 'CONNECTION_FAILED' });
  });
});

describe('reconnect', () => {
  /** Runs `test` with a client that reaches the stack through a proxy the test can cut, and reconnects quickly. */
  async function throughProxy(test: (client: MediaFoundry, proxy: TcpProxy) => Promise<void>): Promise<void> {
    const proxy = await startTcpProxy(stack.wsUrl);
    const client = await MediaFoundry.connect(proxy.url, { reconnect: { minDelayMs: 100, maxDelayMs: 500 } });
    try {
      await test(client, proxy);
    } finally {
      await client.close();
      await proxy.close();
    }
  }

  it('survives a dropped connection mid-job: resumes with the token, exactly one result', () =>
    throughProxy(async (client, proxy) => {
      const job = client.speed({ file: join(dir, 'long.mp4') }, { speed_factor: 0.5 });
      const events: JobEvent[] = [];
      let done = 0;
      job.on('done', () => done++);
      for (const type of ['accepted', 'progress', 'reconnecting', 'resumed', 'completed', 'failed'] as const)
        job.on(type, (e: JobEvent) => events.push(e));
      await new Promise<void>((resolve) => job.once('progress', () => resolve()));
      proxy.dropAll();
      const outputs = await job.result();
      expect(outputs).toHaveLength(1);
      const path = join(dir, 'resumed.mp4');
      await writeFile(path, outputs[0]!.data!);
      expect((await ffprobe(path)).duration).toBeCloseTo(20, 0);
      // one more moment for a duplicate to show up, if there were one
      await new Promise((r) => setTimeout(r, 500));
      expect(done).toBe(1);
      const types = events.map((e) => e.type);
      expect(types.filter((t) => t === 'accepted')).toHaveLength(1); // resumed, not started again
      expect(types).toContain('reconnecting');
      expect(types).toContain('resumed');
      expect(types.filter((t) => t === 'completed')).toHaveLength(1);
      expect(types).not.toContain('failed');
      expect(proxy.connections).toBe(2);
      const percentages = events.flatMap((e) => (e.type === 'progress' ? [e.percentage] : []));
      expect([...percentages].sort((a, b) => a - b)).toEqual(percentages);
    }));

  it('a delivery cut midway is resumed: the chunked file starts over and arrives whole, once', () =>
    throughProxy(async (client, proxy) => {
      const out = await outDir('cut-delivery');
      const job = client.extract_audio({ file: join(dir, 'tone2.m4a') }, { format: 'wav', sample_rate: 96000 }, { saveTo: out });
      let done = 0;
      let completed = 0;
      job.on('done', () => done++);
      job.on('completed', () => completed++);
      let dropped = false;
      job.on('download', (d) => {
        if (!dropped && d.receivedBytes >= 4 * MiB) {
          dropped = true;
          proxy.dropAll();
        }
      });
      const [output] = await job.result();
      expect(dropped).toBe(true);
      const size = (await stat(output!.path!)).size;
      expect(size).toBeGreaterThan(16 * MiB);
      expect(size).toBe(output!.size);
      expect((await ffprobe(output!.path!)).duration).toBeCloseTo(120, 0);
      await new Promise((r) => setTimeout(r, 500));
      expect([done, completed, proxy.connections]).toEqual([1, 1, 2]);
    }));

  it('an upload cut midway starts again from the beginning', () =>
    throughProxy(async (client, proxy) => {
      const job = client.probe({ file: join(dir, 'raw.nut') });
      let accepted = 0;
      job.on('accepted', () => accepted++);
      await new Promise<void>((resolve) => job.once('upload', () => resolve()));
      proxy.dropAll();
      await job.result();
      expect(await job.metadata()).toMatchObject({ width: 320, height: 240 });
      expect(accepted).toBe(2);
    }));
});

it('reads back what it wrote: saveTo after result() writes the bytes held in memory', async () => {
  const job = mf.thumbnail({ file: { data: await readFile(join(dir, 'clip.mp4')), filename: 'clip.mp4' } });
  const [output] = await job.result();
  const [path] = await job.saveTo(await outDir('late'));
  expect(await readFile(path!)).toEqual(Buffer.from(output!.data!));
});
