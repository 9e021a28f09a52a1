import {
  CONTAINER_CODECS,
  errors,
  type ConvertAudioCodec,
  type ConvertFormat,
  type ConvertOptions,
  type ConvertVideoCodec,
} from '@media-foundry/shared';
import type { MediaInfo } from '../media-info.js';
import {
  AAC_ARGS,
  audioEncodeArgs,
  FASTSTART_ARGS,
  H264_ARGS,
  outputPath,
  threadArgs,
  type BuildContext,
  type FfmpegPlan,
  evenSizeArgs,
} from '../plan.js';

export interface Container {
  ext: string;
  contentType: string;
  /** Muxer, when the extension alone would not pick the right one. */
  muxer?: string;
  /** MP4-family: move the index to the front so playback starts before the download ends. */
  faststart?: boolean;
}

/** How each container is written; also used by the operations that pick a container themselves. */
export const CONTAINERS: Record<ConvertFormat, Container> = {
  mp4: { ext: 'mp4', contentType: 'video/mp4', faststart: true },
  mkv: { ext: 'mkv', contentType: 'video/x-matroska' },
  webm: { ext: 'webm', contentType: 'video/webm' },
  mov: { ext: 'mov', contentType: 'video/quicktime', faststart: true },
  avi: { ext: 'avi', contentType: 'video/x-msvideo' },
  ts: { ext: 'ts', contentType: 'video/mp2t', muxer: 'mpegts' },
  flv: { ext: 'flv', contentType: 'video/x-flv', muxer: 'flv' },
};

/** The pair each container gets when the request names no codec. */
export const CONVERT_DEFAULT_CODECS: Record<ConvertFormat, { video: ConvertVideoCodec; audio: ConvertAudioCodec }> = {
  mp4: { video: 'h264', audio: 'aac' },
  mkv: { video: 'h264', audio: 'aac' },
  webm: { video: 'vp9', audio: 'opus' },
  mov: { video: 'h264', audio: 'aac' },
  avi: { video: 'mpeg4', audio: 'mp3' },
  ts: { video: 'h264', audio: 'aac' },
  flv: { video: 'h264', audio: 'aac' },
};

/**
 * Encoder and settings per codec (encoders of Debian 12's ffmpeg 5.1), tuned
 * for a service: good quality at a speed that keeps jobs short.
 */
export const VIDEO_ENCODER_ARGS: Record<ConvertVideoCodec, readonly string[]> = {
  h264: H264_ARGS,
  // x265 logs to stderr on its own; keep stderr for errors
  hevc: ['-c:v', 'libx265', '-preset', 'veryfast', '-crf', '28', '-pix_fmt', 'yuv420p', '-x265-params', 'log-level=error'],
  // VP8's CRF is constrained quality: -b:v is the ceiling
  vp8: ['-c:v', 'libvpx', '-crf', '10', '-b:v', '2M', '-deadline', 'good', '-cpu-used', '4', '-pix_fmt', 'yuv420p'],
  vp9: ['-c:v', 'libvpx-vp9', '-b:v', '0', '-crf', '31', '-row-mt', '1', '-deadline', 'good', '-cpu-used', '4', '-pix_fmt', 'yuv420p'],
  av1: ['-c:v', 'libaom-av1', '-b:v', '0', '-crf', '30', '-cpu-used', '8', '-row-mt', '1', '-pix_fmt', 'yuv420p'],
  mpeg4: ['-c:v', 'mpeg4', '-q:v', '3'],
  mjpeg: ['-c:v', 'mjpeg', '-q:v', '3'],
  // ProRes 422 (standard)
  prores: ['-c:v', 'prores_ks', '-profile:v', '2'],
  mpeg2video: ['-c:v', 'mpeg2video', '-q:v', '3'],
};

export const AUDIO_ENCODER_ARGS: Record<ConvertAudioCodec, readonly string[]> = {
  aac: AAC_ARGS,
  mp3: ['-c:a', 'libmp3lame', '-b:a', '192k'],
  opus: ['-c:a', 'libopus', '-b:a', '128k'],
  vorbis: ['-c:a', 'libvorbis', '-q:a', '5'],
  flac: ['-c:a', 'flac'],
  ac3: ['-c:a', 'ac3', '-b:a', '192k'],
  pcm_s16le: ['-c:a', 'pcm_s16le'],
};

/**
 * The MP3 sample rates a container holds, where it limits them: FLV's header
 * has a two-bit rate field (16 or 32 kHz failed), and ffmpeg's mp4 muxer
 * refuses MP3 under 16 kHz ("muxing mp3 at 11025hz is not standard"; MOV
 * takes it, checked with ffmpeg 5.1).
 */
const MP3_RATES: Partial<Record<ConvertFormat, { holds: (rate: number) => boolean; described: string }>> = {
  flv: { holds: (rate) => [44100, 22050, 11025].includes(rate), described: '44100, 22050, 11025 Hz' },
  mp4: { holds: (rate) => rate >= 16000, described: '16000 Hz and above' },
};

/** The rate an MP3 encode is resampled to where the container cannot hold the input's: one every container takes. */
const MP3_FALLBACK_RATE = 44100;

/** The rates `format` holds MP3 at, when `sampleRate` is not one of them (an unknown rate cannot be vouched for); else null. */
function mp3RateLimit(format: ConvertFormat, sampleRate: number | null): { described: string } | null {
  const rates = MP3_RATES[format];
  return rates && !rates.holds(sampleRate ?? 0) ? rates : null;
}

