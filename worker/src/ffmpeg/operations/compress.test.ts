import { COMPRESS_PRESETS, type CompressOptions } from '@media-foundry/shared';
import { EVEN_SIZE_FILTER, evenSizeArgs } from '../plan.js';
import { buildCompress, fitWithin, frameSize, opusKbps, vp9Crf } from './compress.js';
import { argv, buildContext, h264Video, jobFailure, mediaInfoFixture, OUTPUT, singleRun, thrownBy } from './test-fixtures.js';

const ctx = buildContext();

/** A probed 10-second 1920x1080 H.264/AAC (48 kHz stereo) MP4; override any part. */
const mediaInfo = mediaInfoFixture({ sizeBytes: 8_000_000, bitrate: 6_400_000, video: h264Video('1920x1080', 30) });

/** Options as the schema outputs them (defaults filled). */
function opts(o: Partial<CompressOptions> = {}): CompressOptions {
  return { preset: 'medium', target_format: 'mp4', ...o };
}

const VP9_SPEED = ['-row-mt', '1', '-deadline', 'good', '-cpu-used', '4', '-pix_fmt', 'yuv420p'];

describe('fitWithin', () => {
  it('shrinks landscape to the box, keeping 16:9', () => {
    expect(fitWithin(1920, 1080, 1280, 720)).toEqual({ width: 1280, height: 720 });
    expect(fitWithin(3840, 2160, 1280, 1280)).toEqual({ width: 1280, height: 720 });
  });

  it('shrinks portrait by its height', () => {
    // 1080 * 720/1920 = 405, rounded to the nearest even 406
    expect(fitWithin(1080, 1920, 1280, 720)).toEqual({ width: 406, height: 720 });
    expect(fitWithin(720, 1280, 640, 640)).toEqual({ width: 360, height: 640 });
  });

  it('works with only max_width or only max_height', () => {
    expect(fitWithin(1920, 1080, 1000)).toEqual({ width: 1000, height: 562 }); // 562.5 → 562
    expect(fitWithin(1920, 1080, undefined, 480)).toEqual({ width: 854, height: 480 }); // 853.33 → 854
    expect(fitWithin(1080, 1920, 720)).toEqual({ width: 720, height: 1280 });
  });

  it('never upscales: a smaller input keeps its size', () => {
    expect(fitWithin(640, 360, 1280, 720)).toEqual({ width: 640, height: 360 });
    expect(fitWithin(640, 360, 4000)).toEqual({ width: 640, height: 360 });
    expect(fitWithin(640, 360)).toEqual({ width: 640, height: 360 });
  });

  it('keeps a size exactly at the bounds', () => {
    expect(fitWithin(1280, 720, 1280, 720)).toEqual({ width: 1280, height: 720 });
  });

  it('rounds odd results to even, never past the bound', () => {
    expect(fitWithin(321, 241)).toEqual({ width: 320, height: 240 });
    expect(fitWithin(1920, 1080, 1279)).toEqual({ width: 1278, height: 720 }); // 719.4 → 720, 1279 → 1278
    expect(fitWithin(1000, 1000, 333, 333)).toEqual({ width: 332, height: 332 });
    expect(fitWithin(1001, 1001)).toEqual({ width: 1000, height: 1000 });
  });

  it('returns even sides of at least 2 for extreme aspect ratios', () => {
    expect(fitWithin(8192, 2, 100)).toEqual({ width: 100, height: 2 });
    expect(fitWithin(3, 3)).toEqual({ width: 2, height: 2 });
  });

  it('always returns even sides within the bounds and the input', () => {
    for (const [w, h, mw, mh] of [
      [1919, 1079, 1280, 720],
      [777, 333, 500, undefined],
      [333, 777, undefined, 501],
      [4096, 2160, 1921, 1081],
    ] as const) {
      const r = fitWithin(w, h, mw, mh);
      expect(r.width % 2).toBe(0);
      expect(r.height % 2).toBe(0);
      expect(r.width).toBeLessThanOrEqual(Math.min(w, mw ?? w));
      expect(r.height).toBeLessThanOrEqual(Math.min(h, mh ?? h));
      expect(Math.abs(r.width / r.height - w / h) / (w / h)).toBeLessThan(0.01);
    }
  });
});

