import { errors, type GifOptions } from '@media-foundry/shared';
import type { MediaInfo } from '../media-info.js';
import { fmt, lastSeekable, outputPath, seekArgs, threadArgs, type BuildContext, type FfmpegPlan } from '../plan.js';
import { frameSize, type Size } from './compress.js';

/** Without `width`, GIFs are at most this wide: wider ones grow large fast. */
export const GIF_DEFAULT_MAX_WIDTH = 480;

/**
 * A GIF's width: `width`, or the picture's up to GIF_DEFAULT_MAX_WIDTH. Its height follows from the aspect
 * ratio (`scale=W:-1`, rounded); a GIF under a pixel high is refused in words (`where`: the step, for the
 * details) rather than by ffmpeg's scaler mid-run.
 */
export function gifWidth(size: Size, width: number | undefined, where = ''): number {
  const w = width ?? Math.min(size.width, GIF_DEFAULT_MAX_WIDTH);
  const height = Math.round((w * size.height) / size.width);
  if (height < 1)
    throw errors.jobFailed(
      'Scaling would leave no picture',
      `${where}width ${w}: scaling the ${size.width}x${size.height} picture gives ${w}x${height}`,
    );
  return w;
}

/**
 * The filters: frame rate, then Lanczos scaling keeping the aspect ratio; when
 * optimizing, a palette generated from the clip (`stats_mode=diff` favours
 * what moves) and applied with ordered dithering (compresses better than
 * error diffusion). `before`: filters the clip goes through first (a pipeline's steps).
 */
export function gifFilter(
  streamIndex: number,
  fps: number,
  width: number,
  optimize: boolean,
  before: readonly string[] = [],
  short = false,
): string {
  // the fps filter ends with round(clip × fps) frames, none for a clip under half a frame: `pass` keeps its last one
  const rate = short ? `fps=${fps}:eof_action=pass` : `fps=${fps}`;
  const base = [...before, rate, `scale=${width}:-1:flags=lanczos`].join(',');
  if (!optimize) return base;
  return `[0:${streamIndex}]${base},split[a][b];[a]palettegen=stats_mode=diff[p];[b][p]paletteuse=dither=bayer:bayer_scale=5`;
}

/** What follows the input of a GIF's run (the `gif` operation's and a pipeline's last step): the picture only, looping forever. */
export function gifOutputArgs(streamIndex: number, filter: string, optimize: boolean, ctx: BuildContext): string[] {
  return [
    ...(optimize ? ['-filter_complex', filter] : ['-map', `0:${streamIndex}`, '-vf', filter]),
    ...['-an', '-sn', '-dn'],
    ...threadArgs(ctx),
    ...['-loop', '0'],
    outputPath(ctx, 'output.gif'),
  ];
}

/** A GIF's clip: where it starts, and whether it is short enough to need its last frame kept (gifFilter's `short`). */
export interface GifClip {
  start: number;
  short: boolean;
}

/**
 * Where a GIF of `duration` seconds at `fps` from `start` begins, given where
 * the video ends (`video.end`, null: unknown) and its frame rate (frames per
 * second of the timeline): a start in the video's last frames moves back to
 * one `-ss` can find (after its last picture the clip would be empty); a
 * start past the video's end, while the file runs on (audio), is an error
 * (`where` opens its details: "steps[2]: ").
 */
export function gifClip(
  start: number,
  duration: number,
  fps: number,
  video: { end: number | null; fps: number | null },
  where = '',
): GifClip {
  if (video.end !== null && start >= video.end)
    throw errors.jobFailed('GIF start is past the end of the video', `${where}start_time ${start}s, the video ends at ${fmt(video.end)}s`);
  const latest = lastSeekable(video.end, video.fps);
  const from = latest !== null ? Math.min(start, latest) : start;
  const clip = Math.min(duration, (video.end ?? Infinity) - from);
  return { start: from, short: clip * fps < 2 };
}

/**
 * `gif`: `duration` seconds from `start_time`, looping forever. Both are
 * input options (before `-i`): seeking costs nothing, and the input ends with
 * the clip — as an output option `-t` would cut the GIF but let the palette
 * (which waits for the end of its input) read and decode the whole rest of
 * the file, building it from frames the GIF never shows, for most of the run
 * and with no progress to show meanwhile.
 */
export function buildGif(options: GifOptions, info: MediaInfo, ctx: BuildContext): FfmpegPlan {
  if (!info.video) throw errors.jobFailed('Input has no video stream', `ffprobe found no video in the ${info.formatName} input`);
  if (info.duration !== null && options.start_time >= info.duration)
    throw errors.jobFailed(
      'GIF start is past the end of the input',
      `start_time ${options.start_time}s, input duration ${fmt(info.duration)}s`,
    );
  const { start, short } = gifClip(options.start_time, options.duration, options.fps, {
    end: info.video.end ?? info.duration,
    fps: info.video.fps,
  });
  const width = gifWidth(frameSize(info.video), options.width);
  const filter = gifFilter(info.video.index, options.fps, width, options.optimize, [], short);
  const seek = seekArgs(info.formatName, start);
  const args = [
    ...seek.input,
    '-t',
    fmt(seek.preRoll + options.duration),
    '-i',
    ctx.inputPath,
    ...seek.output,
    ...gifOutputArgs(info.video.index, filter, options.optimize, ctx),
  ];
  return {
    runs: [args],
    outputs: [{ filename: 'output.gif', contentType: 'image/gif', format: 'gif' }],
    expectedSeconds: Math.min(options.duration, (info.video.end ?? info.duration ?? Infinity) - start),
  };
}
