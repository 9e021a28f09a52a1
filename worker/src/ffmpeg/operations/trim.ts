import { errors, type TrimOptions } from '@media-foundry/shared';
import type { MediaInfo } from '../media-info.js';
import type { BuildContext, FfmpegPlan, PlannedOutput } from '../plan.js';
import { AAC_ARGS, evenSizeArgs, FASTSTART_ARGS, fmt, H264_ARGS, outputPath, seekArgs, threadArgs } from '../plan.js';
import { canHold, copyProblem } from './convert.js';

/** An `end_time` this far past the probed duration is rounding (containers disagree by a frame or so): clamp it. */
export const TRIM_END_TOLERANCE_SECONDS = 0.05;

/**
 * The output file: re-encoded, MP4 (M4A without video); copied, MP4 when it
 * can hold the streams (MP3 under 16 kHz it cannot), else Matroska (M4A/MKA
 * for audio alone).
 */
export function trimOutput(info: MediaInfo, streamCopy: boolean): PlannedOutput {
  const audioFits = !info.audio || !copyProblem('mp4', 'audio', info.audio.codec, info.audio.sampleRate);
  if (info.video) {
    const mp4 = !streamCopy || (canHold('mp4', 'video', info.video.codec) && audioFits);
    return mp4
      ? { filename: 'output.mp4', contentType: 'video/mp4', format: 'mp4' }
      : { filename: 'output.mkv', contentType: 'video/x-matroska', format: 'mkv' };
  }
  // the M4A muxer takes AAC, not every codec MP4 does
  const m4a = !streamCopy || info.audio?.codec === 'aac';
  return m4a
    ? { filename: 'output.m4a', contentType: 'audio/mp4', format: 'm4a' }
    : { filename: 'output.mka', contentType: 'audio/x-matroska', format: 'mka' };
}

/**
 * `trim`: `-ss` before `-i` (input seeking: fast, and frame-accurate when
 * re-encoding) and `-t` for the length. A stream copy cuts at keyframes and
 * shifts timestamps to start at zero. Times are checked against the probed
 * duration when there is one.
 */
export function buildTrim(options: TrimOptions, info: MediaInfo, ctx: BuildContext): FfmpegPlan {
  if (!info.video && !info.audio) throw errors.jobFailed('Input has neither video nor audio', `format: ${info.formatName}`);
  const start = options.start_time;
  let end = options.end_time;
  if (info.duration !== null) {
    if (start >= info.duration)
      throw errors.jobFailed('Trim start is past the end of the input', `start_time ${start}s, input duration ${fmt(info.duration)}s`);
    if (end !== undefined && end > info.duration) {
      if (end > info.duration + TRIM_END_TOLERANCE_SECONDS)
        throw errors.jobFailed('Trim end is past the end of the input', `end_time ${end}s, input duration ${fmt(info.duration)}s`);
      end = info.duration;
    }
  }
  // a stream copy starts at a keyframe whatever the demuxer: only a re-encode decodes its way to the time
  const seek = options.stream_copy ? { input: ['-ss', fmt(start)], output: [] } : seekArgs(info.formatName, start);
  const args = [...seek.input, '-i', ctx.inputPath, ...seek.output];
  if (end !== undefined) args.push('-t', fmt(end - start));
  if (options.stream_copy) {
    if (info.video) args.push('-map', `0:${info.video.index}`);
    if (info.audio) args.push('-map', `0:${info.audio.index}`);
    args.push('-c', 'copy', '-avoid_negative_ts', 'make_zero');
  } else {
    if (info.video) args.push('-map', `0:${info.video.index}`, ...evenSizeArgs(info.video), ...H264_ARGS);
    else args.push('-vn');
    if (info.audio) args.push('-map', `0:${info.audio.index}`, ...AAC_ARGS);
    else args.push('-an');
  }
  const output = trimOutput(info, options.stream_copy);
  const mp4Family = output.format === 'mp4' || output.format === 'm4a';
  args.push('-sn', '-dn', ...threadArgs(ctx), ...(mp4Family ? FASTSTART_ARGS : []), outputPath(ctx, output.filename));
  const length = end !== undefined ? end - start : info.duration !== null ? info.duration - start : null;
  return { runs: [args], outputs: [output], expectedSeconds: length };
}
