import { errors, type GifOptions } from '@media-foundry/shared';
import type { MediaInfo } from '../media-info.js';
import { fmt, outputPath, threadArgs, type BuildContext, type FfmpegPlan } from '../plan.js';
import { frameSize } from './compress.js';

/** Without `width`, GIFs are at most this wide: wider ones grow large fast. */
export const GIF_DEFAULT_MAX_WIDTH = 480;

/**
 * The filters: frame rate, then Lanczos scaling keeping the aspect ratio; when
 * optimizing, a palette generated from the clip (`stats_mode=diff` favours
 * what moves) and applied with ordered dithering (compresses better than
 * error diffusion). `before`: filters the clip goes through first (a pipeline's steps).
 */
export function gifFilter(streamIndex: number, fps: number, width: number, optimize: boolean, before: readonly string[] = []): string {
  const base = [...before, `fps=${fps}`, `scale=${width}:-1:flags=lanczos`].join(',');
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
  const start = options.start_time;
  if (info.duration !== null && start >= info.duration)
    throw errors.jobFailed('GIF start is past the end of the input', `start_time ${start}s, input duration ${fmt(info.duration)}s`);
  const width = options.width ?? Math.min(frameSize(info.video).width, GIF_DEFAULT_MAX_WIDTH);
  const filter = gifFilter(info.video.index, options.fps, width, options.optimize);
  const args = [
    '-ss',
    fmt(start),
    '-t',
    fmt(options.duration),
    '-i',
    ctx.inputPath,
    ...gifOutputArgs(info.video.index, filter, options.optimize, ctx),
  ];
  return {
    runs: [args],
    outputs: [{ filename: 'output.gif', contentType: 'image/gif', format: 'gif' }],
    expectedSeconds: info.duration === null ? options.duration : Math.min(options.duration, info.duration - start),
  };
}