/**
 * `-ar` for an audio encode whose container limits the sample rate of that
 * codec: MP3 in FLV or MP4 (MP3_RATES), resampled to 44.1 kHz when the input
 * is at a rate the container cannot hold. Nothing otherwise.
 */
export function containerRateArgs(format: ConvertFormat, codec: ConvertAudioCodec, sampleRate: number | null): string[] {
  return codec === 'mp3' && mp3RateLimit(format, sampleRate) ? ['-ar', String(MP3_FALLBACK_RATE)] : [];
}

/** Whether `format` takes a stream of this (ffprobe-named) codec; an unknown codec never fits. */
export function canHold(format: ConvertFormat, kind: 'video' | 'audio', codec: string | null): boolean {
  return codec !== null && (CONTAINER_CODECS[format][kind] as readonly string[]).includes(codec);
}

function describeContainer(format: ConvertFormat): string {
  const { video, audio } = CONTAINER_CODECS[format];
  return `${format} takes video ${video.join(', ')} and audio ${audio.join(', ')}`;
}

/**
 * Why a stream of `codec` (audio at `sampleRate`) cannot go into `format` as
 * it is, or null: the container's codecs, FLV's and MP4's MP3 rates. Every
 * decision to copy a stream into a container asks here.
 */
export function copyProblem(
  format: ConvertFormat,
  kind: 'video' | 'audio',
  codec: string | null,
  sampleRate: number | null = null,
): { message: string; details: string } | null {
  if (!canHold(format, kind, codec))
    return { message: `Cannot stream-copy ${codec ?? 'unknown-codec'} ${kind} into ${format}`, details: describeContainer(format) };
  const limit = kind === 'audio' && codec === 'mp3' ? mp3RateLimit(format, sampleRate) : null;
  if (limit)
    return {
      message: `Cannot stream-copy mp3 audio at ${sampleRate ?? 'an unknown rate'} Hz into ${format}`,
      details: `${format} takes MP3 at ${limit.described}`,
    };
  return null;
}

/**
 * The bitstream filter a copy of `codec` video into `format` needs, as
 * `-bsf:v`, or nothing. AVI stores H.264 and HEVC with start codes (Annex
 * B); MP4 and Matroska store them length-prefixed, and the avi muxer, unlike
 * mpegts, inserts no filter itself. On input that is Annex B already
 * (MPEG-TS) the filters pass it through.
 */
export function copyBitstreamArgs(format: ConvertFormat, codec: string | null): string[] {
  if (format !== 'avi') return [];
  if (codec === 'h264') return ['-bsf:v', 'h264_mp4toannexb'];
  if (codec === 'hevc') return ['-bsf:v', 'hevc_mp4toannexb'];
  return [];
}

/** A stream copy needs a container that can hold every stream as it is. */
function assertCopyable(format: ConvertFormat, info: MediaInfo): void {
  for (const kind of ['video', 'audio'] as const) {
    const stream = info[kind];
    const problem = stream && copyProblem(format, kind, stream.codec, kind === 'audio' ? info.audio!.sampleRate : null);
    if (problem) throw errors.jobFailed(problem.message, `${problem.details}; use stream_copy: false to re-encode`);
  }
}

/**
 * `convert`: the first video and audio streams in `target_format`, re-encoded
 * (requested or default codecs) or stream-copied after checking the container
 * can hold them. Subtitle and data streams are dropped.
 */
export function buildConvert(options: ConvertOptions, info: MediaInfo, ctx: BuildContext): FfmpegPlan {
  if (!info.video && !info.audio) throw errors.jobFailed('Input has neither video nor audio', `format: ${info.formatName}`);
  const format = options.target_format;
  const container = CONTAINERS[format];
  const args = ['-i', ctx.inputPath];
  if (options.stream_copy) {
    assertCopyable(format, info);
    if (info.video) args.push('-map', `0:${info.video.index}`);
    if (info.audio) args.push('-map', `0:${info.audio.index}`);
    args.push('-c', 'copy', ...copyBitstreamArgs(format, info.video?.codec ?? null));
  } else {
    const defaults = CONVERT_DEFAULT_CODECS[format];
    if (info.video) {
      const codec = options.video_codec ?? defaults.video;
      args.push('-map', `0:${info.video.index}`, ...evenSizeArgs(info.video), ...VIDEO_ENCODER_ARGS[codec]);
      // Apple players only accept HEVC in MP4/MOV tagged hvc1 (ffmpeg's default is hev1)
      if (codec === 'hevc' && container.faststart) args.push('-tag:v', 'hvc1');
    } else args.push('-vn');
    if (info.audio) {
      const codec = options.audio_codec ?? defaults.audio;
      args.push(
        '-map',
        `0:${info.audio.index}`,
        ...audioEncodeArgs([], AUDIO_ENCODER_ARGS[codec]),
        ...containerRateArgs(format, codec, info.audio.sampleRate),
      );
    } else args.push('-an');
  }
  const filename = `output.${container.ext}`;
  args.push('-sn', '-dn', ...threadArgs(ctx), ...(container.faststart ? FASTSTART_ARGS : []));
  if (container.muxer) args.push('-f', container.muxer);
  args.push(outputPath(ctx, filename));
  return {
    runs: [args],
    outputs: [{ filename, contentType: container.contentType, format }],
    expectedSeconds: info.duration,
  };
}
