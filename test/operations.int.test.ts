/**
 * The single-input operations not covered elsewhere — compress, remove_audio,
 * convert, trim, gif, filter — end to end (client → gateway → RabbitMQ →
 * worker → ffmpeg), each output checked with ffprobe: duration, codecs,
 * dimensions, number of files. Inputs are tiny lavfi clips so the whole file
 * runs in well under a minute on two cores (VP9 inputs and outputs tiniest).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { TARGET_SIZE_BYTES_PER_MB } from '@media-foundry/shared';
import { ffprobe, makeTestVideo, makeTestVideos, renderLavfi, video } from './helpers/media.js';
import { probe, toOutputMetadata } from '@media-foundry/worker/lib';
import { ffmpegRuns } from './helpers/stack.js';
import { useSuite } from './helpers/suite.js';

const { dir, files, stack, client } = useSuite({
  name: 'ops',
  fixtures: (dir) =>
    Promise.all([
      makeTestVideos(dir, {
        // 3 s, 320x240, 25 fps, H.264/AAC (one keyframe: x264's default GOP is longer than the clip)
        'clip.mp4': video(3, '320x240'),
        'wide.mp4': video(2, '640x360'),
        'tiny.mp4': video(1, '160x120'),
        // 20 frames: the most thumbnails one may ask for, one per frame
        'five-fps.mp4': video(4, '160x120', { fps: 5 }),
      }),
      // a keyframe every second, so a stream-copy trim can cut exactly
      makeTestVideo(join(dir, 'gop.mp4'), {
        seconds: 4,
        width: 320,
        height: 240,
        sampleRate: 48000,
        codecArgs: [
          '-c:v',
          'libx264',
          '-preset',
          'ultrafast',
          '-g',
          '25',
          '-keyint_min',
          '25',
          '-sc_threshold',
          '0',
          '-pix_fmt',
          'yuv420p',
          '-c:a',
          'aac',
        ],
      }),
      // 2 s at 10 fps: an animated GIF as an input
      renderLavfi(join(dir, 'anim.gif'), 'testsrc2=size=160x120:rate=10:duration=2', ['-loop', '0']),
      // MPEG-TS, a keyframe every 2 s: its demuxer's seek lands on the keyframe after the time
      execa('ffmpeg', [
        ...['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=25:duration=4'],
        ...['-c:v', 'libx264', '-preset', 'ultrafast', '-g', '50', '-pix_fmt', 'yuv420p', join(dir, 'gop2s.ts')],
      ]),
      // the picture stops at 2 s, the sound runs on to 4 s (a screen recording stopped early, an edit)
      execa('ffmpeg', [
        ...['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=25:duration=2'],
        ...['-f', 'lavfi', '-i', 'sine=frequency=440:duration=4'],
        ...['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', join(dir, 'audio-runs-on.mp4')],
      ]),
      // AC-3 5.1 decodes to the 5.1(side) layout, which libopus refuses as it is
      execa('ffmpeg', [
        ...['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=25:duration=1'],
        ...['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000:duration=1'],
        ...['-filter_complex', '[1:a]pan=5.1(side)|c0=c0|c1=c0|c2=c0|c3=c0|c4=c0|c5=c0[a]', '-map', '0:v', '-map', '[a]'],
        ...['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'ac3', join(dir, 'surround.mkv')],
      ]),
      // MP3 at 11.025 kHz, which ffmpeg's mp4 muxer refuses; H.264 in Matroska (length-prefixed, not Annex B)
      makeTestVideos(dir, {
        'mp3-11k.mkv': video(2, '160x120', {
          sampleRate: 11025,
          codecArgs: ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'libmp3lame'],
        }),
        'mp3-11k.avi': video(2, '160x120', { sampleRate: 11025, codecArgs: ['-c:v', 'mpeg4', '-c:a', 'libmp3lame'] }),
        'mp3.mkv': video(1, '160x120', {
          codecArgs: ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'libmp3lame'],
        }),
        'mp3.mp4': video(1, '160x120', {
          codecArgs: ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'libmp3lame'],
        }),
        'mp3.ts': video(1, '160x120', {
          codecArgs: ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'libmp3lame'],
        }),
      }),
      execa('ffmpeg', [
        '-v',
        'error',
        '-y',
        '-f',
        'lavfi',
        '-i',
        'sine=frequency=440:sample_rate=8000:duration=1',
        '-c:a',
        'aac',
        join(dir, 'mono8k.m4a'),
      ]),
      // the video starts 23 ms after the audio (AAC's priming samples, as Matroska keeps them)
      makeTestVideo(join(dir, 'late-video.mkv'), {
        seconds: 3,
        fps: 30,
        codecArgs: ['-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'aac'],
      }),
      // variable frame rate, as phones record: 120 frames at 30 fps with pauses of 0.5 s and 0.8 s, 5.3 s in all
      execa('ffmpeg', [
        ...['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=30:duration=4'],
        ...['-vf', "setpts='N/30/TB+if(gt(N,30),0.5/TB,0)+if(gt(N,60),0.8/TB,0)'", '-fps_mode', 'vfr'],
        ...['-c:v', 'libx264', '-pix_fmt', 'yuv420p', join(dir, 'vfr.mkv')],
      ]).then(() => execa('ffmpeg', ['-v', 'error', '-y', '-i', join(dir, 'vfr.mkv'), '-c', 'copy', join(dir, 'vfr.mp4')])),
      makeTestVideo(join(dir, 'tiny.webm'), {
        seconds: 1,
        width: 160,
        height: 120,
        sampleRate: 48000,
        codecArgs: ['-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8', '-pix_fmt', 'yuv420p', '-c:a', 'libopus'],
      }),
    ]),
});

interface FullStream {
  codec_type: string;
  codec_name: string;
  width?: number;
  height?: number;
  nb_frames?: string;
  nb_read_frames?: string;
  r_frame_rate?: string;
  avg_frame_rate?: string;
}

/** Writes an output to disk and probes it (streams with every field ffprobe gives). */
async function probeOut(bytes: Buffer | undefined, name: string) {
  expect(bytes).toBeDefined();
  const path = join(dir, `out-${Date.now()}-${name}`);
  await writeFile(path, bytes!);
  const probed = await ffprobe(path);
  return {
    path,
    ...probed,
    video: probed.video as FullStream | undefined,
    audio: probed.audio as FullStream | undefined,
  };
}

