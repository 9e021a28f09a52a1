import { COMPRESS_PRESETS, errors, type CompressOptions } from '@media-foundry/shared';
import type { MediaInfo, VideoStreamInfo } from '../media-info.js';
import { FASTSTART_ARGS, outputPath, threadArgs, type BuildContext, type FfmpegPlan } from '../plan.js';

/** A frame size in pixels. */
export interface Size {
  width: number;
  height: number;
}

/**
 * The size frames reach the filters with. ffmpeg autorotates, so a stream
 * whose display matrix turns it by ±90° (phone videos) arrives with its
 * sides swapped; `rotation` is read when the probe provides it.
 */
export function frameSize(video: VideoStreamInfo & { rotation?: number | null }): Size {
  const quarterTurn = Math.abs(Math.round(video.rotation ?? 0)) % 180 === 90;
  return quarterTurn ? { width: video.height, height: video.width } : { width: video.width, height: video.height };
}

/** The largest even number ≤ n, at least 2. */
function evenAtMost(n: number): number {
  return Math.max(2, Math.floor(n / 2) * 2);
}

/**
 * The size that fits `width`×`height` within `maxW`×`maxH` (either optional)
 * keeping the aspect ratio: never larger than the input, both sides even
 * (4:2:0 encoders need that). An odd input that already fits is trimmed to even.
 */
export function fitWithin(width: number, height: number, maxW?: number, maxH?: number): Size {
  const limitW = Math.min(width, maxW ?? width);
  const limitH = Math.min(height, maxH ?? height);
  const factor = Math.min(limitW / width, limitH / height);
  // nearest even value, but never past the limit (the bound, or the input: no upscaling)
  const side = (exact: number, limit: number) => Math.min(Math.max(2, Math.round(exact / 2) * 2), evenAtMost(limit));
  return { width: side(width * factor, limitW), height: side(height * factor, limitH) };
}

/** The containers `compress` writes (not convert.ts's table: convert imports this module). */
const OUTPUTS: Record<CompressOptions['target_format'], { ext: string; contentType: string; faststart: boolean }> = {
  mp4: { ext: 'mp4', contentType: 'video/mp4', faststart: true },
  mkv: { ext: 'mkv', contentType: 'video/x-matroska', faststart: false },
  webm: { ext: 'webm', contentType: 'video/webm', faststart: false },
};

/** x264's CRF scale (0–51) mapped linearly onto VP9's (0–63): 23 → 28, 28 → 35, 32 → 40. */
export function vp9Crf(x264Crf: number): number {
  return Math.round((x264Crf * 63) / 51);
}

/** libopus refuses more than 256 kbps per channel (an unknown layout counts as mono). */
export function opusKbps(kbps: number, channels: number | null): number {
  return Math.min(kbps, 256 * Math.max(1, channels ?? 1));
}

/**
 * The video rate control: constant quality (`crf`), a target bitrate
 * (`video_bitrate_kbps` alone), or constant quality capped at the bitrate (both).
 */
function videoArgs(webm: boolean, x264Preset: string, crf: number | undefined, kbps: number | undefined): string[] {
  if (webm) {
    // VP9: -b:v 0 with -crf is constant quality; -b:v N with -crf is VP9's own "constrained quality"
    const rate = kbps === undefined ? ['-b:v', '0'] : ['-b:v', `${kbps}k`];
    const quality = crf === undefined ? [] : ['-crf', String(vp9Crf(crf))];
    return ['-c:v', 'libvpx-vp9', ...rate, ...quality, '-row-mt', '1', '-deadline', 'good', '-cpu-used', '4', '-pix_fmt', 'yuv420p'];
  }
  const rate =
    crf === undefined
      ? ['-b:v', `${kbps}k`]
      : ['-crf', String(crf), ...(kbps === undefined ? [] : ['-maxrate', `${kbps}k`, '-bufsize', `${kbps * 2}k`])];
  return ['-c:v', 'libx264', '-preset', x264Preset, ...rate, '-pix_fmt', 'yuv420p'];
}

/**
 * `compress`: H.264/AAC (mp4, mkv) or VP9/Opus (webm) at the preset's quality,
 * with explicit values overriding the preset, shrunk to fit
 * `max_width`×`max_height` (a `scale` filter only when the size changes).
 */
export function buildCompress(options: CompressOptions, info: MediaInfo, ctx: BuildContext): FfmpegPlan {
  if (!info.video) throw errors.jobFailed('Input has no video stream', `ffprobe found no video in the ${info.formatName} input`);
  const preset = COMPRESS_PRESETS[options.preset];
  const format = options.target_format;
  const webm = format === 'webm';
  const kbps = options.video_bitrate_kbps;
  // a bitrate alone sets the rate; otherwise the requested (or the preset's) CRF does
  const crf = options.crf ?? (kbps === undefined ? preset.crf : undefined);
  const source = frameSize(info.video);
  const target = fitWithin(source.width, source.height, options.max_width, options.max_height);
  const resized = target.width !== source.width || target.height !== source.height;

  const args = ['-i', ctx.inputPath, '-map', `0:${info.video.index}`];
  if (resized) args.push('-vf', `scale=${target.width}:${target.height}`);
  args.push(...videoArgs(webm, preset.x264Preset, crf, kbps));
  if (info.audio) {
    const audioKbps = options.audio_bitrate_kbps ?? preset.audioKbps;
    args.push('-map', `0:${info.audio.index}`);
    if (webm) args.push('-c:a', 'libopus', '-b:a', `${opusKbps(audioKbps, info.audio.channels)}k`);
    else args.push('-c:a', 'aac', '-b:a', `${audioKbps}k`);
  } else args.push('-an');
  const container = OUTPUTS[format];
  const filename = `output.${container.ext}`;
  args.push('-sn', '-dn', ...threadArgs(ctx), ...(container.faststart ? FASTSTART_ARGS : []), outputPath(ctx, filename));
  return {
    runs: [args],
    outputs: [{ filename, contentType: container.contentType, format }],
    expectedSeconds: info.duration,
  };
}
