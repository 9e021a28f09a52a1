import { ErrorCode, type TrimOptions } from '@media-foundry/shared';
import { buildTrim, TRIM_END_TOLERANCE_SECONDS, trimOutput } from './trim.js';
import { argv, buildContext, jobFailure, mediaInfoFixture, OUTPUT, singleRun, thrownBy } from './test-fixtures.js';

const ctx = buildContext();

/** A probed 60-second 1280x720 H.264/AAC MP4; override any part. */
const mediaInfo = mediaInfoFixture({ duration: 60, sizeBytes: 12_000_000 });

const audioOnly = (codec: string) =>
  mediaInfo({ formatName: codec, video: null, audio: { index: 0, codec, sampleRate: 44100, channels: 2 } });

function opts(o: Partial<TrimOptions> = {}): TrimOptions {
  return { start_time: 0, stream_copy: false, ...o };
}

const H264 = ['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '23', '-pix_fmt', 'yuv420p'];
const AAC = ['-c:a', 'aac', '-b:a', '128k'];

describe('buildTrim: re-encoding (frame-accurate)', () => {
  it('spec example: 10 s to 30 s, -ss before -i and -t for the length', () => {
    expect(singleRun(buildTrim(opts({ start_time: 10, end_time: 30 }), mediaInfo(), ctx), OUTPUT.mp4, 20)).toEqual([
      ...argv('-ss 10 -i /job/input.mp4 -t 20 -map 0:0'),
      ...H264,
      '-map',
      '0:1',
      ...AAC,
      ...argv('-sn -dn -movflags +faststart /job/out/output.mp4'),
    ]);
  });

  it('runs to the end without -t when end_time is not given', () => {
    const plan = buildTrim(opts({ start_time: 45.5 }), mediaInfo(), ctx);
    expect(plan.runs[0]!.slice(0, 6)).toEqual(['-ss', '45.5', '-i', '/job/input.mp4', '-map', '0:0']);
    expect(plan.runs[0]).not.toContain('-t');
    expect(plan.expectedSeconds).toBe(14.5);
  });

  it('formats fractional times without float noise', () => {
    const args = buildTrim(opts({ start_time: 0.1, end_time: 0.3 }), mediaInfo(), ctx).runs[0]!;
    expect(args.slice(0, 6)).toEqual(['-ss', '0.1', '-i', '/job/input.mp4', '-t', '0.2']);
  });

  it('writes M4A with -vn for an audio-only input', () => {
    expect(singleRun(buildTrim(opts({ start_time: 1, end_time: 3 }), audioOnly('mp3'), ctx), OUTPUT.m4a)).toEqual([
      ...argv('-ss 1 -i /job/input.mp4 -t 2 -vn -map 0:0'),
      ...AAC,
      ...argv('-sn -dn -movflags +faststart /job/out/output.m4a'),
    ]);
  });

  it('writes -an for a video without audio', () => {
    const args = buildTrim(opts({ end_time: 5 }), mediaInfo({ audio: null }), ctx).runs[0]!;
    expect(args).toEqual([
      ...argv('-ss 0 -i /job/input.mp4 -t 5 -map 0:0'),
      ...H264,
      ...argv('-an -sn -dn -movflags +faststart /job/out/output.mp4'),
    ]);
  });

  it('rounds an odd size to even', () => {
    const info = mediaInfo({ video: { index: 0, codec: 'ffv1', width: 321, height: 241, fps: 25 } });
    expect(buildTrim(opts({ end_time: 5 }), info, ctx).runs[0]!.slice(6, 10)).toEqual(
      argv('-map 0:0 -vf scale=trunc(iw/2)*2:trunc(ih/2)*2'),
    );
  });

  it('adds -threads N', () => {
    const args = buildTrim(opts({ end_time: 5 }), mediaInfo(), { ...ctx, threads: 3 }).runs[0]!;
    expect(args.slice(-7)).toEqual(['-sn', '-dn', '-threads', '3', '-movflags', '+faststart', '/job/out/output.mp4']);
  });
});

describe('buildTrim: an MPEG-TS input (its demuxer seeks past the time)', () => {
  const ts = mediaInfo({ formatName: 'mpegts' });

  it('decodes its way to the start when re-encoding', () => {
    expect(singleRun(buildTrim({ start_time: 20, end_time: 25, stream_copy: false }, ts, ctx), OUTPUT.mp4).slice(0, 8)).toEqual(
      argv('-ss 5 -i /job/input.mp4 -ss 15 -t 5'),
    );
  });

  it('seeks on the input for a stream copy, which starts at a keyframe anyway', () => {
    expect(singleRun(buildTrim({ start_time: 20, stream_copy: true }, ts, ctx), OUTPUT.mp4).slice(0, 4)).toEqual(
      argv('-ss 20 -i /job/input.mp4'),
    );
  });
});

describe('buildTrim: stream copy (keyframe-aligned)', () => {
  it('copies H.264/AAC into MP4 with -avoid_negative_ts make_zero', () => {
    const plan = buildTrim(opts({ start_time: 10, end_time: 30, stream_copy: true }), mediaInfo(), ctx);
    expect(singleRun(plan, OUTPUT.mp4, 20)).toEqual(
      argv(
        '-ss 10 -i /job/input.mp4 -t 20 -map 0:0 -map 0:1 -c copy -avoid_negative_ts make_zero -sn -dn -movflags +faststart /job/out/output.mp4',
      ),
    );
  });

  it('copies into Matroska when MP4 cannot hold a codec', () => {
    const webm = mediaInfo({
      formatName: 'matroska,webm',
      video: { index: 0, codec: 'vp9', width: 1280, height: 720, fps: 30 },
      audio: { index: 1, codec: 'opus', sampleRate: 48000, channels: 2 },
    });
    expect(singleRun(buildTrim(opts({ start_time: 1, end_time: 2, stream_copy: true }), webm, ctx), OUTPUT.mkv)).toEqual(
      argv('-ss 1 -i /job/input.mp4 -t 1 -map 0:0 -map 0:1 -c copy -avoid_negative_ts make_zero -sn -dn /job/out/output.mkv'),
    );
  });

  it('maps only the audio of an audio-only input', () => {
    expect(buildTrim(opts({ start_time: 2, stream_copy: true }), audioOnly('aac'), ctx).runs[0]).toEqual(
      argv('-ss 2 -i /job/input.mp4 -map 0:0 -c copy -avoid_negative_ts make_zero -sn -dn -movflags +faststart /job/out/output.m4a'),
    );
  });
});

describe('trimOutput', () => {
  const vp9 = { index: 0, codec: 'vp9', width: 640, height: 360, fps: 25 };
  it.each([
    ['re-encoded video', mediaInfo(), false, 'output.mp4'],
    ['re-encoded VP9', mediaInfo({ video: vp9 }), false, 'output.mp4'],
    ['copied H.264/AAC', mediaInfo(), true, 'output.mp4'],
    ['copied VP9', mediaInfo({ video: vp9 }), true, 'output.mkv'],
    ['copied H.264 with Vorbis', mediaInfo({ audio: { index: 1, codec: 'vorbis', sampleRate: 48000, channels: 2 } }), true, 'output.mkv'],
    ['copied H.264 without audio', mediaInfo({ audio: null }), true, 'output.mp4'],
    ['re-encoded audio alone', audioOnly('flac'), false, 'output.m4a'],
    ['copied AAC alone', audioOnly('aac'), true, 'output.m4a'],
    ['copied MP3 alone', audioOnly('mp3'), true, 'output.mka'],
    // ffmpeg's mp4 muxer refuses MP3 under 16 kHz
    ['copied MPEG-4 with 11 kHz MP3', mediaInfo({ audio: { index: 1, codec: 'mp3', sampleRate: 11025, channels: 1 } }), true, 'output.mkv'],
    ['copied H.264 with 16 kHz MP3', mediaInfo({ audio: { index: 1, codec: 'mp3', sampleRate: 16000, channels: 1 } }), true, 'output.mp4'],
  ] as const)('%s → %s', (_label, info, copy, filename) => {
    expect(trimOutput(info, copy).filename).toBe(filename);
  });

  it('reports audio/x-matroska for MKA', () => {
    expect(trimOutput(audioOnly('opus'), true)).toEqual({ filename: 'output.mka', contentType: 'audio/x-matroska', format: 'mka' });
  });
});

describe('buildTrim: checks against the probed duration', () => {
  it.each([60, 75])('fails with JOB_FAILED when start_time %p >= duration', (start_time) => {
    expect(jobFailure(() => buildTrim(opts({ start_time }), mediaInfo(), ctx))).toEqual({
      message: 'Trim start is past the end of the input',
      details: `start_time ${start_time}s, input duration 60s`,
    });
  });

  it('fails with JOB_FAILED giving the duration when end_time is past the end', () => {
    expect(jobFailure(() => buildTrim(opts({ start_time: 10, end_time: 90 }), mediaInfo({ duration: 59.987654321 }), ctx))).toEqual({
      message: 'Trim end is past the end of the input',
      details: 'end_time 90s, input duration 59.987654s',
    });
  });

  it(`clamps an end_time up to ${TRIM_END_TOLERANCE_SECONDS}s past the end to the duration`, () => {
    const plan = buildTrim(opts({ start_time: 50, end_time: 60.04 }), mediaInfo(), ctx);
    expect(plan.runs[0]!.slice(0, 6)).toEqual(['-ss', '50', '-i', '/job/input.mp4', '-t', '10']);
    expect(plan.expectedSeconds).toBe(10);
    expect(buildTrim(opts({ end_time: 60.05 }), mediaInfo(), ctx).runs[0]!.slice(4, 6)).toEqual(['-t', '60']);
  });

  it('rejects just beyond the tolerance', () => {
    expect(thrownBy(() => buildTrim(opts({ end_time: 60.051 }), mediaInfo(), ctx)).code).toBe(ErrorCode.JOB_FAILED);
  });

  it('accepts an end_time exactly at the duration', () => {
    expect(buildTrim(opts({ start_time: 59, end_time: 60 }), mediaInfo(), ctx).expectedSeconds).toBe(1);
  });

  it('trusts the times when the duration is unknown (expectedSeconds from the times, or null)', () => {
    expect(buildTrim(opts({ start_time: 100, end_time: 130 }), mediaInfo({ duration: null }), ctx).expectedSeconds).toBe(30);
    expect(buildTrim(opts({ start_time: 100 }), mediaInfo({ duration: null }), ctx).expectedSeconds).toBeNull();
  });

  it('fails with JOB_FAILED when the input has neither video nor audio', () => {
    const e = thrownBy(() => buildTrim(opts(), mediaInfo({ formatName: 'srt', video: null, audio: null }), ctx));
    expect(e.code).toBe(ErrorCode.JOB_FAILED);
    expect(e.details).toBe('format: srt');
  });
});