/** What a converted output is checked for: its container (a part of ffprobe's format_name), video, audio codec and length. */
interface Media {
  container: string;
  video: Partial<FullStream>;
  audioCodec: string;
  seconds: number;
  /** How far off `seconds` the duration may be. */
  within: number;
}

/** Probes an output (as probeOut) and checks it holds the media expected; returns the probe. */
async function expectMedia(bytes: Buffer | undefined, name: string, want: Media) {
  const probed = await probeOut(bytes, name);
  expect(probed.format.format_name).toContain(want.container);
  expect(probed.video).toMatchObject(want.video);
  expect(probed.audio?.codec_name).toBe(want.audioCodec);
  expect(Math.abs(probed.duration - want.seconds)).toBeLessThan(want.within);
  return probed;
}

/** MD5 of a stream's packets as they are stored: equal only when the stream was copied, not re-encoded. */
async function packetHash(path: string, stream: 'v' | 'a'): Promise<string> {
  const { stdout } = await execa('ffmpeg', [
    '-hide_banner',
    '-loglevel',
    'error',
    '-i',
    path,
    '-map',
    `0:${stream}`,
    '-c',
    'copy',
    '-f',
    'streamhash',
    '-hash',
    'md5',
    '-',
  ]);
  return stdout.trim();
}

/** The first video stream's frames as decoded (count) — GIFs and re-encodes have no reliable nb_frames. */
async function countFrames(path: string): Promise<number> {
  const { stdout } = await execa('ffprobe', [
    '-v',
    'error',
    '-count_frames',
    '-select_streams',
    'v:0',
    '-show_entries',
    'stream=nb_read_frames',
    '-of',
    'csv=p=0',
    path,
  ]);
  return Number(stdout.trim());
}

/** volumedetect's mean volume of the first audio stream, in dB. */
async function meanVolume(path: string): Promise<number> {
  const { stderr } = await execa('ffmpeg', [
    '-hide_banner',
    '-nostats',
    '-i',
    path,
    '-map',
    '0:a',
    '-af',
    'volumedetect',
    '-f',
    'null',
    '-',
  ]);
  const match = /mean_volume: (-?[\d.]+) dB/.exec(stderr);
  if (!match) throw new Error(`no mean_volume in: ${stderr}`);
  return Number(match[1]);
}

function start(jobId: string, operation: string, input: string, options: Record<string, unknown>): void {
  client.send({ type: 'start_job', job_id: jobId, operation, input: { source: 'url', url: files.url(input) }, options });
}

/** A completed job's outputs; fails with the error it got otherwise. */
async function completed(jobId: string) {
  const result = await client.result(jobId);
  expect(result.final).toMatchObject({ type: 'completed' });
  const outputs = result.final.outputs as { filename: string }[];
  expect(result.files.size).toBe(outputs.length);
  return { ...result, outputs };
}

/** tiny.mp4 re-encoded to WebM's default codecs. */
const VP9_TINY: Media = {
  container: 'webm',
  video: { codec_name: 'vp9', width: 160, height: 120 },
  audioCodec: 'opus',
  seconds: 1,
  within: 0.15,
};

