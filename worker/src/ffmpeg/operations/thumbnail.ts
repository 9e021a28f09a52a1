import { errors, type ThumbnailOptions } from '@media-foundry/shared';
import type { MediaInfo } from '../media-info.js';
import { fmt, lastSeekable, outputPath, seekArgs, threadArgs, type BuildContext, type FfmpegPlan } from '../plan.js';
import { frameSize, type Size } from './compress.js';
import { scaledSize } from './filter.js';

/** `count` timestamps at the middles of equal slices: 1 → [d/2], 3 → [d/6, d/2, 5d/6]. */
export function evenlySpacedTimestamps(duration: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => (duration * (i + 0.5)) / count);
}

/** `scale` keeping the aspect ratio when only one side is given (-2: even, which encoders like). */
export function scaleFilter(width: number | undefined, height: number | undefined): string | null {
  if (width === undefined && height === undefined) return null;
  return `scale=${width ?? -2}:${height ?? -2}`;
}

/** What a thumbnail's scaling is, for the details of a refusal. */
export function scaling(size: Size, options: Pick<ThumbnailOptions, 'width' | 'height'>): string {
  const asked = [options.width !== undefined && `width ${options.width}`, options.height !== undefined && `height ${options.height}`];
  return `${asked.filter(Boolean).join(', ')}: scaling the ${size.width}x${size.height} picture`;
}

/**
 * `thumbnail`: one ffmpeg run per image, each seeking on the input (`-ss`
 * before `-i`), so the cost does not grow with the timestamp (but for the
 * inputs seekArgs enters early).
 */
export function buildThumbnail(options: ThumbnailOptions, info: MediaInfo, ctx: BuildContext): FfmpegPlan {
  if (!info.video) throw errors.jobFailed('Input has no video stream', `ffprobe found no video in the ${info.formatName} input`);
  let timestamps: number[];
  if (options.timestamp !== undefined) {
    if (info.duration !== null && options.timestamp >= info.duration)
      throw errors.jobFailed(
        'Thumbnail timestamp is past the end of the input',
        `timestamp ${options.timestamp}s, input duration ${fmt(info.duration)}s`,
      );
    timestamps = [options.timestamp];
  } else {
    if (info.duration === null)
      throw errors.jobFailed('Input duration is unknown', 'evenly spaced thumbnails need a duration; pass `timestamp` instead');
    // over the picture's span: audio running on after it would only repeat the last frame
    timestamps = evenlySpacedTimestamps(Math.min(info.duration, info.video.end ?? Infinity), options.count ?? 1);
  }
  // the video can end before the file does (audio runs on): a time past its last picture takes a picture near the end
  const latest = lastSeekable(info.video.end ?? info.duration, info.video.fps);
  if (latest !== null) timestamps = timestamps.map((t) => Math.min(t, latest));
  const ext = options.format;
  const contentType = ext === 'png' ? 'image/png' : 'image/jpeg';
  const scale = scaleFilter(options.width, options.height);
  if (scale) scaledSize(frameSize(info.video), options.width, options.height, scaling(frameSize(info.video), options));
  const names =
    timestamps.length === 1 ? [`thumbnail.${ext}`] : timestamps.map((_, i) => `thumbnail_${String(i + 1).padStart(3, '0')}.${ext}`);
  const runs = timestamps.map((t, i) => {
    const seek = seekArgs(info.formatName, t);
    return [
      ...seek.input,
      '-i',
      ctx.inputPath,
      ...seek.output,
      '-map',
      `0:${info.video!.index}`,
      '-frames:v',
      '1',
      ...(scale ? ['-vf', scale] : []),
      ...(ext === 'png' ? [] : ['-q:v', '2']),
      ...threadArgs(ctx),
      '-update',
      '1',
      outputPath(ctx, names[i]!),
    ];
  });
  return {
    runs,
    outputs: names.map((filename) => ({ filename, contentType, format: ext === 'png' ? 'png' : 'jpeg' })),
    // each run writes one frame: progress comes from the run count, not from out_time
    expectedSeconds: null,
  };
}
