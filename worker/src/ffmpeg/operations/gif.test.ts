import type { GifOptions } from '@media-foundry/shared';
import { END_MARGIN_FRAMES, fmt } from '../plan.js';
import { buildGif, GIF_DEFAULT_MAX_WIDTH, gifFilter } from './gif.js';
import { argv, buildContext, h264Video, jobFailure, mediaInfoFixture, OUTPUT, singleRun } from './test-fixtures.js';

const ctx = buildContext();

/** A probed 20-second 1920x1080 MP4; override any part. */
const mediaInfo = mediaInfoFixture({ duration: 20, sizeBytes: 10_000_000, bitrate: 4_000_000, video: h264Video('1920x1080', 30) });

function opts(o: Partial<GifOptions> = {}): GifOptions {
  return { start_time: 0, duration: 5, fps: 10, optimize: true, ...o };
}

const PALETTE = 'split[a][b];[a]palettegen=stats_mode=diff[p];[b][p]paletteuse=dither=bayer:bayer_scale=5';

describe('gifFilter', () => {
  it('is fps then lanczos scale keeping the aspect ratio', () => {
    expect(gifFilter(0, 12, 320, false)).toBe('fps=12,scale=320:-1:flags=lanczos');
  });

  it('adds the two-pass palette on the probed stream when optimizing', () => {
    expect(gifFilter(2, 10, 480, true)).toBe(`[0:2]fps=10,scale=480:-1:flags=lanczos,${PALETTE}`);
  });
});