describe('compress', () => {
  it('preset low fits a box keeping the aspect ratio and even sides, and never enlarges', async () => {
    start('c-box', 'compress', 'wide.mp4', { preset: 'low', max_width: 320, max_height: 320 });
    start('c-odd', 'compress', 'wide.mp4', { preset: 'low', max_width: 201 });
    start('c-small', 'compress', 'clip.mp4', { preset: 'low', max_width: 640, max_height: 640 });

    const box = await completed('c-box');
    expect(box.outputs.map((o) => o.filename)).toEqual(['output.mp4']);
    expect(box.final).toMatchObject({
      output_metadata: { format: 'mp4', video_codec: 'h264', audio_codec: 'aac', width: 320, height: 180 },
    });
    const boxed = await probeOut(box.files.get('output.mp4'), 'box.mp4');
    expect(boxed.video).toMatchObject({ codec_name: 'h264', width: 320, height: 180 });
    expect(boxed.audio?.codec_name).toBe('aac');
    expect(Math.abs(boxed.duration - 2)).toBeLessThan(0.15);
    expect(ffmpegRuns(stack, 'c-box')[0]).toMatch(/-vf scale=320:180 -c:v libx264 -preset veryfast -crf 32 .*-b:a 96k/);

    // 640x360 into 201 wide: 200 (even, inside the box) by 114 (even, 16:9 as near as even sides allow)
    const odd = await probeOut((await completed('c-odd')).files.get('output.mp4'), 'odd.mp4');
    expect(odd.video).toMatchObject({ width: 200, height: 114 });

    const small = await completed('c-small');
    const kept = await probeOut(small.files.get('output.mp4'), 'small.mp4');
    expect(kept.video).toMatchObject({ codec_name: 'h264', width: 320, height: 240 });
    expect(Math.abs(kept.duration - 3)).toBeLessThan(0.15);
    expect(ffmpegRuns(stack, 'c-small')[0]).not.toContain('scale=');
  });

  it('target_format webm is VP9/Opus in WebM', async () => {
    start('c-webm', 'compress', 'tiny.mp4', { preset: 'low', target_format: 'webm' });
    const { files: out, final, outputs } = await completed('c-webm');
    expect(outputs).toEqual([expect.objectContaining({ filename: 'output.webm', content_type: 'video/webm' })]);
    expect(final).toMatchObject({ output_metadata: { format: 'webm', video_codec: 'vp9', audio_codec: 'opus' } });
    await expectMedia(out.get('output.webm'), 'c.webm', VP9_TINY);
  });
});

describe('compress with target_size_mb', () => {
  /** The output's frames and seconds: a variable frame rate kept means as many frames as the input, over as long. */
  async function framesAndSeconds(bytes: Buffer | undefined, name: string) {
    const probed = await probeOut(bytes, name);
    return { frames: await countFrames(probed.path), seconds: probed.duration };
  }

  // both passes must encode the same frames: the null muxer of pass 1 and MP4's would pick different frame-rate modes
  it.each([
    ['late-video.mkv', 'mp4', 90, 3],
    ['vfr.mkv', 'mp4', 120, 5.3],
    ['vfr.mp4', 'mp4', 120, 5.3],
    ['vfr.mp4', 'mkv', 120, 5.3],
    ['vfr.mp4', 'webm', 120, 5.3],
  ] as const)('%s to %s: two passes over the same frames, the timing kept', async (input, format, frames, seconds) => {
    const jobId = `ts-${input}-${format}`.replace('.', '-');
    start(jobId, 'compress', input, { preset: 'low', target_size_mb: 0.2, target_format: format });
    const done = await completed(jobId);
    const out = await framesAndSeconds(done.files.get(`output.${format}`), `${jobId}.${format}`);
    expect(out.frames).toBe(frames);
    expect(Math.abs(out.seconds - seconds)).toBeLessThan(0.1);
    expect(done.files.get(`output.${format}`)!.length).toBeLessThanOrEqual(0.2 * TARGET_SIZE_BYTES_PER_MB);
  });

  it('a pipeline ending in compress with a size target takes a variable-frame-rate input', async () => {
    const steps = [
      { operation: 'filter', options: { filters: [{ type: 'scale', width: 160 }] } },
      { operation: 'compress', options: { preset: 'low', target_size_mb: 0.2 } },
    ];
    start('ts-pipeline', 'pipeline', 'vfr.mp4', { steps });
    const done = await completed('ts-pipeline');
    expect(ffmpegRuns(stack, 'ts-pipeline')).toHaveLength(2);
    const out = await framesAndSeconds(done.files.get('output.mp4'), 'ts-pipeline.mp4');
    expect(out.frames).toBe(120);
    expect(Math.abs(out.seconds - 5.3)).toBeLessThan(0.1);
  });
});

