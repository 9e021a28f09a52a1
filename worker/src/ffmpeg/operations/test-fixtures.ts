/**
 * Fixtures of the argument builders' unit tests (`*.test.ts` beside this
 * file), in one place. Imported only by tests, and left out of the image with
 * them (Dockerfile).
 */
import { AppError, ErrorCode } from '@media-foundry/shared';
import { thrownBy as thrownInstanceOf } from '@media-foundry/test-support';
import type { MediaInfo, VideoStreamInfo } from '../media-info.js';
import type { BuildContext, FfmpegPlan, MultiInputContext, PlannedOutput } from '../plan.js';

/** What ffprobe reports, as the worker reduces it, for the tests' sample: a 10-second 1280x720 H.264/AAC MP4. */
export const SAMPLE_MEDIA_INFO: MediaInfo = {
  formatName: 'mov,mp4,m4a,3gp,3g2,mj2',
  duration: 10,
  sizeBytes: 2_000_000,
  bitrate: 1_600_000,
  video: h264Video('1280x720', 30),
  audio: { index: 1, codec: 'aac', sampleRate: 48000, channels: 2 },
  subtitles: [],
};

/** A probed H.264 video stream of `size` at `fps` (stream 0 unless `more` says otherwise). */
export function h264Video(size: `${number}x${number}`, fps: number, more: Partial<VideoStreamInfo> = {}): VideoStreamInfo {
  const [width, height] = size.split('x').map(Number) as [number, number];
  return { index: 0, codec: 'h264', width, height, fps, ...more };
}

/**
 * A test file's `mediaInfo(overrides)`: the sample with that file's own
 * `base` (its input's length, size, picture…), then each call's overrides.
 * Every call returns fresh objects, so a test cannot change another's input.
 */
export function mediaInfoFixture(base: Partial<MediaInfo> = {}): (overrides?: Partial<MediaInfo>) => MediaInfo {
  return (overrides = {}) => ({ ...structuredClone({ ...SAMPLE_MEDIA_INFO, ...base }), ...overrides });
}

/** A single-input builder's context: the input at `inputPath`, outputs under /job/out, ffmpeg's own thread count. */
export function buildContext(inputPath = '/job/input.mp4'): BuildContext {
  return { inputPath, outputDir: '/job/out', threads: 0 };
}

/** A multi-input builder's context: the inputs downloaded to `inputPaths` (the first is `inputPath`), work in /job. */
export function multiInputContext(...inputPaths: [string, ...string[]]): MultiInputContext {
  return { inputPath: inputPaths[0], inputPaths, workDir: '/job', outputDir: '/job/out', threads: 0 };
}

/** The one file a single-output builder writes, by container, as `plan.outputs` lists it. */
export const OUTPUT = {
  mp4: { filename: 'output.mp4', contentType: 'video/mp4', format: 'mp4' },
  m4a: { filename: 'output.m4a', contentType: 'audio/mp4', format: 'm4a' },
  mkv: { filename: 'output.mkv', contentType: 'video/x-matroska', format: 'mkv' },
  webm: { filename: 'output.webm', contentType: 'video/webm', format: 'webm' },
  gif: { filename: 'output.gif', contentType: 'image/gif', format: 'gif' },
} as const satisfies Record<string, PlannedOutput>;

/**
 * The arguments of a plan that is one ffmpeg run writing `output`, for the
 * test to compare; asserts that much of the plan, and its `expectedSeconds`
 * when the test gives them.
 */
export function singleRun(plan: FfmpegPlan, output: PlannedOutput, expectedSeconds?: number): string[] {
  expect(plan.runs).toHaveLength(1);
  expect(plan.outputs).toEqual([output]);
  if (expectedSeconds !== undefined) expect(plan.expectedSeconds).toBe(expectedSeconds);
  return plan.runs[0]!;
}

/** The JOB_FAILED error `build` throws (any other fails the test), as the client is told it: message and details. */
export function jobFailure(build: () => unknown): { message: string; details: string | undefined } {
  const e = thrownBy(build);
  expect(e.code).toBe(ErrorCode.JOB_FAILED);
  return { message: e.message, details: e.details };
}

/**
 * A command line written as ffmpeg reads it, split at spaces: expected
 * argument lists in one line each (for arguments without spaces).
 */
export function argv(line: string): string[] {
  return line.split(' ');
}

/** The AppError `fn` throws; fails the test when it throws nothing or something else. */
export function thrownBy(fn: () => unknown): AppError {
  return thrownInstanceOf(AppError, fn);
}