describe('buildGif', () => {
  it('defaults: 5 s from 0 at 10 fps, 480 wide, optimized palette, looping', () => {
    expect(singleRun(buildGif(opts(), mediaInfo(), ctx), OUTPUT.gif, 5)).toEqual([
      ...argv('-ss 0 -t 5 -i /job/input.mp4 -filter_complex'),
      `[0:0]fps=10,scale=480:-1:flags=lanczos,${PALETTE}`,
      ...argv('-an -sn -dn -loop 0 /job/out/output.gif'),
    ]);
  });

  it('spec example: 10 s from 5 s at 15 fps, 480 wide', () => {
    const args = buildGif(opts({ start_time: 5, duration: 10, fps: 15, width: 480 }), mediaInfo(), ctx).runs[0]!;
    expect(args.slice(0, 8)).toEqual([
      ...argv('-ss 5 -t 10 -i /job/input.mp4 -filter_complex'),
      `[0:0]fps=15,scale=480:-1:flags=lanczos,${PALETTE}`,
    ]);
    expect(args.indexOf('-ss')).toBeLessThan(args.indexOf('-i'));
    // the input ends with the clip: the palette sees only the frames the GIF shows
    expect(args.indexOf('-t')).toBeLessThan(args.indexOf('-i'));
  });

  it('without optimize: a plain -vf on the mapped video stream', () => {
    const plan = buildGif(opts({ optimize: false, width: 320, fps: 8, start_time: 2.5, duration: 3 }), mediaInfo(), ctx);
    expect(plan.runs).toEqual([
      argv('-ss 2.5 -t 3 -i /job/input.mp4 -map 0:0 -vf fps=8,scale=320:-1:flags=lanczos -an -sn -dn -loop 0 /job/out/output.gif'),
    ]);
  });

  it(`keeps a narrower input's width, and caps a wider one at ${GIF_DEFAULT_MAX_WIDTH}`, () => {
    const small = mediaInfo({ video: { index: 0, codec: 'h264', width: 320, height: 240, fps: 25 } });
    expect(buildGif(opts({ optimize: false }), small, ctx).runs[0]).toContain('fps=10,scale=320:-1:flags=lanczos');
    expect(buildGif(opts({ optimize: false }), mediaInfo(), ctx).runs[0]).toContain('fps=10,scale=480:-1:flags=lanczos');
  });

  it('uses an explicit width even above the input width', () => {
    const small = mediaInfo({ video: { index: 0, codec: 'h264', width: 320, height: 240, fps: 25 } });
    expect(buildGif(opts({ optimize: false, width: 640 }), small, ctx).runs[0]).toContain('fps=10,scale=640:-1:flags=lanczos');
  });

  it('uses the probed video stream index', () => {
    const info = mediaInfo({ video: { index: 3, codec: 'h264', width: 640, height: 360, fps: 25 } });
    expect(buildGif(opts(), info, ctx).runs[0]).toContain(`[0:3]fps=10,scale=480:-1:flags=lanczos,${PALETTE}`);
    expect(buildGif(opts({ optimize: false }), info, ctx).runs[0]!.slice(6, 8)).toEqual(['-map', '0:3']);
  });

  it('adds -threads N before -loop', () => {
    expect(buildGif(opts(), mediaInfo(), { ...ctx, threads: 2 }).runs[0]!.slice(-7)).toEqual(
      argv('-sn -dn -threads 2 -loop 0 /job/out/output.gif'),
    );
  });

  it('has expectedSeconds = min(duration, what is left of the input)', () => {
    expect(buildGif(opts({ start_time: 18, duration: 5 }), mediaInfo(), ctx).expectedSeconds).toBe(2);
    expect(buildGif(opts({ start_time: 2, duration: 5 }), mediaInfo(), ctx).expectedSeconds).toBe(5);
    expect(buildGif(opts({ start_time: 40, duration: 7 }), mediaInfo({ duration: null }), ctx).expectedSeconds).toBe(7);
  });

  it.each([20, 25])('fails with JOB_FAILED when start_time %p >= the input duration', (start_time) => {
    expect(jobFailure(() => buildGif(opts({ start_time }), mediaInfo(), ctx))).toEqual({
      message: 'GIF start is past the end of the input',
      details: `start_time ${start_time}s, input duration 20s`,
    });
  });

  describe('a video ending before the file (the audio runs on to 20 s)', () => {
    const info = mediaInfo({ video: { ...h264Video('1920x1080', 25), end: 8 } });

    it.each([8, 12])('fails with JOB_FAILED naming the video’s end when start_time %p is at or past it', (start_time) => {
      expect(jobFailure(() => buildGif(opts({ start_time }), info, ctx))).toEqual({
        message: 'GIF start is past the end of the video',
        details: `start_time ${start_time}s, the video ends at 8s`,
      });
    });

    it('moves a start in the last frames back to a picture -ss finds, and keeps the short clip’s frame', () => {
      const args = buildGif(opts({ start_time: 7.99, duration: 5, optimize: false }), info, ctx).runs[0]!;
      expect(args.slice(0, 4)).toEqual(['-ss', fmt(8 - END_MARGIN_FRAMES / 25), '-t', '5']);
      expect(args).toContain('fps=10:eof_action=pass,scale=480:-1:flags=lanczos');
    });

    it('leaves a start before the last frames where it is', () => {
      const args = buildGif(opts({ start_time: 7.5, optimize: false }), info, ctx).runs[0]!;
      expect(args.slice(0, 2)).toEqual(['-ss', '7.5']);
      expect(args).toContain('fps=10,scale=480:-1:flags=lanczos');
      expect(buildGif(opts({ start_time: 7.5 }), info, ctx).expectedSeconds).toBe(0.5);
    });
  });

  it.each([
    [0.15, 10, true],
    [0.2, 10, false],
    [1.5, 1, true],
    [2, 1, false],
  ])('keeps the last frame of a clip of %p s at %p fps (under two frames: %p)', (duration, fps, short) => {
    const [args] = buildGif(opts({ duration, fps, optimize: false }), mediaInfo(), ctx).runs;
    expect(args![args!.indexOf('-vf') + 1]).toMatch(short ? `fps=${fps}:eof_action=pass,` : new RegExp(`^fps=${fps},`));
  });

  it('reads an MPEG-TS input from before the clip, dropping what precedes it (its demuxer seeks past the time)', () => {
    const args = buildGif(opts({ start_time: 18, duration: 2, optimize: false }), mediaInfo({ formatName: 'mpegts' }), ctx).runs[0]!;
    expect(args.slice(0, 8)).toEqual(argv('-ss 3 -t 17 -i /job/input.mp4 -ss 15'));
  });

  it('fails with JOB_FAILED when the input has no video', () => {
    expect(jobFailure(() => buildGif(opts(), mediaInfo({ formatName: 'mp3', video: null }), ctx))).toEqual({
      message: 'Input has no video stream',
      details: 'ffprobe found no video in the mp3 input',
    });
  });
});

describe('buildGif: a picture too wide for the width asked', () => {
  it('refuses a GIF under a pixel high in words, before ffmpeg would fail in its own', () => {
    const banner = mediaInfo({ video: h264Video('2000x100', 30) });
    expect(jobFailure(() => buildGif(opts({ width: 2 }), banner, ctx))).toEqual({
      message: 'Scaling would leave no picture',
      details: 'width 2: scaling the 2000x100 picture gives 2x0',
    });
    // a pixel high is a GIF
    expect(() => buildGif(opts({ width: 10 }), banner, ctx)).not.toThrow();
  });
});