describe('remove_audio', () => {
  it('keep_video_quality: true drops the audio and copies the video packets untouched', async () => {
    start('ra-copy', 'remove_audio', 'clip.mp4', { keep_video_quality: true });
    const { files: out, outputs, final } = await completed('ra-copy');
    expect(outputs.map((o) => o.filename)).toEqual(['output.mp4']);
    expect(final).toMatchObject({ output_metadata: { video_codec: 'h264', audio_codec: null, width: 320, height: 240 } });
    const probed = await probeOut(out.get('output.mp4'), 'ra-copy.mp4');
    expect(probed.streams.map((s) => s.codec_type)).toEqual(['video']);
    expect(probed.video?.codec_name).toBe('h264');
    expect(probed.video?.nb_frames).toBe('75');
    expect(await packetHash(probed.path, 'v')).toBe(await packetHash(join(dir, 'clip.mp4'), 'v'));
    expect(Math.abs(probed.duration - 3)).toBeLessThan(0.1);
  });

  it('keep_video_quality: false re-encodes the video to H.264 and drops the audio', async () => {
    start('ra-enc', 'remove_audio', 'clip.mp4', { keep_video_quality: false });
    const { files: out } = await completed('ra-enc');
    const probed = await probeOut(out.get('output.mp4'), 'ra-enc.mp4');
    expect(probed.streams.map((s) => s.codec_type)).toEqual(['video']);
    expect(probed.video).toMatchObject({ codec_name: 'h264', width: 320, height: 240 });
    expect(Math.abs(probed.duration - 3)).toBeLessThan(0.1);
    expect(await packetHash(probed.path, 'v')).not.toBe(await packetHash(join(dir, 'clip.mp4'), 'v'));
    expect(ffmpegRuns(stack, 'ra-enc')[0]).toContain('-c:v libx264');
  });
});

describe('convert', () => {
  it.each([
    // downloaded, then read from its file
    ['convert to MP4', 'convert', { target_format: 'mp4' }, 'output.mp4'],
    // read by range from the origin (a thumbnail reads only part of its input)
    ['thumbnail', 'thumbnail', { timestamp: 1, format: 'png' }, 'thumbnail.png'],
  ])('takes a GIF input, described from its blocks without ffprobe: %s', async (_what, operation, options, name) => {
    const jobId = `gif-in-${operation}`;
    const seen = stack.workers[0]!.logs.length;
    start(jobId, operation, 'anim.gif', options);
    const { final, files: out } = await completed(jobId);
    expect(final).toMatchObject({ output_metadata: { width: 160, height: 120 } });
    expect(out.get(name)?.length).toBeGreaterThan(0);
    const logs = stack.workers[0]!.logs.slice(seen);
    expect(logs.some((l) => l.msg === 'input described from its GIF blocks, without ffprobe')).toBe(true);
    expect(logs.some((l) => l.msg === 'could not read the input header in-process; running ffprobe')).toBe(false);
  });

  it('to mkv with stream_copy keeps the codecs and the packets', async () => {
    start('cv-mkv', 'convert', 'clip.mp4', { target_format: 'mkv', stream_copy: true });
    const { files: out, outputs, final } = await completed('cv-mkv');
    expect(outputs).toEqual([expect.objectContaining({ filename: 'output.mkv', content_type: 'video/x-matroska' })]);
    expect(final).toMatchObject({ output_metadata: { format: 'mkv', video_codec: 'h264', audio_codec: 'aac' } });
    const probed = await expectMedia(out.get('output.mkv'), 'cv.mkv', {
      container: 'matroska',
      video: { codec_name: 'h264', width: 320, height: 240 },
      audioCodec: 'aac',
      seconds: 3,
      within: 0.1,
    });
    expect(await packetHash(probed.path, 'v')).toBe(await packetHash(join(dir, 'clip.mp4'), 'v'));
  });

  it('to webm re-encodes to the default VP9/Opus', async () => {
    start('cv-webm', 'convert', 'tiny.mp4', { target_format: 'webm' });
    const { files: out, outputs } = await completed('cv-webm');
    expect(outputs.map((o) => o.filename)).toEqual(['output.webm']);
    await expectMedia(out.get('output.webm'), 'cv.webm', VP9_TINY);
  });

  it('fails clearly when the target cannot hold the streams it is to copy', async () => {
    start('cv-nocopy', 'convert', 'tiny.webm', { target_format: 'mp4', stream_copy: true });
    const { final } = await client.result('cv-nocopy');
    expect(final).toMatchObject({ type: 'error', code: 'JOB_FAILED', message: 'Cannot stream-copy vp9 video into mp4' });
    expect(final.details).toContain('use stream_copy: false to re-encode');
  });

  it('refuses a codec the container cannot hold, naming the field', async () => {
    start('cv-bad', 'convert', 'clip.mp4', { target_format: 'webm', video_codec: 'h264' });
    const err = await client.next((m) => m.type === 'error' && m.job_id === 'cv-bad');
    expect(err).toMatchObject({ code: 'VALIDATION_ERROR' });
    expect(err.details).toContain('options.video_codec');
    expect(err.details).toContain('webm cannot hold video codec h264');
    expect(client.messages('cv-bad').some((m) => m.type === 'ack')).toBe(false);
  });
});

