import { ErrorCode, type ThumbnailOptions } from '@media-foundry/shared';
import { END_MARGIN_FRAMES, fmt } from '../plan.js';
import { buildThumbnail, evenlySpacedTimestamps, scaleFilter } from './thumbnail.js';
import { argv, buildContext, h264Video, jobFailure, mediaInfoFixture, thrownBy } from './test-fixtures.js';

const ctx = buildContext();

/** A probed 12-second 1920x1080 MP4 with video at index 0 and audio at index 1; override any part. */
const mediaInfo = mediaInfoFixture({ duration: 12, sizeBytes: 5_000_000, bitrate: 3_333_333, video: h264Video('1920x1080', 30) });

function opts(o: Partial<ThumbnailOptions> = {}): ThumbnailOptions {
  return { format: 'png', ...o };
}

describe('evenlySpacedTimestamps', () => {
  it('takes the middles of equal slices', () => {
    expect(evenlySpacedTimestamps(10, 1)).toEqual([5]);
    expect(evenlySpacedTimestamps(12, 3)).toEqual([2, 6, 10]);
    expect(evenlySpacedTimestamps(8, 4)).toEqual([1, 3, 5, 7]);
  });
});

describe('scaleFilter', () => {
  it('keeps the aspect ratio with -2 for the missing side', () => {
    expect(scaleFilter(320, undefined)).toBe('scale=320:-2');
    expect(scaleFilter(undefined, 240)).toBe('scale=-2:240');
    expect(scaleFilter(320, 240)).toBe('scale=320:240');
    expect(scaleFilter(undefined, undefined)).toBeNull();
  });
});

