import { COMPRESS_PRESETS, errors, type CompressOptions } from '@media-foundry/shared';
import type { MediaInfo, VideoStreamInfo } from '../media-info.js';
import {
  audioEncodeArgs,
  FASTSTART_ARGS,
  outputPath,
  threadArgs,
  type BuildContext,
  type FfmpegPlan,
  type PlannedOutput,
} from '../plan.js';
import { audioPacketsPerSecond, NULL_OUTPUT, passlogPath, targetRates, twoPassVideoArgs } from './target-size.js';

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

/** What the compress encode reads: the streams as the steps before it leave them (a pipeline), or the input as it is. */
export interface CompressSource {
  /** Everything up to and including `-i <input>` (input seeking included). */
  inputArgs: string[];
  videoIndex: number;
  /** The frame size reaching the encoder before compress's own scaling. */
  size: Size;
  fps: number | null;
  /** Seconds of output; a size target needs it. */
  duration: number | null;
  audio: { index: number; channels: number | null; sampleRate: number | null } | null;
  /** Filters before compress's own (a pipeline's steps). */
  videoFilters: string[];
  audioFilters: string[];
}

/**
 * The runs and the output of a compress encode of `source`: one run at a
 * CRF or bitrate, or with `target_size_mb` two passes at the bitrate the size
 * allows (the first writes only its log, into `workDir`).
 */
export function compressRuns(
  options: CompressOptions,
  source: CompressSource,
  ctx: BuildContext & { workDir?: string },
): { runs: string[][]; output: PlannedOutput } {
  const preset = COMPRESS_PRESETS[options.preset];
  const format = options.target_format;
  const webm = format === 'webm';
  const target = fitWithin(source.size.width, source.size.height, options.max_width, options.max_height);
  const resized = target.width !== source.size.width || target.height !== source.size.height;
  const videoFilters = [...source.videoFilters, ...(resized ? [`scale=${target.width}:${target.height}`] : [])];
  const videoIn = [
    ...source.inputArgs,
    '-map',
    `0:${source.videoIndex}`,
    ...(videoFilters.length > 0 ? ['-vf', videoFilters.join(',')] : []),
  ];
  const container = OUTPUTS[format];
  const filename = `output.${container.ext}`;
  const tail = ['-sn', '-dn', ...threadArgs(ctx), ...(container.faststart ? FASTSTART_ARGS : []), outputPath(ctx, filename)];
  const output: PlannedOutput = { filename, contentType: container.contentType, format };
  const audioOut = (kbps: number): string[] => {
    if (!source.audio) return ['-an'];
    const codec = webm ? ['-c:a', 'libopus', '-b:a', `${opusKbps(kbps, source.audio.channels)}k`] : ['-c:a', 'aac', '-b:a', `${kbps}k`];
    return ['-map', `0:${source.audio.index}`, ...audioEncodeArgs(source.audioFilters, codec)];
  };

  if (options.target_size_mb !== undefined) {
    if (source.duration === null)
      throw errors.jobFailed('Input duration is unknown', 'target_size_mb needs the duration of the output to choose a bitrate');
    const rates = targetRates({
      targetMb: options.target_size_mb,
      duration: source.duration,
      video: { size: target, fps: source.fps },
      audio: source.audio && {
        requestedKbps: options.audio_bitrate_kbps,
        presetKbps: preset.audioKbps,
        packetsPerSecond: audioPacketsPerSecond(webm, source.audio.sampleRate),
      },
    });
    const passlog = passlogPath(ctx.workDir ?? ctx.outputDir);
    const pass = (n: 1 | 2) => twoPassVideoArgs(webm, preset.x264Preset, rates.videoKbps, n, passlog);
    return {
      runs: [
        [...videoIn, ...pass(1), '-an', '-sn', '-dn', ...threadArgs(ctx), ...NULL_OUTPUT],
        [...videoIn, ...pass(2), ...audioOut(rates.audioKbps ?? 0), ...tail],
      ],
      output: { ...output, maxBytes: rates.maxBytes },
    };
  }
  const kbps = options.video_bitrate_kbps;
  // a bitrate alone sets the rate; otherwise the requested (or the preset's) CRF does
  const crf = options.crf ?? (kbps === undefined ? preset.crf : undefined);
  const args = [
    ...videoIn,
    ...videoArgs(webm, preset.x264Preset, crf, kbps),
    ...audioOut(options.audio_bitrate_kbps ?? preset.audioKbps),
    ...tail,
  ];
  return { runs: [args], output };
}

/**
 * `compress`: H.264/AAC (mp4, mkv) or VP9/Opus (webm) at the preset's quality,
 * with explicit values overriding the preset, shrunk to fit
 * `max_width`×`max_height` (a `scale` filter only when the size changes);
 * with `target_size_mb`, two passes at the bitrate the size allows.
 */
export function buildCompress(options: CompressOptions, info: MediaInfo, ctx: BuildContext & { workDir?: string }): FfmpegPlan {
  if (!info.video) throw errors.jobFailed('Input has no video stream', `ffprobe found no video in the ${info.formatName} input`);
  const { runs, output } = compressRuns(
    options,
    {
      inputArgs: ['-i', ctx.inputPath],
      videoIndex: info.video.index,
      size: frameSize(info.video),
      fps: info.video.fps,
      duration: info.duration,
      audio: info.audio,
      videoFilters: [],
      audioFilters: [],
    },
    ctx,
  );
  return { runs, outputs: [output], expectedSeconds: info.duration };
}
