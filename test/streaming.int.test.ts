/**
 * `hls` and `dash` end to end: the ladder's files are saved as the client
 * receives them (relative paths rebuilt into a folder), then opened by
 * ffprobe from that folder. Renditions are small and the encoder fast (the
 * builders' veryfast), to keep the CPU cost modest.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { makeTestVideos, video } from './helpers/media.js';
import { TestClient } from './helpers/ws-client.js';
import { useSuite } from './helpers/suite.js';

const { dir, files, client } = useSuite({
  name: 'streaming',
  fixtures: (dir) =>
    makeTestVideos(dir, { 'hd.mp4': video(20, '1280x720'), 'short.mp4': video(4, '320x180'), 'vga.mp4': video(4, '640x480') }),
  timeoutMs: 120_000,
});
interface Output {
  filename: string;
  size_bytes: number;
  content_type: string;
  url?: string;
}

/** Writes each output under `folder` at its relative path, as a client rebuilding the tree would. */
async function saveTree(folder: string, outputs: Output[], bytesOf: (o: Output) => Promise<Buffer>): Promise<void> {
  for (const o of outputs) {
    const path = join(folder, o.filename);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, await bytesOf(o));
  }
}

/** An output's bytes fetched from its URL (answered 200). */
async function downloaded(o: Output): Promise<Buffer> {
  const res = await fetch(o.url!);
  expect(res.status).toBe(200);
  return Buffer.from(await res.arrayBuffer());
}

/** ffprobe's `-of csv=p=0` answer for `path`: its lines, trimmed, without empty ones (and a trailing comma). */
async function ffprobeCsv(path: string, select: string[]): Promise<string[]> {
  const { stdout } = await execa('ffprobe', ['-v', 'error', ...select, '-of', 'csv=p=0', path]);
  return stdout
    .split('\n')
    .map((l) => l.trim().replace(/,$/, ''))
    .filter(Boolean);
}

/** `width,height` of the video streams ffprobe finds behind a playlist or manifest (each once: programs list them again). */
async function videoSizes(path: string): Promise<string[]> {
  const sizes = await ffprobeCsv(path, ['-select_streams', 'v', '-show_entries', 'stream=width,height']);
  return [...new Set(sizes)].sort();
}

/** The presentation times of a playlist's video keyframes, in seconds. */
async function keyframeTimes(path: string): Promise<number[]> {
  const times = await ffprobeCsv(path, ['-select_streams', 'v:0', '-skip_frame', 'nokey', '-show_entries', 'frame=pts_time']);
  return times.map(Number);
}

/** The `#EXTINF` durations and segment URIs of a media playlist; throws on what is not one. */
function parseMediaPlaylist(text: string): { durations: number[]; uris: string[] } {
  const lines = text.split('\n').map((l) => l.trim());
  expect(lines[0]).toBe('#EXTM3U');
  expect(lines).toContain('#EXT-X-ENDLIST');
  const durations: number[] = [];
  const uris: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^#EXTINF:([0-9.]+),/.exec(lines[i]!);
    if (m) {
      durations.push(Number(m[1]));
      uris.push(lines[i + 1]!);
    }
  }
  return { durations, uris };
}