describe('frameSize', () => {
  const video = { index: 0, codec: 'h264', width: 1920, height: 1080, fps: 30 };
  it('is the coded size without rotation', () => {
    expect(frameSize(video)).toEqual({ width: 1920, height: 1080 });
    expect(frameSize({ ...video, rotation: 180 })).toEqual({ width: 1920, height: 1080 });
  });

  it.each([90, -90, 270, -270])('swaps the sides for a %p° display rotation', (rotation) => {
    expect(frameSize({ ...video, rotation })).toEqual({ width: 1080, height: 1920 });
  });
});

describe('vp9Crf / opusKbps / evenSizeArgs', () => {
  it('maps x264 CRF 0–51 linearly onto VP9 0–63', () => {
    expect([0, 23, 28, 32, 51].map(vp9Crf)).toEqual([0, 28, 35, 40, 63]);
  });

  it('caps Opus at 256 kbps per channel (mono when unknown)', () => {
    expect(opusKbps(128, 2)).toBe(128);
    expect(opusKbps(640, 2)).toBe(512);
    expect(opusKbps(320, 1)).toBe(256);
    expect(opusKbps(320, null)).toBe(256);
    expect(opusKbps(640, 6)).toBe(640);
  });

  it('rounds odd sizes down to even, and leaves even ones alone', () => {
    const v = { index: 0, codec: 'h264', width: 321, height: 240, fps: 25 };
    expect(evenSizeArgs(v)).toEqual(['-vf', EVEN_SIZE_FILTER]);
    expect(evenSizeArgs({ ...v, width: 320, height: 241 })).toEqual(['-vf', 'scale=trunc(iw/2)*2:trunc(ih/2)*2']);
    expect(evenSizeArgs({ ...v, width: 320 })).toEqual([]);
  });
});

