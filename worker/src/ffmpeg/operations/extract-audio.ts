import { errors, type ExtractAudioOptions } from '@media-foundry/shared';
import type { MediaInfo } from '../media-info.js';
import { audioEncodeArgs, outputPath, threadArgs, type BuildContext, type FfmpegPlan } from '../plan.js';
import { opusKbps } from './compress.js';

type AudioFormat = ExtractAudioOptions['format'];

interface AudioTarget {
  codec: string;
  /** Muxer, when the extension alone would not pick the right one. */
  muxer?: string;
  ext: string;
  contentType: string;
  /** Lossless formats have no bitrate to set. */
  lossless?: boolean;
  defaultKbps?: number;
  extra?: string[];
}

/** Codec and container per `format` (ogg → Vorbis, opus → Opus in Ogg, m4a → AAC in MP4). */
export const AUDIO_TARGETS: Record<AudioFormat, AudioTarget> = {
  mp3: { codec: 'libmp3lame', ext: 'mp3', contentType: 'audio/mpeg', defaultKbps: 192 },
  aac: { codec: 'aac', muxer: 'adts', ext: 'aac', contentType: 'audio/aac', defaultKbps: 192 },
  wav: { codec: 'pcm_s16le', ext: 'wav', contentType: 'audio/wav', lossless: true },
  opus: { codec: 'libopus', muxer: 'ogg', ext: 'opus', contentType: 'audio/ogg', defaultKbps: 128 },
  m4a: { codec: 'aac', muxer: 'ipod', ext: 'm4a', contentType: 'audio/mp4', defaultKbps: 192, extra: ['-movflags', '+faststart'] },
  flac: { codec: 'flac', ext: 'flac', contentType: 'audio/flac', lossless: true },
  ogg: { codec: 'libvorbis', ext: 'ogg', contentType: 'audio/ogg', defaultKbps: 192 },
};

/** Vorbis' nominal bitrate (kbps, 44.1 kHz stereo) at quality 0 … 10. */
const VORBIS_NOMINAL_KBPS = [64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 500];

/** The Vorbis quality whose nominal bitrate is nearest `kbps`. */
export function vorbisQuality(kbps: number): number {
  let best = 0;
  VORBIS_NOMINAL_KBPS.forEach((nominal, q) => {
    if (Math.abs(nominal - kbps) < Math.abs(VORBIS_NOMINAL_KBPS[best]! - kbps)) best = q;
  });
  return best;
}

/**
 * The rate control of an audio encode to `format` at `kbps` (its default
 * when absent), `channels` the input's. libvorbis refuses a fixed bitrate
 * outside a range that depends on the sample rate (192k at 8 or 96 kHz, 32k
 * at 44.1 kHz): Vorbis gets the quality nearest the bitrate instead. libopus
 * takes at most 256 kbps a channel.
 */
export function audioRateArgs(format: AudioFormat, kbps: number | undefined, channels: number | null): string[] {
  const target = AUDIO_TARGETS[format];
  if (target.lossless) return [];
  const wanted = kbps ?? target.defaultKbps!;
  if (format === 'ogg') return ['-q:a', String(vorbisQuality(wanted))];
  if (format === 'opus') return ['-b:a', `${opusKbps(wanted, channels)}k`];
  return ['-b:a', `${wanted}k`];
}

/** `extract_audio`: the first audio stream, re-encoded to `format`; fails clearly when there is none. */
export function buildExtractAudio(options: ExtractAudioOptions, info: MediaInfo, ctx: BuildContext): FfmpegPlan {
  if (!info.audio) throw errors.jobFailed('Input has no audio stream', `ffprobe found no audio in the ${info.formatName} input`);
  const target = AUDIO_TARGETS[options.format];
  const filename = `output.${target.ext}`;
  const args = ['-i', ctx.inputPath, '-map', `0:${info.audio.index}`, '-vn', '-sn', '-dn', ...audioEncodeArgs([], ['-c:a', target.codec])];
  args.push(...audioRateArgs(options.format, options.bitrate_kbps, info.audio.channels));
  if (options.sample_rate !== undefined) args.push('-ar', String(options.sample_rate));
  args.push(...(target.extra ?? []), ...threadArgs(ctx));
  if (target.muxer) args.push('-f', target.muxer);
  args.push(outputPath(ctx, filename));
  return {
    runs: [args],
    outputs: [{ filename, contentType: target.contentType, format: options.format }],
    expectedSeconds: info.duration,
  };
}