describe('trim', () => {
  it('cuts frame-accurately by re-encoding, and at keyframes with stream_copy', async () => {
    start('t-exact', 'trim', 'clip.mp4', { start_time: 0.6, end_time: 2.1 });
    start('t-copy', 'trim', 'gop.mp4', { start_time: 1, end_time: 3, stream_copy: true });

    const exact = await probeOut((await completed('t-exact')).files.get('output.mp4'), 'exact.mp4');
    expect(Math.abs(exact.duration - 1.5)).toBeLessThan(0.1);
    expect(exact.video).toMatchObject({ codec_name: 'h264', width: 320, height: 240 });
    expect(exact.audio?.codec_name).toBe('aac');
    expect(Number(exact.video?.nb_frames)).toBeGreaterThanOrEqual(37);
    expect(Number(exact.video?.nb_frames)).toBeLessThanOrEqual(38);

    const { files: out, outputs } = await completed('t-copy');
    expect(outputs.map((o) => o.filename)).toEqual(['output.mp4']);
    const copied = await probeOut(out.get('output.mp4'), 'copy.mp4');
    expect(Math.abs(copied.duration - 2)).toBeLessThan(0.1);
    expect(copied.video).toMatchObject({ codec_name: 'h264', width: 320, height: 240, nb_frames: '50' });
    expect(copied.audio?.codec_name).toBe('aac');
    expect(ffmpegRuns(stack, 't-copy')[0]).toContain('-c copy');
  });

  it('fails clearly when end_time is past the end of the input', async () => {
    start('t-past', 'trim', 'clip.mp4', { start_time: 1, end_time: 10 });
    const { final } = await client.result('t-past');
    expect(final).toMatchObject({ type: 'error', code: 'JOB_FAILED', message: 'Trim end is past the end of the input' });
    expect(final.details).toMatch(/end_time 10s, input duration 3(\.\d+)?s/);
  });
});

describe('gif', () => {
  it('makes an animated GIF of the requested width, length and frame rate, with and without a palette', async () => {
    start('g-opt', 'gif', 'clip.mp4', { start_time: 0.5, duration: 2, fps: 10, width: 160, optimize: true });
    start('g-plain', 'gif', 'clip.mp4', { start_time: 0.5, duration: 2, fps: 10, width: 160, optimize: false });
    for (const [jobId, palette] of [
      ['g-opt', true],
      ['g-plain', false],
    ] as const) {
      const { files: out, outputs, final } = await completed(jobId);
      expect(outputs).toEqual([expect.objectContaining({ filename: 'output.gif', content_type: 'image/gif' })]);
      expect(final).toMatchObject({ output_metadata: { format: 'gif', video_codec: 'gif', audio_codec: null, width: 160, height: 120 } });
      const probed = await probeOut(out.get('output.gif'), `${jobId}.gif`);
      expect(probed.video).toMatchObject({ codec_name: 'gif', width: 160, height: 120 });
      expect(Math.abs(probed.duration - 2)).toBeLessThan(0.15);
      const frames = await countFrames(probed.path);
      expect(Math.abs(frames / probed.duration - 10)).toBeLessThan(0.6);
      expect(ffmpegRuns(stack, jobId)[0]!.includes('palettegen')).toBe(palette);
    }
  });
});

describe('gif of a video ending before its audio', () => {
  it('makes a GIF from a start in the last frames, and of a clip shorter than one GIF frame', async () => {
    start('g-tail', 'gif', 'audio-runs-on.mp4', { start_time: 1.99, duration: 1, fps: 10, optimize: false });
    start('g-blink', 'gif', 'clip.mp4', { start_time: 1, duration: 0.03, fps: 10, optimize: true });
    for (const jobId of ['g-tail', 'g-blink']) {
      const { files: out } = await completed(jobId);
      const probed = await probeOut(out.get('output.gif'), `${jobId}.gif`);
      expect(await countFrames(probed.path)).toBeGreaterThanOrEqual(1);
    }
  });

  it('refuses a start after the picture stops, naming where it does', async () => {
    start('g-after', 'gif', 'audio-runs-on.mp4', { start_time: 3 });
    const { final } = await client.result('g-after');
    expect(final).toMatchObject({ type: 'error', code: 'JOB_FAILED', message: 'GIF start is past the end of the video' });
    expect(final.details).toBe('start_time 3s, the video ends at 2s');
  });
});