describe('buildCompress', () => {
  it('medium preset to MP4: x264 medium CRF 28, AAC 128k, faststart, no scaling', () => {
    expect(singleRun(buildCompress(opts(), mediaInfo(), ctx), OUTPUT.mp4, 10)).toEqual(
      argv(
        '-i /job/input.mp4 -map 0:0 -c:v libx264 -preset medium -crf 28 -pix_fmt yuv420p -map 0:1 -c:a aac -b:a 128k -sn -dn -movflags +faststart /job/out/output.mp4',
      ),
    );
  });

  it('spec example: low preset within 1280x720 scales 1920x1080 down', () => {
    const plan = buildCompress(opts({ preset: 'low', max_width: 1280, max_height: 720 }), mediaInfo(), ctx);
    expect(plan.runs[0]).toEqual(
      argv(
        '-i /job/input.mp4 -map 0:0 -vf scale=1280:720 -c:v libx264 -preset veryfast -crf 32 -pix_fmt yuv420p -map 0:1 -c:a aac -b:a 96k -sn -dn -movflags +faststart /job/out/output.mp4',
      ),
    );
  });

  it.each([
    ['low', 'veryfast', '32', '96k'],
    ['medium', 'medium', '28', '128k'],
    ['high', 'slow', '23', '192k'],
    ['custom', 'medium', '23', '128k'],
  ] as const)('preset %s → x264 %s, CRF %s, audio %s', (preset, x264Preset, crf, audio) => {
    const args = buildCompress(opts({ preset }), mediaInfo(), ctx).runs[0]!;
    expect(args.slice(4, 12)).toEqual(['-c:v', 'libx264', '-preset', x264Preset, '-crf', crf, '-pix_fmt', 'yuv420p']);
    expect(args[args.indexOf('-b:a') + 1]).toBe(audio);
    expect(COMPRESS_PRESETS[preset].x264Preset).toBe(x264Preset);
  });

  it('lets an explicit crf and audio bitrate override the preset', () => {
    const args = buildCompress(opts({ preset: 'low', crf: 18, audio_bitrate_kbps: 256 }), mediaInfo(), ctx).runs[0]!;
    expect(args).toEqual(
      argv(
        '-i /job/input.mp4 -map 0:0 -c:v libx264 -preset veryfast -crf 18 -pix_fmt yuv420p -map 0:1 -c:a aac -b:a 256k -sn -dn -movflags +faststart /job/out/output.mp4',
      ),
    );
  });

  it('targets video_bitrate_kbps alone as the bitrate (no CRF)', () => {
    const args = buildCompress(opts({ preset: 'custom', video_bitrate_kbps: 1500 }), mediaInfo(), ctx).runs[0]!;
    expect(args.slice(4, 12)).toEqual(['-c:v', 'libx264', '-preset', 'medium', '-b:v', '1500k', '-pix_fmt', 'yuv420p']);
    expect(args).not.toContain('-crf');
  });

  it('caps the CRF encode at video_bitrate_kbps when both are given', () => {
    const args = buildCompress(opts({ preset: 'high', crf: 20, video_bitrate_kbps: 800 }), mediaInfo(), ctx).runs[0]!;
    expect(args.slice(4, 16)).toEqual(argv('-c:v libx264 -preset slow -crf 20 -maxrate 800k -bufsize 1600k -pix_fmt yuv420p'));
  });

  it('writes MKV without faststart', () => {
    const plan = buildCompress(opts({ target_format: 'mkv' }), mediaInfo(), ctx);
    expect(plan.runs[0]!.slice(-3)).toEqual(['-sn', '-dn', '/job/out/output.mkv']);
    expect(plan.runs[0]).not.toContain('-movflags');
    expect(plan.outputs).toEqual([OUTPUT.mkv]);
  });

  it('WebM: VP9 constant quality (-b:v 0, CRF mapped to 0–63) and Opus', () => {
    expect(singleRun(buildCompress(opts({ target_format: 'webm' }), mediaInfo(), ctx), OUTPUT.webm)).toEqual([
      ...argv('-i /job/input.mp4 -map 0:0 -c:v libvpx-vp9 -b:v 0 -crf 35'),
      ...VP9_SPEED,
      ...argv(
        '-map 0:1 -af aformat=channel_layouts=mono|stereo|3.0|quad|5.0|5.1|6.1|7.1 -c:a libopus -b:a 128k -sn -dn /job/out/output.webm',
      ),
    ]);
  });

  it('WebM: a bitrate alone is VP9 VBR; with a CRF it is constrained quality', () => {
    const vbr = buildCompress(opts({ target_format: 'webm', video_bitrate_kbps: 500 }), mediaInfo(), ctx).runs[0]!;
    expect(vbr.slice(4, 8 + VP9_SPEED.length)).toEqual(['-c:v', 'libvpx-vp9', '-b:v', '500k', ...VP9_SPEED]);
    const cq = buildCompress(opts({ target_format: 'webm', crf: 40, video_bitrate_kbps: 300 }), mediaInfo(), ctx).runs[0]!;
    expect(cq.slice(4, 10 + VP9_SPEED.length)).toEqual(['-c:v', 'libvpx-vp9', '-b:v', '300k', '-crf', '49', ...VP9_SPEED]);
  });

  it('WebM: caps the Opus bitrate for the channel count', () => {
    const info = mediaInfo({ audio: { index: 1, codec: 'aac', sampleRate: 44100, channels: 1 } });
    const args = buildCompress(opts({ target_format: 'webm', audio_bitrate_kbps: 640 }), info, ctx).runs[0]!;
    expect(args.slice(args.indexOf('-c:a'), args.indexOf('-c:a') + 4)).toEqual(['-c:a', 'libopus', '-b:a', '256k']);
  });

  it('scales to the max_width alone, keeping the aspect ratio', () => {
    const args = buildCompress(opts({ max_width: 640 }), mediaInfo(), ctx).runs[0]!;
    expect(args.slice(2, 6)).toEqual(['-map', '0:0', '-vf', 'scale=640:360']);
  });

  it('does not scale when the input already fits (never upscales)', () => {
    const info = mediaInfo({ video: { index: 0, codec: 'h264', width: 640, height: 360, fps: 25 } });
    expect(buildCompress(opts({ max_width: 1920, max_height: 1080 }), info, ctx).runs[0]).not.toContain('-vf');
  });

  it('scales an odd-sized input to even even without bounds', () => {
    const info = mediaInfo({ video: { index: 0, codec: 'ffv1', width: 321, height: 241, fps: 25 } });
    const args = buildCompress(opts(), info, ctx).runs[0]!;
    expect(args.slice(2, 6)).toEqual(['-map', '0:0', '-vf', 'scale=320:240']);
  });

  it('fits a rotated input by its displayed size when the probe reports the rotation', () => {
    const phone = { index: 0, codec: 'h264', width: 1920, height: 1080, fps: 30, rotation: -90 };
    const info = mediaInfo({ video: phone });
    const args = buildCompress(opts({ max_width: 720, max_height: 720 }), info, ctx).runs[0]!;
    expect(args[args.indexOf('-vf') + 1]).toBe('scale=406:720');
  });

  it('drops audio with -an when the input has none', () => {
    const plan = buildCompress(opts(), mediaInfo({ audio: null }), ctx);
    expect(plan.runs[0]).toEqual(
      argv(
        '-i /job/input.mp4 -map 0:0 -c:v libx264 -preset medium -crf 28 -pix_fmt yuv420p -an -sn -dn -movflags +faststart /job/out/output.mp4',
      ),
    );
  });

  it('maps the probed stream indexes and adds -threads N', () => {
    const info = mediaInfo({
      video: { index: 2, codec: 'h264', width: 1280, height: 720, fps: 30 },
      audio: { index: 5, codec: 'aac', sampleRate: 48000, channels: 2 },
    });
    const args = buildCompress(opts(), info, { ...ctx, threads: 2 }).runs[0]!;
    expect(args.filter((_, i) => args[i - 1] === '-map')).toEqual(['0:2', '0:5']);
    expect(args.slice(-7)).toEqual(['-sn', '-dn', '-threads', '2', '-movflags', '+faststart', '/job/out/output.mp4']);
  });

  it('has expectedSeconds = duration (null when unknown)', () => {
    expect(buildCompress(opts(), mediaInfo({ duration: 42.5 }), ctx).expectedSeconds).toBe(42.5);
    expect(buildCompress(opts(), mediaInfo({ duration: null }), ctx).expectedSeconds).toBeNull();
  });

  it('fails with JOB_FAILED when the input has no video', () => {
    expect(jobFailure(() => buildCompress(opts(), mediaInfo({ formatName: 'mp3', video: null }), ctx))).toEqual({
      message: 'Input has no video stream',
      details: 'ffprobe found no video in the mp3 input',
    });
  });
});

