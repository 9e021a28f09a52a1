import { ErrorCode } from '@media-foundry/shared';
import { atempoChain, buildSpeed, speedAudioFilter } from './speed.js';
import { argv, buildContext, mediaInfoFixture, OUTPUT, singleRun, thrownBy } from './test-fixtures.js';

const ctx = buildContext();

/** A probed 10-second 1280x720 H.264/AAC (48 kHz stereo) MP4; override any part. */
const mediaInfo = mediaInfoFixture();

const VIDEO_ENCODE = ['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '23', '-pix_fmt', 'yuv420p'];
const AUDIO_ENCODE = ['-c:a', 'aac', '-b:a', '128k'];

describe('atempoChain', () => {
  it.each([
    [0.25, [0.5, 0.5]],
    [0.5, [0.5]],
    [1, [1]],
    [2, [2]],
    [3, [2, 1.5]],
    [5, [2, 2, 1.25]],
    [10, [2, 2, 2, 1.25]],
  ])('splits %p into %p', (factor, steps) => {
    expect(atempoChain(factor)).toEqual(steps);
  });

  it.each([0.25, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 7.3, 10])('keeps every step of %p within [0.5, 2] and multiplies back to it', (factor) => {
    const steps = atempoChain(factor);
    expect(steps.length).toBeGreaterThan(0);
    for (const s of steps) {
      expect(s).toBeGreaterThanOrEqual(0.5);
      expect(s).toBeLessThanOrEqual(2);
    }
    const product = steps.reduce((a, b) => a * b, 1);
    expect(Math.abs(product - factor)).toBeLessThan(1e-9);
  });
});

describe('speedAudioFilter', () => {
  it('chains atempo filters when keeping the pitch', () => {
    expect(speedAudioFilter(4, true, 48000)).toBe('atempo=2,atempo=2');
    expect(speedAudioFilter(0.3, true, 48000)).toBe('atempo=0.5,atempo=0.6');
  });

  it('resamples (tape-style) when not keeping the pitch', () => {
    expect(speedAudioFilter(1.5, false, 48000)).toBe('asetrate=72000,aresample=48000');
    expect(speedAudioFilter(0.25, false, 44100)).toBe('asetrate=11025,aresample=44100');
  });
});

describe('buildSpeed', () => {
  it('builds the full video+audio run at 2x keeping the pitch', () => {
    expect(singleRun(buildSpeed({ speed_factor: 2, maintain_pitch: true }, mediaInfo(), ctx), OUTPUT.mp4, 5)).toEqual([
      ...argv('-i /job/input.mp4 -map 0:0 -filter:v setpts=PTS/2'),
      ...VIDEO_ENCODE,
      ...argv('-map 0:1 -filter:a atempo=2'),
      ...AUDIO_ENCODE,
      ...argv('-sn -dn -movflags +faststart /job/out/output.mp4'),
    ]);
  });

  it('slows down to 0.25x with a two-step atempo chain', () => {
    const plan = buildSpeed({ speed_factor: 0.25, maintain_pitch: true }, mediaInfo(), ctx);
    expect(plan.runs[0]).toEqual([
      ...argv('-i /job/input.mp4 -map 0:0 -filter:v setpts=PTS/0.25'),
      ...VIDEO_ENCODE,
      ...argv('-map 0:1 -filter:a atempo=0.5,atempo=0.5'),
      ...AUDIO_ENCODE,
      ...argv('-sn -dn -movflags +faststart /job/out/output.mp4'),
    ]);
    expect(plan.expectedSeconds).toBe(40);
  });

  it('uses asetrate/aresample with the probed sample rate when maintain_pitch is false', () => {
    const plan = buildSpeed({ speed_factor: 1.5, maintain_pitch: false }, mediaInfo(), ctx);
    const args = plan.runs[0]!;
    expect(args[args.indexOf('-filter:a') + 1]).toBe('asetrate=72000,aresample=48000');
    expect(args.some((a) => a.includes('atempo'))).toBe(false);
    expect(plan.expectedSeconds).toBeCloseTo(10 / 1.5, 12);
  });

  it('assumes 44.1 kHz when the sample rate is unknown and the pitch may change', () => {
    const info = mediaInfo({ audio: { index: 1, codec: 'mp3', sampleRate: null, channels: null } });
    const args = buildSpeed({ speed_factor: 2, maintain_pitch: false }, info, ctx).runs[0]!;
    expect(args[args.indexOf('-filter:a') + 1]).toBe('asetrate=88200,aresample=44100');
  });

  it('drops audio with -an and no audio filter when the input has none', () => {
    expect(singleRun(buildSpeed({ speed_factor: 3, maintain_pitch: true }, mediaInfo({ audio: null }), ctx), OUTPUT.mp4)).toEqual([
      ...argv('-i /job/input.mp4 -map 0:0 -filter:v setpts=PTS/3'),
      ...VIDEO_ENCODE,
      ...argv('-an -sn -dn -movflags +faststart /job/out/output.mp4'),
    ]);
  });

  it('writes output.m4a with -vn for an audio-only input', () => {
    const info = mediaInfo({ formatName: 'mp3', video: null, audio: { index: 0, codec: 'mp3', sampleRate: 44100, channels: 2 } });
    expect(singleRun(buildSpeed({ speed_factor: 1.25, maintain_pitch: true }, info, ctx), OUTPUT.m4a, 8)).toEqual([
      ...argv('-i /job/input.mp4 -vn -map 0:0 -filter:a atempo=1.25'),
      ...AUDIO_ENCODE,
      ...argv('-sn -dn -movflags +faststart /job/out/output.m4a'),
    ]);
  });

  it('maps the probed stream indexes, not fixed ones', () => {
    const info = mediaInfo({
      video: { index: 2, codec: 'h264', width: 640, height: 360, fps: 25 },
      audio: { index: 4, codec: 'aac', sampleRate: 44100, channels: 2 },
    });
    const args = buildSpeed({ speed_factor: 2, maintain_pitch: true }, info, ctx).runs[0]!;
    expect(args.filter((_, i) => args[i - 1] === '-map')).toEqual(['0:2', '0:4']);
  });

  it('has expectedSeconds = duration / factor, or null when the duration is unknown', () => {
    expect(buildSpeed({ speed_factor: 4, maintain_pitch: true }, mediaInfo({ duration: 12 }), ctx).expectedSeconds).toBe(3);
    expect(buildSpeed({ speed_factor: 0.5, maintain_pitch: true }, mediaInfo({ duration: 12 }), ctx).expectedSeconds).toBe(24);
    expect(buildSpeed({ speed_factor: 4, maintain_pitch: true }, mediaInfo({ duration: null }), ctx).expectedSeconds).toBeNull();
  });

  it('adds -threads N before the output when threads > 0', () => {
    const args = buildSpeed({ speed_factor: 2, maintain_pitch: true }, mediaInfo(), { ...ctx, threads: 3 }).runs[0]!;
    expect(args.slice(-7)).toEqual(['-sn', '-dn', '-threads', '3', '-movflags', '+faststart', '/job/out/output.mp4']);
    expect(buildSpeed({ speed_factor: 2, maintain_pitch: true }, mediaInfo(), ctx).runs[0]).not.toContain('-threads');
  });

  it('formats factors without float noise', () => {
    const args = buildSpeed({ speed_factor: 0.1 + 0.2, maintain_pitch: true }, mediaInfo(), ctx).runs[0]!;
    expect(args[args.indexOf('-filter:v') + 1]).toBe('setpts=PTS/0.3');
  });

  it('fails with JOB_FAILED when the input has neither video nor audio', () => {
    const e = thrownBy(() =>
      buildSpeed({ speed_factor: 2, maintain_pitch: true }, mediaInfo({ formatName: 'srt', video: null, audio: null }), ctx),
    );
    expect(e.code).toBe(ErrorCode.JOB_FAILED);
    expect(e.details).toBe('format: srt');
  });
});