describe('filter', () => {
  it('scales, turns a quarter (sides swap) and changes the volume', async () => {
    start('f-chain', 'filter', 'clip.mp4', {
      filters: [
        { type: 'scale', width: 200, height: 120 },
        { type: 'rotate', angle: 90 },
        { type: 'volume', volume: 0.5 },
      ],
    });
    const { files: out, outputs } = await completed('f-chain');
    expect(outputs.map((o) => o.filename)).toEqual(['output.mp4']);
    const probed = await probeOut(out.get('output.mp4'), 'f.mp4');
    expect(probed.video).toMatchObject({ codec_name: 'h264', width: 120, height: 200 });
    expect(probed.audio?.codec_name).toBe('aac');
    expect(Math.abs(probed.duration - 3)).toBeLessThan(0.1);
    // half the amplitude is 6 dB quieter
    const drop = (await meanVolume(join(dir, 'clip.mp4'))) - (await meanVolume(probed.path));
    expect(Math.abs(drop - 6.02)).toBeLessThan(0.5);
  });

  it('fails clearly when a crop reaches outside the frame', async () => {
    start('f-crop', 'filter', 'clip.mp4', { filters: [{ type: 'crop', width: 200, height: 200, x: 200, y: 0 }] });
    const { final } = await client.result('f-crop');
    expect(final).toMatchObject({ type: 'error', code: 'JOB_FAILED', message: 'Crop area is outside the frame' });
    expect(final.details).toContain('does not fit the 320x240 frame');
  });
});