describe('buildThumbnail', () => {
  it('builds one PNG at a timestamp, seeking on the input (-ss before -i)', () => {
    const plan = buildThumbnail(opts({ timestamp: 2.5 }), mediaInfo(), ctx);
    expect(plan.runs).toEqual([
      ['-ss', '2.5', '-i', '/job/input.mp4', '-map', '0:0', '-frames:v', '1', '-update', '1', '/job/out/thumbnail.png'],
    ]);
    expect(plan.outputs).toEqual([{ filename: 'thumbnail.png', contentType: 'image/png', format: 'png' }]);
    expect(plan.expectedSeconds).toBeNull();
    const args = plan.runs[0]!;
    expect(args.indexOf('-ss')).toBeLessThan(args.indexOf('-i'));
  });

  it('takes the middle of the input when neither timestamp nor count is given', () => {
    expect(buildThumbnail(opts(), mediaInfo(), ctx).runs).toEqual([
      ['-ss', '6', '-i', '/job/input.mp4', '-map', '0:0', '-frames:v', '1', '-update', '1', '/job/out/thumbnail.png'],
    ]);
  });

  it('makes count=3 runs at d/6, d/2, 5d/6 named thumbnail_001..003', () => {
    const plan = buildThumbnail(opts({ count: 3 }), mediaInfo({ duration: 10 }), ctx);
    expect(plan.runs).toEqual(
      [
        ['1.666667', 'thumbnail_001.png'],
        ['5', 'thumbnail_002.png'],
        ['8.333333', 'thumbnail_003.png'],
      ].map(([ss, name]) => ['-ss', ss, '-i', '/job/input.mp4', '-map', '0:0', '-frames:v', '1', '-update', '1', `/job/out/${name}`]),
    );
    expect(plan.outputs).toEqual([
      { filename: 'thumbnail_001.png', contentType: 'image/png', format: 'png' },
      { filename: 'thumbnail_002.png', contentType: 'image/png', format: 'png' },
      { filename: 'thumbnail_003.png', contentType: 'image/png', format: 'png' },
    ]);
    for (const run of plan.runs) expect(run.indexOf('-ss')).toBeLessThan(run.indexOf('-i'));
  });

  it('names a single counted thumbnail thumbnail.<ext>', () => {
    expect(buildThumbnail(opts({ count: 1 }), mediaInfo(), ctx).outputs.map((o) => o.filename)).toEqual(['thumbnail.png']);
  });

  it(`takes a picture ${END_MARGIN_FRAMES} frames from the end for an evenly spaced timestamp after it, as for a given one`, () => {
    // 6 s at 5 fps: frames start at 0, 0.2 … 5.8; the 20th slice's middle, 5.85, is inside the last frame
    const plan = buildThumbnail(opts({ count: 20 }), mediaInfo({ duration: 6, video: { ...mediaInfo().video!, fps: 5 } }), ctx);
    const seeks = plan.runs.map((args) => Number(args[args.indexOf('-ss') + 1]));
    expect(seeks[19]).toBeCloseTo(6 - END_MARGIN_FRAMES / 5, 6);
    expect(seeks.slice(0, 19)).toEqual(
      evenlySpacedTimestamps(6, 20)
        .slice(0, 19)
        .map((t) => Math.round(t * 1e6) / 1e6),
    );
  });

  it('numbers 20 thumbnails with three digits', () => {
    const names = buildThumbnail(opts({ count: 20, format: 'jpg' }), mediaInfo(), ctx).outputs.map((o) => o.filename);
    expect(names).toHaveLength(20);
    expect(names[0]).toBe('thumbnail_001.jpg');
    expect(names[19]).toBe('thumbnail_020.jpg');
  });

  it('encodes JPEG with -q:v 2 and reports image/jpeg for both jpeg and jpg', () => {
    const jpeg = buildThumbnail(opts({ timestamp: 1, format: 'jpeg' }), mediaInfo(), ctx);
    expect(jpeg.runs).toEqual([
      ['-ss', '1', '-i', '/job/input.mp4', '-map', '0:0', '-frames:v', '1', '-q:v', '2', '-update', '1', '/job/out/thumbnail.jpeg'],
    ]);
    expect(jpeg.outputs).toEqual([{ filename: 'thumbnail.jpeg', contentType: 'image/jpeg', format: 'jpeg' }]);
    const jpg = buildThumbnail(opts({ timestamp: 1, format: 'jpg' }), mediaInfo(), ctx);
    expect(jpg.outputs).toEqual([{ filename: 'thumbnail.jpg', contentType: 'image/jpeg', format: 'jpeg' }]);
  });

  it('scales to the width keeping the aspect ratio (scale=W:-2)', () => {
    expect(buildThumbnail(opts({ timestamp: 3, width: 320 }), mediaInfo(), ctx).runs).toEqual([
      argv('-ss 3 -i /job/input.mp4 -map 0:0 -frames:v 1 -vf scale=320:-2 -update 1 /job/out/thumbnail.png'),
    ]);
  });

  it('scales to both sides when both are given', () => {
    const args = buildThumbnail(opts({ timestamp: 3, width: 320, height: 200 }), mediaInfo(), ctx).runs[0]!;
    expect(args[args.indexOf('-vf') + 1]).toBe('scale=320:200');
  });

  it('adds -threads N when threads > 0', () => {
    expect(buildThumbnail(opts({ timestamp: 0 }), mediaInfo(), { ...ctx, threads: 4 }).runs).toEqual([
      ['-ss', '0', '-i', '/job/input.mp4', '-map', '0:0', '-frames:v', '1', '-threads', '4', '-update', '1', '/job/out/thumbnail.png'],
    ]);
  });

  it('maps the probed video stream index', () => {
    const info = mediaInfo({ video: { index: 3, codec: 'vp9', width: 640, height: 360, fps: 25 } });
    const args = buildThumbnail(opts({ timestamp: 1 }), info, ctx).runs[0]!;
    expect(args[args.indexOf('-map') + 1]).toBe('0:3');
  });

  it.each([12, 12.5])('fails with JOB_FAILED naming the duration when timestamp %p >= duration', (timestamp) => {
    const e = thrownBy(() => buildThumbnail(opts({ timestamp }), mediaInfo({ duration: 12 }), ctx));
    expect(e.code).toBe(ErrorCode.JOB_FAILED);
    expect(e.message).toBe('Thumbnail timestamp is past the end of the input');
    expect(e.details).toBe(`timestamp ${timestamp}s, input duration 12s`);
  });

  describe('a video ending before the file (the audio runs on to 12 s)', () => {
    const info = mediaInfo({ video: { ...h264Video('1920x1080', 25), end: 5 } });
    const seeks = (o: Partial<ThumbnailOptions>) => buildThumbnail(opts(o), info, ctx).runs.map((args) => args[args.indexOf('-ss') + 1]);

    it('takes a timestamp after the picture stops from its last frames', () => {
      expect(seeks({ timestamp: 9 })).toEqual([fmt(5 - END_MARGIN_FRAMES / 25)]);
      expect(seeks({ timestamp: 4 })).toEqual(['4']);
    });

    it('spaces counted thumbnails over the picture, not the audio after it', () => {
      expect(seeks({ count: 2 })).toEqual(['1.25', '3.75']);
    });

    it('still refuses a timestamp past the file’s end', () => {
      expect(thrownBy(() => buildThumbnail(opts({ timestamp: 12 }), info, ctx)).message).toBe(
        'Thumbnail timestamp is past the end of the input',
      );
    });
  });

  it('decodes an MPEG-TS input up to the timestamp (its demuxer seeks past it)', () => {
    expect(buildThumbnail(opts({ timestamp: 2 }), mediaInfo({ formatName: 'mpegts' }), ctx).runs[0]!.slice(0, 6)).toEqual(
      argv('-i /job/input.mp4 -ss 2 -map 0:0'),
    );
  });

  it('allows any timestamp when the duration is unknown', () => {
    expect(buildThumbnail(opts({ timestamp: 99 }), mediaInfo({ duration: null }), ctx).runs[0]!.slice(0, 2)).toEqual(['-ss', '99']);
  });

  it('fails with JOB_FAILED when evenly spaced thumbnails need an unknown duration', () => {
    const e = thrownBy(() => buildThumbnail(opts({ count: 3 }), mediaInfo({ duration: null }), ctx));
    expect(e.code).toBe(ErrorCode.JOB_FAILED);
    expect(e.message).toBe('Input duration is unknown');
  });

  it('fails with JOB_FAILED when the input has no video', () => {
    const e = thrownBy(() => buildThumbnail(opts({ timestamp: 1 }), mediaInfo({ formatName: 'mp3', video: null }), ctx));
    expect(e.code).toBe(ErrorCode.JOB_FAILED);
    expect(e.message).toBe('Input has no video stream');
    expect(e.details).toBe('ffprobe found no video in the mp3 input');
  });
});

describe('buildThumbnail: a size that leaves no picture', () => {
  it('refuses a side under 2 pixels in words, before ffmpeg would fail in its own', () => {
    const banner = mediaInfo({ video: h264Video('1280x100', 30) });
    expect(jobFailure(() => buildThumbnail(opts({ timestamp: 1, width: 2 }), banner, ctx))).toEqual({
      message: 'Scaling would leave no picture',
      details: 'width 2: scaling the 1280x100 picture gives 2x0',
    });
    expect(
      jobFailure(() => buildThumbnail(opts({ timestamp: 1, height: 2 }), mediaInfo({ video: h264Video('100x1280', 30) }), ctx)).details,
    ).toBe('height 2: scaling the 100x1280 picture gives 0x2');
    // both sides given: what was asked
    expect(() => buildThumbnail(opts({ timestamp: 1, width: 2, height: 2 }), banner, ctx)).not.toThrow();
  });
});
