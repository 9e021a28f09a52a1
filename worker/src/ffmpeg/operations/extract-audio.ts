import { errors, type ExtractAudioOptions } from '@media-foundry/shared';
import type { MediaInfo } from '../media-info.js';
import { outputPath, threadArgs, type BuildContext, type FfmpegPlan } from '../plan.js';

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

/** `extract_audio`: the first audio stream, re-encoded to `format`; fails clearly when there is none. */
export function buildExtractAudio(options: ExtractAudioOptions, info: MediaInfo, ctx: BuildContext): FfmpegPlan {
  if (!info.audio) throw errors.jobFailed('Input has no audio stream', `ffprobe found no audio in the ${info.formatName} input`);
  const target = AUDIO_TARGETS[options.format];
  const filename = `output.${target.ext}`;
  const args = ['-i', ctx.inputPath, '-map', `0:${info.audio.index}`, '-vn', '-sn', '-dn', '-c:a', target.codec];
  if (!target.lossless) args.push('-b:a', `${options.bitrate_kbps ?? target.defaultKbps}k`);
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