describe('thumbnail', () => {
  it('makes as many evenly spaced thumbnails as the input has frames, the last one included', async () => {
    start('th-every', 'thumbnail', 'five-fps.mp4', { count: 20 });
    const { final, files } = await client.result('th-every');
    expect(final.type).toBe('completed');
    expect(files.size).toBe(20);
    for (const bytes of files.values()) expect(bytes.length).toBeGreaterThan(0);
  });

  it('takes pictures of a video ending before its audio: from its last frames, spaced over the picture', async () => {
    start('th-tail', 'thumbnail', 'audio-runs-on.mp4', { timestamp: 3.5 });
    start('th-spaced', 'thumbnail', 'audio-runs-on.mp4', { count: 3 });
    const tail = await completed('th-tail');
    expect([...tail.files.values()][0]!.length).toBeGreaterThan(0);
    const spaced = await completed('th-spaced');
    // three different pictures (testsrc2 moves): none past the picture's end, none repeated
    expect(new Set([...spaced.files.values()].map((b) => b.toString('base64'))).size).toBe(3);
  });

  /** The first picture ffmpeg makes of `args` (an input and what selects the frame), as raw RGB. */
  const rgb = (args: string[]) =>
    execa('ffmpeg', ['-v', 'error', ...args, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { encoding: 'buffer' });

  it.each([
    ['a thumbnail', 'th-ts', 'thumbnail', { timestamp: 1 }],
    [
      'a pipeline: a trim, then the thumbnail',
      'pl-ts',
      'pipeline',
      {
        steps: [
          { operation: 'trim', options: { start_time: 1 } },
          { operation: 'thumbnail', options: { timestamp: 0 } },
        ],
      },
    ],
  ])('takes the picture at 1 s of an MPEG-TS input, not at the next keyframe: %s', async (_what, jobId, operation, options) => {
    start(jobId, operation, 'gop2s.ts', options);
    const { files: out } = await completed(jobId);
    const thumbnail = await probeOut(out.get('thumbnail.png'), `${jobId}.png`);
    // frame 25 of the file decoded from its start: the one shown at 1 s
    const expected = await rgb(['-i', join(dir, 'gop2s.ts'), '-vf', 'select=eq(n\\,25)']);
    expect(Buffer.compare((await rgb(['-i', thumbnail.path])).stdout, expected.stdout)).toBe(0);
  });

  it('starts a re-encoded pipeline window of an MPEG-TS input at its time, not the next keyframe', async () => {
    start('pl-ts-speed', 'pipeline', 'gop2s.ts', {
      steps: [
        { operation: 'trim', options: { start_time: 1, end_time: 2 } },
        { operation: 'speed', options: { speed_factor: 2 } },
      ],
    });
    const { files: out } = await completed('pl-ts-speed');
    const first = (await rgb(['-i', (await probeOut(out.get('output.mp4'), 'pl-ts-speed.mp4')).path])).stdout;
    const frame = async (n: number) => (await rgb(['-i', join(dir, 'gop2s.ts'), '-vf', `select=eq(n\\,${n})`])).stdout;
    // re-encoded, so not byte for byte: nearest to the frame at 1 s, far from the keyframe at 2 s
    const distance = (a: Uint8Array, b: Uint8Array) => a.reduce((sum, v, i) => sum + Math.abs(v - b[i]!), 0) / a.length;
    const [at1s, at2s] = [await frame(25), await frame(50)];
    expect(distance(first, at1s)).toBeLessThan(distance(first, at2s) / 4);
  });

  it('fails clearly when the timestamp is past the end of the input', async () => {
    start('th-past', 'thumbnail', 'clip.mp4', { timestamp: 5 });
    const { final, items } = await client.result('th-past');
    expect(final).toMatchObject({ type: 'error', code: 'JOB_FAILED', message: 'Thumbnail timestamp is past the end of the input' });
    expect(items.some((r) => r.kind === 'binary')).toBe(false);
  });
});

describe('output_metadata', () => {
  it.each([
    ['compress to MP4 (moov first)', 'compress', { preset: 'low' }, 'output.mp4', 'mp4'],
    ['speed', 'speed', { speed_factor: 2 }, 'output.mp4', 'mp4'],
    ['trim by stream copy', 'trim', { start_time: 1, end_time: 2, stream_copy: true }, 'output.mp4', 'mp4'],
    ['extract_audio to M4A', 'extract_audio', { format: 'm4a' }, 'output.m4a', 'm4a'],
    // QuickTime's version-1 sound entry, the AAC config inside a `wave` box (quicktime-audio.ts)
    ['convert to MOV with AAC', 'convert', { target_format: 'mov' }, 'output.mov', 'mov'],
  ])('describes an output of %s from its MP4 boxes, field by field as ffprobe does', async (what, operation, options, name, format) => {
    const jobId = `meta-${operation}`;
    const seen = stack.workers[0]!.logs.length;
    start(jobId, operation, 'clip.mp4', options);
    const { final, files: out } = await completed(jobId);
    const bytes = out.get(name)!;
    const path = join(dir, `meta-${name}`);
    await writeFile(path, bytes);
    expect(final.output_metadata).toEqual(toOutputMetadata(await probe('ffprobe', path), format, bytes.length));
    const described = stack.workers[0]!.logs.slice(seen).filter((l) => l.msg === 'output described from its MP4 header, without ffprobe');
    expect(described.length).toBeGreaterThan(0);
  });

  it.each([
    // ffprobe's frame rate is libavformat's estimate from the delays (7, 6, 7 hundredths), not the 15 asked for
    ['at 15 fps', { start_time: 0.5, duration: 2.3, fps: 15, width: 160 }, 14.917],
    ['without a palette', { duration: 1, fps: 10, optimize: false }, 10],
  ])('describes a GIF %s from its blocks, field by field as ffprobe does', async (_what, options, fps) => {
    const jobId = `meta-gif-${options.fps}`;
    const seen = stack.workers[0]!.logs.length;
    start(jobId, 'gif', 'clip.mp4', options);
    const { final, files: out } = await completed(jobId);
    const bytes = out.get('output.gif')!;
    const path = join(dir, `${jobId}.gif`);
    await writeFile(path, bytes);
    expect(final.output_metadata).toEqual(toOutputMetadata(await probe('ffprobe', path), 'gif', bytes.length));
    expect(final.output_metadata).toMatchObject({ fps });
    expect(stack.workers[0]!.logs.slice(seen).some((l) => l.msg === 'output described from its GIF blocks, without ffprobe')).toBe(true);
  });

  it.each([
    ['an MP3 (the default)', {}, 'mp3'],
    ['a WAV', { format: 'wav' }, 'wav'],
  ])('describes %s from extract_audio by its header, field by field as ffprobe does', async (_what, options, format) => {
    const jobId = `meta-audio-${format}`;
    const seen = stack.workers[0]!.logs.length;
    start(jobId, 'extract_audio', 'clip.mp4', options);
    const { final, files: out } = await completed(jobId);
    const bytes = out.get(`output.${format}`)!;
    const path = join(dir, `${jobId}.${format}`);
    await writeFile(path, bytes);
    expect(final.output_metadata).toEqual(toOutputMetadata(await probe('ffprobe', path), format, bytes.length));
    const message = `output described from its ${format.toUpperCase()} header, without ffprobe`;
    expect(stack.workers[0]!.logs.slice(seen).some((l) => l.msg === message)).toBe(true);
  });

  it.each([['WebM', 'webm']])('describes a %s output with ffprobe', async (_what, format) => {
    const seen = stack.workers[0]!.logs.length;
    start(`meta-${format}`, 'convert', 'tiny.mp4', { target_format: format });
    const { final, files: out } = await completed(`meta-${format}`);
    const bytes = out.get(`output.${format}`)!;
    const path = join(dir, `meta-output.${format}`);
    await writeFile(path, bytes);
    expect(final.output_metadata).toEqual(toOutputMetadata(await probe('ffprobe', path), format, bytes.length));
    expect(stack.workers[0]!.logs.slice(seen).some((l) => l.msg === 'output described from its MP4 header, without ffprobe')).toBe(false);
  });
});

/** Whether ffmpeg decodes every stream of `path` without an error. */
async function decodes(path: string): Promise<string> {
  const { stderr } = await execa('ffmpeg', ['-v', 'error', '-i', path, '-f', 'null', '-']);
  return stderr;
}

describe('audio and video that containers and encoders restrict', () => {
  it('encodes Opus from AC-3 5.1, whose 5.1(side) layout libopus refuses, as 5.1', async () => {
    const jobs: [string, string, Record<string, unknown>, string][] = [
      ['opus-webm', 'convert', { target_format: 'webm' }, 'output.webm'],
      ['opus-mp4', 'convert', { target_format: 'mp4', audio_codec: 'opus' }, 'output.mp4'],
      ['opus-compress', 'compress', { preset: 'low', target_format: 'webm' }, 'output.webm'],
      ['opus-extract', 'extract_audio', { format: 'opus' }, 'output.opus'],
      [
        'opus-pipeline',
        'pipeline',
        {
          steps: [
            { operation: 'filter', options: { filters: [{ type: 'volume', volume: 0.5 }] } },
            { operation: 'extract_audio', options: { format: 'opus' } },
          ],
        },
        'output.opus',
      ],
    ];
    for (const [jobId, operation, options] of jobs) start(jobId, operation, 'surround.mkv', options);
    for (const [jobId, , , name] of jobs) {
      const probed = await probeOut((await completed(jobId)).files.get(name), `${jobId}-${name}`);
      expect({ jobId, audio: probed.audio }).toMatchObject({ jobId, audio: { codec_name: 'opus', channels: 6, channel_layout: '5.1' } });
      expect(await decodes(probed.path)).toBe('');
    }
  });

  it('never copies MP3 under 16 kHz into MP4, and resamples an MP3 encode for MP4', async () => {
    const jobs: [string, string, string, Record<string, unknown>, string][] = [
      ['mp3-encode', 'convert', 'mono8k.m4a', { target_format: 'mp4', audio_codec: 'mp3' }, 'output.mp4'],
      ['mp3-trim', 'trim', 'mp3-11k.avi', { start_time: 0.5, stream_copy: true }, 'output.mkv'],
      ['mp3-filter', 'filter', 'mp3-11k.avi', { filters: [{ type: 'fps', fps: 10 }] }, 'output.mp4'],
      ['mp3-mark', 'watermark', 'mp3-11k.mkv', { type: 'text', text: 'hi' }, 'output.mp4'],
      [
        'mp3-pipe',
        'pipeline',
        'mp3-11k.avi',
        { steps: [{ operation: 'trim', options: { start_time: 0.5, stream_copy: true } }] },
        'output.mkv',
      ],
    ];
    for (const [jobId, operation, input, options] of jobs) start(jobId, operation, input, options);
    client.startJob(
      'mp3-cat',
      'concat',
      { source: 'url', urls: [files.url('mp3-11k.mkv'), files.url('mp3-11k.mkv')] },
      { target_format: 'mp4' },
    );
    for (const [jobId, , , , name] of [...jobs, ['mp3-cat', '', '', {}, 'output.mp4'] as const]) {
      const probed = await probeOut((await completed(jobId)).files.get(name), `${jobId}-${name}`);
      expect(await decodes(probed.path)).toBe('');
      expect(probed.audio).toBeDefined();
    }
    // copying convert into MP4 is refused with the reason, before any ffmpeg run
    start('mp3-copy', 'convert', 'mp3-11k.mkv', { target_format: 'mp4', stream_copy: true });
    const { final } = await client.result('mp3-copy');
    expect(final).toMatchObject({ type: 'error', code: 'JOB_FAILED', message: 'Cannot stream-copy mp3 audio at 11025 Hz into mp4' });
  });

  it('copies H.264 into AVI with start codes, from Matroska, MP4 and MPEG-TS, by convert and by a pipeline', async () => {
    const copy = { target_format: 'avi', stream_copy: true };
    const jobs: [string, string, string, Record<string, unknown>][] = [
      ['avi-mkv', 'convert', 'mp3.mkv', copy],
      ['avi-mp4', 'convert', 'mp3.mp4', copy],
      ['avi-ts', 'convert', 'mp3.ts', copy],
      [
        'avi-pipe',
        'pipeline',
        'mp3.mkv',
        {
          steps: [
            { operation: 'trim', options: { start_time: 0.2, stream_copy: true } },
            { operation: 'convert', options: copy },
          ],
        },
      ],
    ];
    for (const [jobId, operation, input, options] of jobs) start(jobId, operation, input, options);
    for (const [jobId] of jobs) {
      const probed = await probeOut((await completed(jobId)).files.get('output.avi'), `${jobId}.avi`);
      expect({ jobId, video: probed.video?.codec_name, errors: await decodes(probed.path) }).toEqual({ jobId, video: 'h264', errors: '' });
      expect(await countFrames(probed.path)).toBeGreaterThan(0);
    }
  });
});
