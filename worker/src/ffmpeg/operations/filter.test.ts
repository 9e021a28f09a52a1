import { ErrorCode, type FilterStep } from '@media-foundry/shared';
import { audioChain, buildFilter, isAudioStep, LOUDNORM_FILTER, rotatedSize, videoChain, videoStepFilters } from './filter.js';
import { argv, buildContext, jobFailure, mediaInfoFixture, OUTPUT, singleRun, thrownBy } from './test-fixtures.js';

const ctx = buildContext();

/** A probed 10-second 1280x720 H.264/AAC (48 kHz stereo) MP4; override any part. */
const mediaInfo = mediaInfoFixture();

const mp3Only = mediaInfo({ formatName: 'mp3', video: null, audio: { index: 0, codec: 'mp3', sampleRate: 44100, channels: 2 } });

const HD = { width: 1280, height: 720 };
const EVEN = 'scale=trunc(iw/2)*2:trunc(ih/2)*2';
const H264 = ['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '23', '-pix_fmt', 'yuv420p'];
const AAC = ['-c:a', 'aac', '-b:a', '128k'];
const TAIL = ['-sn', '-dn', '-movflags', '+faststart', '/job/out/output.mp4'];

describe('rotatedSize', () => {
  // each value checked against ffmpeg 5.1's rotate filter (ow=rotw(a):oh=roth(a))
  it.each([
    [HD, 45, { width: 1414, height: 1414 }],
    [HD, 30, { width: 1469, height: 1264 }],
    [HD, -30, { width: 1469, height: 1264 }],
    [{ width: 640, height: 360 }, 10, { width: 693, height: 466 }],
    [{ width: 1920, height: 1080 }, 135, { width: 2121, height: 2121 }],
    [{ width: 321, height: 241 }, 33.3, { width: 401, height: 378 }],
  ])('turns %p by %p° into the bounding box %p', (size, angle, box) => {
    expect(rotatedSize(size, angle)).toEqual(box);
  });
});

describe('videoStepFilters', () => {
  it('scale with both sides stretches to that size', () => {
    expect(videoStepFilters({ type: 'scale', width: 640, height: 480 }, HD, 0)).toEqual({
      filters: ['scale=640:480'],
      size: { width: 640, height: 480 },
    });
  });

  it('scale with one side keeps the aspect ratio (-2) and computes the other, even, like ffmpeg', () => {
    expect(videoStepFilters({ type: 'scale', width: 640 }, HD, 0)).toEqual({
      filters: ['scale=640:-2'],
      size: { width: 640, height: 360 },
    });
    expect(videoStepFilters({ type: 'scale', height: 480 }, HD, 0)).toEqual({
      filters: ['scale=-2:480'],
      size: { width: 854, height: 480 },
    });
    // 500 * 720 / 1280 = 281.25 → 282 (nearest even)
    expect(videoStepFilters({ type: 'scale', width: 500 }, HD, 0).size).toEqual({ width: 500, height: 282 });
    // 301 * 1469 / 1264 = 349.8 → 350
    expect(videoStepFilters({ type: 'scale', height: 301 }, { width: 1469, height: 1264 }, 0).size).toEqual({ width: 350, height: 301 });
  });

  it('fails with JOB_FAILED when one-sided scaling leaves no picture', () => {
    expect(jobFailure(() => videoStepFilters({ type: 'scale', width: 2 }, { width: 8192, height: 2 }, 3))).toEqual({
      message: 'Scaling would leave no picture',
      details: 'filters[3]: scaling the 8192x2 frame it receives gives 2x0',
    });
  });

  it.each([
    [90, ['transpose=1'], { width: 720, height: 1280 }],
    [-270, ['transpose=1'], { width: 720, height: 1280 }],
    [270, ['transpose=2'], { width: 720, height: 1280 }],
    [-90, ['transpose=2'], { width: 720, height: 1280 }],
    [180, ['hflip', 'vflip'], HD],
    [-180, ['hflip', 'vflip'], HD],
    [0, [], HD],
    [360, [], HD],
    [-360, [], HD],
  ])('rotate %p° → %p, %p', (angle, filters, size) => {
    expect(videoStepFilters({ type: 'rotate', angle }, HD, 0)).toEqual({ filters, size });
  });

  it('rotates other angles with the rotate filter in a black bounding box', () => {
    expect(videoStepFilters({ type: 'rotate', angle: 45 }, HD, 0)).toEqual({
      filters: ['rotate=45*PI/180:ow=rotw(45*PI/180):oh=roth(45*PI/180):c=black'],
      size: { width: 1414, height: 1414 },
    });
    expect(videoStepFilters({ type: 'rotate', angle: -12.5 }, HD, 0).filters).toEqual([
      'rotate=-12.5*PI/180:ow=rotw(-12.5*PI/180):oh=roth(-12.5*PI/180):c=black',
    ]);
  });

  it('crops to width x height at x,y', () => {
    expect(videoStepFilters({ type: 'crop', width: 640, height: 360, x: 100, y: 50 }, HD, 0)).toEqual({
      filters: ['crop=640:360:100:50'],
      size: { width: 640, height: 360 },
    });
  });

  it('accepts a crop reaching exactly the frame edges', () => {
    expect(videoStepFilters({ type: 'crop', width: 280, height: 20, x: 1000, y: 700 }, HD, 0).size).toEqual({ width: 280, height: 20 });
    expect(videoStepFilters({ type: 'crop', width: 1280, height: 720, x: 0, y: 0 }, HD, 0).filters).toEqual(['crop=1280:720:0:0']);
  });

  it.each([
    [{ type: 'crop', width: 1281, height: 720, x: 0, y: 0 }, 'crop 1281x720 at (0,0)'],
    [{ type: 'crop', width: 640, height: 360, x: 641, y: 0 }, 'crop 640x360 at (641,0)'],
    [{ type: 'crop', width: 640, height: 360, x: 0, y: 361 }, 'crop 640x360 at (0,361)'],
  ] as const)('fails with JOB_FAILED naming the filter and sizes for %p', (step, what) => {
    expect(jobFailure(() => videoStepFilters(step, HD, 2))).toEqual({
      message: 'Crop area is outside the frame',
      details: `filters[2]: ${what} does not fit the 1280x720 frame it receives`,
    });
  });

  it('fps changes the rate, not the size', () => {
    expect(videoStepFilters({ type: 'fps', fps: 24 }, HD, 0)).toEqual({ filters: ['fps=24'], size: HD });
  });
});

describe('videoChain', () => {
  it('chains the video steps in order, skipping the audio ones', () => {
    const steps: FilterStep[] = [
      { type: 'scale', width: 1280, height: 720 },
      { type: 'volume', volume: 1.5 },
      { type: 'fps', fps: 30 },
    ];
    expect(videoChain(steps, { width: 1920, height: 1080 })).toEqual({ filters: ['scale=1280:720', 'fps=30'], size: HD });
  });

  it('tracks the size through scale, rotate and crop, then rounds odd sides to even', () => {
    const steps: FilterStep[] = [
      { type: 'scale', width: 500 },
      { type: 'rotate', angle: 90 },
      { type: 'crop', width: 201, height: 301, x: 10, y: 5 },
    ];
    expect(videoChain(steps, HD)).toEqual({
      filters: ['scale=500:-2', 'transpose=1', 'crop=201:301:10:5', EVEN],
      size: { width: 200, height: 300 },
    });
  });

  it('validates a crop against the size left by the earlier steps', () => {
    // after the quarter turn the frame is 720x1280: a 1000-wide crop no longer fits
    const steps: FilterStep[] = [
      { type: 'rotate', angle: 270 },
      { type: 'crop', width: 1000, height: 100, x: 0, y: 0 },
    ];
    const e = thrownBy(() => videoChain(steps, HD));
    expect(e.details).toBe('filters[1]: crop 1000x100 at (0,0) does not fit the 720x1280 frame it receives');
    // and one that fits only after it
    expect(videoChain([steps[0]!, { type: 'crop', width: 720, height: 100, x: 0, y: 1180 }], HD).size).toEqual({ width: 720, height: 100 });
  });

  it('names the index among all filters, audio ones included', () => {
    const steps: FilterStep[] = [{ type: 'normalize' }, { type: 'crop', width: 2000, height: 100, x: 0, y: 0 }];
    expect(thrownBy(() => videoChain(steps, HD)).details).toMatch(/^filters\[1\]: /);
  });

  it('adds the even rounding after an arbitrary rotation to an odd box', () => {
    const { filters, size } = videoChain([{ type: 'rotate', angle: 30 }], HD);
    expect(filters).toEqual(['rotate=30*PI/180:ow=rotw(30*PI/180):oh=roth(30*PI/180):c=black', EVEN]);
    expect(size).toEqual({ width: 1468, height: 1264 });
  });

  it('adds no even rounding when the tracked size is already even', () => {
    expect(videoChain([{ type: 'rotate', angle: 45 }], HD).filters).toHaveLength(1);
  });

  it('adds even rounding to an odd input that goes through a size-keeping step', () => {
    expect(videoChain([{ type: 'fps', fps: 10 }], { width: 321, height: 241 })).toEqual({
      filters: ['fps=10', EVEN],
      size: { width: 320, height: 240 },
    });
  });

  it('is empty when no step touches the video', () => {
    expect(
      videoChain(
        [
          { type: 'volume', volume: 2 },
          { type: 'rotate', angle: 0 },
        ],
        { width: 321, height: 241 },
      ),
    ).toEqual({
      filters: [],
      size: { width: 321, height: 241 },
    });
  });
});

describe('audioChain', () => {
  it('chains volume steps in order', () => {
    expect(
      audioChain(
        [
          { type: 'volume', volume: 1.5 },
          { type: 'fps', fps: 30 },
          { type: 'volume', volume: 0.1 + 0.2 },
        ],
        48000,
      ),
    ).toEqual(['volume=1.5', 'volume=0.3']);
  });

  it('normalizes with loudnorm and converts back to the input rate at the end', () => {
    expect(audioChain([{ type: 'normalize' }, { type: 'volume', volume: 0.8 }], 44100)).toEqual([
      'loudnorm=I=-16:TP=-1.5:LRA=11',
      'volume=0.8',
      'aformat=sample_rates=44100',
    ]);
    expect(LOUDNORM_FILTER).toBe('loudnorm=I=-16:TP=-1.5:LRA=11');
  });

  it('is empty without audio steps', () => {
    expect(audioChain([{ type: 'fps', fps: 30 }], 48000)).toEqual([]);
  });
});

describe('isAudioStep', () => {
  it('is true for volume and normalize only', () => {
    expect(isAudioStep({ type: 'volume', volume: 1 })).toBe(true);
    expect(isAudioStep({ type: 'normalize' })).toBe(true);
    expect(isAudioStep({ type: 'fps', fps: 1 })).toBe(false);
    expect(isAudioStep({ type: 'scale', width: 2 })).toBe(false);
  });
});

describe('buildFilter', () => {
  it('re-encodes audio no step changes when MP4 cannot hold it as it is: MP3 under 16 kHz', () => {
    const mp3At = (sampleRate: number) => mediaInfo({ audio: { index: 1, codec: 'mp3', sampleRate, channels: 1 } });
    const fps: FilterStep[] = [{ type: 'fps', fps: 10 }];
    expect(buildFilter({ filters: fps }, mp3At(11025), ctx).runs[0]).toEqual([
      ...argv('-i /job/input.mp4 -map 0:0 -vf fps=10'),
      ...H264,
      ...argv('-map 0:1'),
      ...AAC,
      ...TAIL,
    ]);
    expect(buildFilter({ filters: fps }, mp3At(16000), ctx).runs[0]!.join(' ')).toContain('-map 0:1 -c:a copy');
  });

  it('spec example: video and audio chains, both re-encoded', () => {
    const plan = buildFilter(
      {
        filters: [
          { type: 'scale', width: 1280, height: 720 },
          { type: 'volume', volume: 1.5 },
          { type: 'fps', fps: 30 },
        ],
      },
      mediaInfo({ video: { index: 0, codec: 'h264', width: 1920, height: 1080, fps: 60 } }),
      ctx,
    );
    expect(singleRun(plan, OUTPUT.mp4, 10)).toEqual([
      ...['-i', '/job/input.mp4', '-map', '0:0', '-vf', 'scale=1280:720,fps=30', ...H264],
      ...['-map', '0:1', '-af', 'volume=1.5', ...AAC, ...TAIL],
    ]);
  });

  it('copies the audio when only video filters are given and MP4 can hold it', () => {
    expect(buildFilter({ filters: [{ type: 'rotate', angle: 90 }] }, mediaInfo(), ctx).runs[0]).toEqual([
      ...argv('-i /job/input.mp4 -map 0:0 -vf transpose=1'),
      ...H264,
      ...argv('-map 0:1 -c:a copy'),
      ...TAIL,
    ]);
  });

  it('re-encodes unfiltered audio MP4 cannot hold (Vorbis)', () => {
    const info = mediaInfo({ audio: { index: 1, codec: 'vorbis', sampleRate: 48000, channels: 2 } });
    expect(buildFilter({ filters: [{ type: 'fps', fps: 24 }] }, info, ctx).runs[0]).toEqual([
      ...argv('-i /job/input.mp4 -map 0:0 -vf fps=24'),
      ...H264,
      '-map',
      '0:1',
      ...AAC,
      ...TAIL,
    ]);
  });

  it('copies the video when only audio filters are given and MP4 can hold it', () => {
    expect(buildFilter({ filters: [{ type: 'normalize' }] }, mediaInfo(), ctx).runs[0]).toEqual([
      ...argv('-i /job/input.mp4 -map 0:0 -c:v copy -map 0:1 -af loudnorm=I=-16:TP=-1.5:LRA=11,aformat=sample_rates=48000'),
      ...AAC,
      ...TAIL,
    ]);
  });

  it('re-encodes unfiltered video MP4 cannot hold (VP9), rounding an odd size to even', () => {
    const vp9 = mediaInfo({ video: { index: 0, codec: 'vp9', width: 1280, height: 720, fps: 30 } });
    expect(buildFilter({ filters: [{ type: 'volume', volume: 2 }] }, vp9, ctx).runs[0]!.slice(2, 4 + H264.length)).toEqual([
      '-map',
      '0:0',
      ...H264,
    ]);
    const odd = mediaInfo({ video: { index: 0, codec: 'ffv1', width: 321, height: 241, fps: 30 } });
    expect(buildFilter({ filters: [{ type: 'volume', volume: 2 }] }, odd, ctx).runs[0]!.slice(2, 6 + H264.length)).toEqual([
      '-map',
      '0:0',
      '-vf',
      EVEN,
      ...H264,
    ]);
  });

  it('treats a no-op rotation as no video filter', () => {
    const args = buildFilter({ filters: [{ type: 'rotate', angle: 360 }] }, mediaInfo(), ctx).runs[0]!;
    expect(args.slice(2, 6)).toEqual(['-map', '0:0', '-c:v', 'copy']);
  });

  it('writes -an for a video without audio', () => {
    expect(
      buildFilter({ filters: [{ type: 'crop', width: 640, height: 360, x: 0, y: 0 }] }, mediaInfo({ audio: null }), ctx).runs[0],
    ).toEqual(['-i', '/job/input.mp4', '-map', '0:0', '-vf', 'crop=640:360:0:0', ...H264, '-an', ...TAIL]);
  });

  it('writes M4A with -vn for an audio-only input with audio filters', () => {
    const plan = buildFilter({ filters: [{ type: 'normalize' }, { type: 'volume', volume: 2 }] }, mp3Only, ctx);
    expect(singleRun(plan, OUTPUT.m4a)).toEqual([
      ...argv('-i /job/input.mp4 -vn -map 0:0 -af loudnorm=I=-16:TP=-1.5:LRA=11,volume=2,aformat=sample_rates=44100'),
      ...AAC,
      ...argv('-sn -dn -movflags +faststart /job/out/output.m4a'),
    ]);
  });

  it('resamples normalized audio to 48 kHz when the rate is unknown', () => {
    const info = mediaInfo({ audio: { index: 1, codec: 'aac', sampleRate: null, channels: 2 } });
    const args = buildFilter({ filters: [{ type: 'normalize' }] }, info, ctx).runs[0]!;
    expect(args[args.indexOf('-af') + 1]).toBe('loudnorm=I=-16:TP=-1.5:LRA=11,aformat=sample_rates=48000');
  });

  it('maps the probed streams and adds -threads N', () => {
    const info = mediaInfo({
      video: { index: 1, codec: 'h264', width: 1280, height: 720, fps: 30 },
      audio: { index: 0, codec: 'aac', sampleRate: 48000, channels: 2 },
    });
    const args = buildFilter({ filters: [{ type: 'fps', fps: 25 }] }, info, { ...ctx, threads: 4 }).runs[0]!;
    expect(args.filter((_, i) => args[i - 1] === '-map')).toEqual(['0:1', '0:0']);
    expect(args.slice(-7)).toEqual(['-sn', '-dn', '-threads', '4', '-movflags', '+faststart', '/job/out/output.mp4']);
  });

  it('has expectedSeconds = duration', () => {
    expect(buildFilter({ filters: [{ type: 'fps', fps: 25 }] }, mediaInfo({ duration: null }), ctx).expectedSeconds).toBeNull();
  });

  it.each([
    [{ type: 'volume', volume: 2 }, 'volume'],
    [{ type: 'normalize' }, 'normalize'],
  ] as const)('fails with JOB_FAILED for %p on an input without audio', (step, type) => {
    expect(jobFailure(() => buildFilter({ filters: [{ type: 'fps', fps: 25 }, step] }, mediaInfo({ audio: null }), ctx))).toEqual({
      message: 'Audio filter needs an audio stream',
      details: `filters[1] (${type}): ffprobe found no audio in the mov,mp4,m4a,3gp,3g2,mj2 input`,
    });
  });

  it.each([
    [{ type: 'scale', width: 640 }, 'scale'],
    [{ type: 'rotate', angle: 90 }, 'rotate'],
    [{ type: 'crop', width: 100, height: 100, x: 0, y: 0 }, 'crop'],
    [{ type: 'fps', fps: 30 }, 'fps'],
  ] as const)('fails with JOB_FAILED for %p on an audio-only input', (step, type) => {
    expect(jobFailure(() => buildFilter({ filters: [{ type: 'volume', volume: 1.2 }, step] }, mp3Only, ctx))).toEqual({
      message: 'Video filter needs a video stream',
      details: `filters[1] (${type}): ffprobe found no video in the mp3 input`,
    });
  });

  it('fails with JOB_FAILED when a crop does not fit the tracked size', () => {
    const e = thrownBy(() =>
      buildFilter(
        {
          filters: [
            { type: 'scale', width: 640 },
            { type: 'crop', width: 640, height: 400, x: 0, y: 0 },
          ],
        },
        mediaInfo(),
        ctx,
      ),
    );
    expect(e.code).toBe(ErrorCode.JOB_FAILED);
    expect(e.details).toBe('filters[1]: crop 640x400 at (0,0) does not fit the 640x360 frame it receives');
  });
});