describe('buildCompress with target_size_mb', () => {
  const multi = { ...ctx, workDir: '/job' };

  it('encodes in two passes at the bitrate the size allows, the log in the job dir', () => {
    const plan = buildCompress(opts({ preset: 'low', target_size_mb: 8 }), mediaInfo({ duration: 60 }), multi);
    const pass = (n: string) => ['-pass', n, '-passlogfile', '/job/passlog', '-pix_fmt', 'yuv420p', '-fps_mode', 'vfr'];
    const video = ['-i', '/job/input.mp4', '-map', '0:0', '-vf', 'scale=1920:1080'].slice(0, 4);
    expect(plan.runs).toEqual([
      [
        ...video,
        ...argv('-c:v libx264 -preset veryfast -b:v 909k -x264-params ratetol=0.2'),
        ...pass('1'),
        ...argv('-an -sn -dn -f null /dev/null'),
      ],
      [
        ...video,
        ...['-c:v', 'libx264', '-preset', 'veryfast', '-b:v', '909k', '-x264-params', 'ratetol=0.2', ...pass('2')],
        ...['-map', '0:1', '-c:a', 'aac', '-b:a', '96k', '-sn', '-dn', '-movflags', '+faststart', '/job/out/output.mp4'],
      ],
    ]);
    expect(plan.outputs[0]).toMatchObject({ filename: 'output.mp4', maxBytes: 8_000_000 });
  });

  it('shrinks first, so the floor and the bitrate are for the output size; webm is VP9/Opus', () => {
    const plan = buildCompress(opts({ target_size_mb: 1, max_width: 640, target_format: 'webm' }), mediaInfo(), multi);
    expect(plan.runs).toHaveLength(2);
    expect(plan.runs[1]).toEqual(expect.arrayContaining(['-vf', 'scale=640:360', '-c:v', 'libvpx-vp9', '-c:a', 'libopus']));
  });

  it.each(['mp4', 'mkv', 'webm'] as const)(
    'gives both passes to %s the same frame-rate mode (the null muxer and the output would pick different ones)',
    (target_format) => {
      const plan = buildCompress(opts({ target_size_mb: 1, target_format }), mediaInfo(), multi);
      for (const run of plan.runs) expect(run.join(' ')).toContain(' -fps_mode vfr ');
    },
  );

  it('needs a duration', () => {
    expect(thrownBy(() => buildCompress(opts({ target_size_mb: 1 }), mediaInfo({ duration: null }), multi)).message).toBe(
      'Input duration is unknown',
    );
  });
});