describe('hls', () => {
  const SEGMENT = 4;

  it('makes a three-rendition ladder from a 20 s 720p input: playlists parse, ffprobe opens the master from the saved folder, segments last segment_seconds, keyframes align', async () => {
    client.startJob('hls-ladder', 'hls', files.url('hd.mp4'), {
      renditions: [{ height: 360 }, { height: 240, video_bitrate_kbps: 300, audio_bitrate_kbps: 64 }, { height: 144 }],
      segment_seconds: SEGMENT,
    });
    const { final, files: received, items } = await client.result('hls-ladder', 240_000);
    expect(final).toMatchObject({
      type: 'completed',
      output_metadata: { format: 'hls', video_codec: 'h264', width: 640, height: 360 },
    });
    expect(Math.abs((final.output_metadata as { duration: number }).duration - 20)).toBeLessThan(0.5);
    const outputs = final.outputs as Output[];
    const names = outputs.map((o) => o.filename);
    // the master first, then each variant's playlist followed by its segments
    expect(names[0]).toBe('master.m3u8');
    expect(names.filter((n) => n.endsWith('index.m3u8'))).toEqual(['360p/index.m3u8', '240p/index.m3u8', '144p/index.m3u8']);
    expect(names.every((n) => /^(master\.m3u8|(360|240|144)p\/(index\.m3u8|seg_\d{3}\.ts))$/.test(n))).toBe(true);
    // progress ran over the whole pass and reached the end
    const percentages = items.flatMap((r) =>
      r.kind === 'json' && r.data.type === 'progress' && r.data.stage === 'processing' ? [Number(r.data.percentage)] : [],
    );
    expect(Math.max(...percentages)).toBeGreaterThan(50);

    const folder = join(dir, 'hls-tree');
    await saveTree(folder, outputs, async (o) => received.get(o.filename)!);

    const master = await readFile(join(folder, 'master.m3u8'), 'utf8');
    expect(master.split('\n')[0]).toBe('#EXTM3U');
    const variants = [...master.matchAll(/#EXT-X-STREAM-INF:.*RESOLUTION=(\d+x\d+).*\n(\S+)/g)].map((m) => [m[1], m[2]]);
    expect(variants).toEqual([
      ['640x360', '360p/index.m3u8'],
      ['426x240', '240p/index.m3u8'],
      ['256x144', '144p/index.m3u8'],
    ]);

    for (const [, playlist] of variants) {
      const { durations, uris } = parseMediaPlaylist(await readFile(join(folder, playlist!), 'utf8'));
      expect(durations).toHaveLength(20 / SEGMENT);
      for (const d of durations.slice(0, -1)) expect(Math.abs(d - SEGMENT)).toBeLessThanOrEqual(SEGMENT * 0.1);
      expect(durations.at(-1)!).toBeLessThanOrEqual(SEGMENT * 1.1);
      // every segment the playlist names was delivered under that relative path
      const variantDir = dirname(playlist!);
      for (const uri of uris) expect(names).toContain(`${variantDir}/${uri}`);
    }

    expect(await videoSizes(join(folder, 'master.m3u8'))).toEqual(['256,144', '426,240', '640,360']);

    const keyframes = await Promise.all(variants.map(([, playlist]) => keyframeTimes(join(folder, playlist!))));
    // a keyframe at every segment boundary, at the same instants in every rendition
    for (let k = 0; k < 20 / SEGMENT; k++)
      expect(keyframes[0]!.some((t) => Math.abs(t - keyframes[0]![0]! - k * SEGMENT) < 0.05)).toBe(true);
    expect(keyframes[1]).toEqual(keyframes[0]);
    expect(keyframes[2]).toEqual(keyframes[0]);
  }, 300_000);

  it('gives one URL per file with delivery_method "url", the master playlist first, and the tree rebuilt from them plays', async () => {
    client.startJob('hls-urls', 'hls', files.url('short.mp4'), { segment_seconds: 2 }, { delivery_method: 'url' });
    const { final } = await client.result('hls-urls', 120_000);
    expect(final).toMatchObject({ type: 'completed', delivery_method: 'url' });
    const outputs = final.outputs as Output[];
    // a 180p input: the default ladder is the input's own height
    expect(outputs.map((o) => o.filename)).toEqual(['master.m3u8', '180p/index.m3u8', '180p/seg_000.ts', '180p/seg_001.ts']);
    expect(outputs.every((o) => typeof o.url === 'string')).toBe(true);
    const folder = join(dir, 'hls-url-tree');
    await saveTree(folder, outputs, downloaded);
    expect(await videoSizes(join(folder, 'master.m3u8'))).toEqual(['320,180']);
  }, 180_000);

  it('encodes hevc (libx265, which this ffmpeg has) in fMP4 segments, keyframes aligned', async () => {
    client.startJob('hls-hevc', 'hls', files.url('short.mp4'), {
      renditions: [{ height: 180 }, { height: 90 }],
      segment_seconds: 2,
      codec: 'hevc',
    });
    const { final, files: received } = await client.result('hls-hevc', 120_000);
    expect(final).toMatchObject({ type: 'completed', output_metadata: { format: 'hls', video_codec: 'hevc', width: 320, height: 180 } });
    const outputs = final.outputs as Output[];
    expect(outputs.map((o) => o.filename)).toEqual([
      'master.m3u8',
      '180p/index.m3u8',
      '180p/init_0.mp4',
      '180p/seg_000.m4s',
      '180p/seg_001.m4s',
      '90p/index.m3u8',
      '90p/init_1.mp4',
      '90p/seg_000.m4s',
      '90p/seg_001.m4s',
    ]);
    const folder = join(dir, 'hls-hevc-tree');
    await saveTree(folder, outputs, async (o) => received.get(o.filename)!);
    expect(await videoSizes(join(folder, 'master.m3u8'))).toEqual(['160,90', '320,180']);
    const keyframes = await Promise.all(['180p', '90p'].map((v) => keyframeTimes(join(folder, v, 'index.m3u8'))));
    expect(keyframes[0]!.length).toBeGreaterThanOrEqual(2);
    expect(keyframes[1]).toEqual(keyframes[0]);
  }, 180_000);

  // ffmpeg numbers the init segment (init_0.mp4) only when it writes several variants
  it.each([
    ['one rendition asked of a 640x480 input', 'vga.mp4', { renditions: [{ height: 360 }] }, '360p', '480,360'],
    ['the one default rendition of an input under 480 px', 'short.mp4', {}, '180p', '320,180'],
  ])(
    'encodes hevc with %s: init_0.mp4, described as the job completes',
    async (_what, input, options, variant, size) => {
      const jobId = `hls-hevc-one-${variant}`;
      client.startJob(jobId, 'hls', files.url(input), { ...options, segment_seconds: 2, codec: 'hevc' });
      const { final, files: received } = await client.result(jobId, 120_000);
      expect(final).toMatchObject({ type: 'completed', output_metadata: { format: 'hls', video_codec: 'hevc' } });
      const outputs = final.outputs as Output[];
      expect(outputs.map((o) => o.filename)).toEqual([
        'master.m3u8',
        `${variant}/index.m3u8`,
        `${variant}/init_0.mp4`,
        `${variant}/seg_000.m4s`,
        `${variant}/seg_001.m4s`,
      ]);
      const folder = join(dir, `${jobId}-tree`);
      await saveTree(folder, outputs, async (o) => received.get(o.filename)!);
      expect(await videoSizes(join(folder, 'master.m3u8'))).toEqual([size]);
    },
    180_000,
  );

  it('refuses a rendition taller than the input', async () => {
    client.startJob('hls-up', 'hls', files.url('short.mp4'), { renditions: [{ height: 720 }] });
    const { final } = await client.result('hls-up');
    expect(final).toMatchObject({ type: 'error', code: 'JOB_FAILED', message: 'A rendition is taller than the input' });
  });
});

describe('hls with S3 storage', () => {
  const { s3, stack: s3Stack } = useSuite({ s3: true, client: false, timeoutMs: 120_000 });

  it('stores each file under its relative path and presigns a URL for each', async () => {
    const s3Client = await TestClient.connect(s3Stack.wsUrl);
    try {
      s3Client.startJob('hls-s3', 'hls', files.url('short.mp4'), { segment_seconds: 2 }, { delivery_method: 'url' });
      const { final } = await s3Client.result('hls-s3', 120_000);
      const outputs = final.outputs as Output[];
      expect(outputs.map((o) => o.filename)).toEqual(['master.m3u8', '180p/index.m3u8', '180p/seg_000.ts', '180p/seg_001.ts']);
      // the segment's key keeps its directory
      expect(s3.requests.some((r) => r.startsWith('PUT ') && r.includes('/output/180p/seg_001.ts'))).toBe(true);
      const folder = join(dir, 'hls-s3-tree');
      await saveTree(folder, outputs, downloaded);
      expect(await videoSizes(join(folder, 'master.m3u8'))).toEqual(['320,180']);
    } finally {
      await s3Client.close();
    }
  }, 180_000);
});

describe('dash', () => {
  it('makes a two-rendition DASH ladder that ffprobe opens from the saved folder, keyframes aligned', async () => {
    client.startJob('dash-ladder', 'dash', files.url('hd.mp4'), { renditions: [{ height: 288 }, { height: 144 }], segment_seconds: 5 });
    const { final, files: received } = await client.result('dash-ladder', 240_000);
    expect(final).toMatchObject({ type: 'completed', output_metadata: { format: 'dash', video_codec: 'h264', width: 512, height: 288 } });
    const outputs = final.outputs as Output[];
    const names = outputs.map((o) => o.filename);
    expect(names[0]).toBe('manifest.mpd');
    // two video representations, each an init segment then four 5 s segments; then the audio of each
    // (AAC frames do not end on 5 s exactly: its last segment may be a sliver)
    for (let n = 0; n < 2; n++)
      expect(names.filter((f) => f.startsWith(`seg_${n}_`) || f === `init_${n}.m4s`)).toEqual([
        `init_${n}.m4s`,
        ...[1, 2, 3, 4].map((i) => `seg_${n}_00${i}.m4s`),
      ]);
    for (let n = 2; n < 4; n++) expect(names.filter((f) => f.startsWith(`seg_${n}_`)).length).toBeGreaterThanOrEqual(4);
    expect(names.slice(1, 6)).toEqual(['init_0.m4s', 'seg_0_001.m4s', 'seg_0_002.m4s', 'seg_0_003.m4s', 'seg_0_004.m4s']);
    const folder = join(dir, 'dash-tree');
    await saveTree(folder, outputs, async (o) => received.get(o.filename)!);
    const mpd = await readFile(join(folder, 'manifest.mpd'), 'utf8');
    expect(mpd).toContain('<MPD');
    expect(mpd).toMatch(/<AdaptationSet[^>]*contentType="video"/);
    expect(mpd).toMatch(/<AdaptationSet[^>]*contentType="audio"/);
    expect(await videoSizes(join(folder, 'manifest.mpd'))).toEqual(['256,144', '512,288']);

    // each video representation's keyframes, from its init segment and its media segments joined
    const keyframes = await Promise.all(
      [0, 1].map(async (n) => {
        const joined = join(folder, `joined_${n}.mp4`);
        const parts = await Promise.all(
          names.filter((f) => f === `init_${n}.m4s` || f.startsWith(`seg_${n}_`)).map((f) => readFile(join(folder, f))),
        );
        await writeFile(joined, Buffer.concat(parts));
        return keyframeTimes(joined);
      }),
    );
    expect(keyframes[0]!.length).toBeGreaterThanOrEqual(4);
    expect(keyframes[1]).toEqual(keyframes[0]);
  }, 300_000);

  it('names a single hevc rendition init_0.m4s, as it does every representation', async () => {
    client.startJob('dash-hevc-one', 'dash', files.url('vga.mp4'), { renditions: [{ height: 360 }], segment_seconds: 2, codec: 'hevc' });
    const { final, files: received } = await client.result('dash-hevc-one', 120_000);
    expect(final).toMatchObject({ type: 'completed', output_metadata: { format: 'dash', video_codec: 'hevc', width: 480, height: 360 } });
    const outputs = final.outputs as Output[];
    const names = outputs.map((o) => o.filename);
    expect(names.slice(0, 4)).toEqual(['manifest.mpd', 'init_0.m4s', 'seg_0_001.m4s', 'seg_0_002.m4s']);
    expect(names).toContain('init_1.m4s');
    const folder = join(dir, 'dash-hevc-one-tree');
    await saveTree(folder, outputs, async (o) => received.get(o.filename)!);
    expect(await videoSizes(join(folder, 'manifest.mpd'))).toEqual(['480,360']);
  }, 180_000);
});
