/**
 * Operations with several inputs or no output file — concat, subtitles,
 * probe — end to end, outputs checked with ffprobe.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { differingPixels, ffprobe, grayFrame, makeTestVideo, muxSubtitles } from './helpers/media.js';
import { useSuite } from './helpers/suite.js';

const SRT = `1
00:00:00,000 --> 00:00:03,500
HELLO SUBTITLES

2
00:00:03,500 --> 00:00:04,000
BYE
`;

const { dir, files, stack, client } = useSuite({
  name: 'multi',
  fixtures: async (dir) => {
    await Promise.all([
      makeTestVideo(join(dir, 'a.mp4'), { seconds: 3, width: 320, height: 240 }),
      makeTestVideo(join(dir, 'b.mp4'), { seconds: 2, width: 320, height: 240 }),
      makeTestVideo(join(dir, 'wide.mp4'), { seconds: 2, width: 640, height: 360, fps: 30, audio: false }),
    ]);
    await writeFile(join(dir, 'subs.srt'), SRT);
    await muxSubtitles(join(dir, 'a.mp4'), join(dir, 'subs.srt'), join(dir, 'subbed.mkv'));
    // b.mp4's packets in a 90 kHz track, as phones write them: the same codecs, size and rate, another time base
    await execa('ffmpeg', [
      '-v',
      'error',
      '-y',
      '-i',
      join(dir, 'b.mp4'),
      '-c',
      'copy',
      '-video_track_timescale',
      '90000',
      join(dir, 'b-90k.mp4'),
    ]);
  },
  // a scratch dir with filter-graph metacharacters in its name proves the subtitles path escaping against ffmpeg
  stack: ({ dir }) => ({ workerEnv: { TEMP_DIR: join(dir, "scratch we:ird'[x],y;z") } }),
});

async function probeOut(bytes: Buffer, name: string) {
  const path = join(dir, `out-${Date.now()}-${name}`);
  await writeFile(path, bytes);
  return { path, ...(await ffprobe(path)) };
}

const ranFfmpegWith = (needle: string) =>
  stack.workers[0]!.logs.some((l) => l.msg === 'running ffmpeg' && (l.args as string[]).join(' ').includes(needle));

describe('concat', () => {
  it('joins matching inputs from input.urls without re-encoding, each described without an ffprobe process', async () => {
    const seen = stack.workers[0]!.logs.length;
    client.startJob('cat-fast', 'concat', { source: 'url', urls: [files.url('a.mp4'), files.url('b.mp4')] });
    const { final, files: out } = await client.result('cat-fast');
    expect(final).toMatchObject({ type: 'completed', outputs: [{ filename: 'output.mp4' }] });
    const probed = await probeOut(out.get('output.mp4')!, 'fast.mp4');
    expect(Math.abs(probed.duration - 5)).toBeLessThan(0.25);
    expect(probed.video).toMatchObject({ codec_name: 'h264', width: 320, height: 240 });
    expect(ranFfmpegWith('-f concat -safe 1')).toBe(true);
    const logs = stack.workers[0]!.logs.slice(seen);
    expect(logs.filter((l) => l.msg === 'input described from its MP4 header, without ffprobe')).toHaveLength(2);
  });

  it('re-encodes matching inputs whose video time bases differ (the concat demuxer keeps the first file’s)', async () => {
    client.startJob('cat-90k', 'concat', { source: 'url', urls: [files.url('a.mp4'), files.url('b-90k.mp4')] });
    const { final, files: out } = await client.result('cat-90k');
    expect(final.type).toBe('completed');
    const probed = await probeOut(out.get('output.mp4')!, '90k.mp4');
    expect(Math.abs(probed.duration - 5)).toBeLessThan(0.3);
  });

  it('re-encodes inputs that differ in size, frame rate and audio, normalising them to the first', async () => {
    client.startJob('cat-mixed', 'concat', { source: 'url', urls: [files.url('a.mp4'), files.url('wide.mp4')] });
    const { final, files: out } = await client.result('cat-mixed');
    expect(final.type).toBe('completed');
    const probed = await probeOut(out.get('output.mp4')!, 'mixed.mp4');
    expect(Math.abs(probed.duration - 5)).toBeLessThan(0.3);
    expect(probed.video).toMatchObject({ width: 320, height: 240 });
    expect(probed.audio?.codec_name).toBe('aac');
    expect(ranFfmpegWith('concat=n=2:v=1:a=1')).toBe(true);
  });

  it('takes several uploads, one binary frame per listed file name, in any order', async () => {
    client.startJob('cat-up', 'concat', { source: 'upload', filenames: ['one.mp4', 'two.mp4'] }, { target_format: 'mkv' });
    await client.next((m) => m.type === 'ack' && m.job_id === 'cat-up');
    client.upload('cat-up', 'two.mp4', await readFile(join(dir, 'b.mp4')));
    client.upload('cat-up', 'stray.mp4', Buffer.from('x'));
    client.upload('cat-up', 'one.mp4', await readFile(join(dir, 'a.mp4')));
    const { final, files: out } = await client.result('cat-up', 60_000, ['BINARY_ERROR']);
    expect(client.messages('cat-up').find((m) => m.type === 'error')).toMatchObject({ code: 'BINARY_ERROR' });
    expect(final).toMatchObject({ type: 'completed', output_metadata: { format: 'mkv' } });
    const probed = await probeOut(out.get('output.mkv')!, 'up.mkv');
    expect(probed.format.format_name).toContain('matroska');
    expect(Math.abs(probed.duration - 5)).toBeLessThan(0.25);
  });

  it('refuses a single input', async () => {
    client.send({ type: 'start_job', job_id: 'cat-one', operation: 'concat', input: { source: 'url', url: files.url('a.mp4') } });
    const err = await client.next((m) => m.type === 'error');
    expect(err).toMatchObject({ code: 'VALIDATION_ERROR' });
    expect(err.details).toBe('input: concat takes 2 to 20 input files; got 1');
  });
});

describe('subtitles', () => {
  it.each([
    ['srt', 'subrip', 'HELLO SUBTITLES'],
    ['vtt', 'webvtt', 'WEBVTT'],
    ['ass', 'ass', 'Dialogue:'],
  ])('extracts the embedded stream as %s', async (format, codec, marker) => {
    const jobId = `sub-${format}`;
    client.startJob(jobId, 'subtitles', files.url('subbed.mkv'), { mode: 'extract', format });
    const { final, files: out } = await client.result(jobId);
    expect(final.type).toBe('completed');
    const text = out.get(`subtitles.${format}`)!;
    expect(text.toString('utf8')).toContain(marker);
    expect(text.toString('utf8')).toContain('BYE');
    const probed = await probeOut(text, `s.${format}`);
    expect(probed.streams[0]?.codec_name).toBe(codec);
  });

  it('fails clearly when there is no subtitle stream', async () => {
    client.startJob('sub-none', 'subtitles', files.url('a.mp4'), { mode: 'extract' });
    expect((await client.result('sub-none')).final).toMatchObject({ code: 'JOB_FAILED', message: 'Input has no subtitle streams' });
  });

  it('burns an embedded stream, and one from a second (uploaded) file, into the picture', async () => {
    const original = await grayFrame(join(dir, 'a.mp4'), 1);
    client.startJob('burn-in', 'subtitles', files.url('subbed.mkv'), { mode: 'burn' });
    client.startJob('burn-ext', 'subtitles', { source: 'upload', filenames: ['video.mp4', 'subs.srt'] }, { mode: 'burn' });
    await client.next((m) => m.type === 'ack' && m.job_id === 'burn-ext');
    client.upload('burn-ext', 'video.mp4', await readFile(join(dir, 'a.mp4')));
    client.upload('burn-ext', 'subs.srt', Buffer.from(SRT));
    for (const jobId of ['burn-in', 'burn-ext']) {
      const { final, files: out } = await client.result(jobId);
      expect(final).toMatchObject({ type: 'completed', output_metadata: { video_codec: 'h264', width: 320, height: 240 } });
      const burnt = await probeOut(out.get('output.mp4')!, `${jobId}.mp4`);
      expect(burnt.streams.some((s) => s.codec_type === 'subtitle')).toBe(false);
      // the text changes many pixels a plain re-encode would not
      expect(differingPixels(await grayFrame(burnt.path, 1), original)).toBeGreaterThan(300);
    }
  });
});

describe('probe', () => {
  it("returns the input's metadata and no file", async () => {
    client.send({ type: 'start_job', job_id: 'p1', operation: 'probe', input: { source: 'url', url: files.url('wide.mp4') } });
    const { final, items } = await client.result('p1');
    expect(final).toMatchObject({
      type: 'completed',
      outputs: [],
      output_metadata: { format: 'mp4', video_codec: 'h264', audio_codec: null, width: 640, height: 360, fps: 30 },
    });
    expect(Math.abs((final.output_metadata as { duration: number }).duration - 2)).toBeLessThan(0.1);
    expect(items.some((r) => r.kind === 'binary')).toBe(false);
  });
});
