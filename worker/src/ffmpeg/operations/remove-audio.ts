import { errors, type RemoveAudioOptions } from '@media-foundry/shared';
import type { MediaInfo } from '../media-info.js';
import { FASTSTART_ARGS, H264_ARGS, outputPath, threadArgs, type BuildContext, type FfmpegPlan, evenSizeArgs } from '../plan.js';
import { canHold, CONTAINERS } from './convert.js';

/** Where a copied video codec goes: MP4 when it can (h264, hevc, mpeg4, av1), WebM for VP8/VP9, else Matroska. */
export function copyContainer(codec: string | null): 'mp4' | 'webm' | 'mkv' {
  if (canHold('mp4', 'video', codec)) return 'mp4';
  if (canHold('webm', 'video', codec)) return 'webm';
  return 'mkv';
}

/**
 * `remove_audio`: the first video stream alone (no audio, subtitles or data),
 * copied as it is or re-encoded to H.264 MP4.
 */
export function buildRemoveAudio(options: RemoveAudioOptions, info: MediaInfo, ctx: BuildContext): FfmpegPlan {
  if (!info.video) throw errors.jobFailed('Input has no video stream', `ffprobe found no video in the ${info.formatName} input`);
  const format = options.keep_video_quality ? copyContainer(info.video.codec) : 'mp4';
  const container = CONTAINERS[format];
  const filename = `output.${container.ext}`;
  const args = [
    '-i',
    ctx.inputPath,
    '-map',
    `0:${info.video.index}`,
    ...(options.keep_video_quality ? ['-c:v', 'copy'] : [...evenSizeArgs(info.video), ...H264_ARGS]),
    '-an',
    '-sn',
    '-dn',
    ...threadArgs(ctx),
    ...(container.faststart ? FASTSTART_ARGS : []),
    outputPath(ctx, filename),
  ];
  return {
    runs: [args],
    outputs: [{ filename, contentType: container.contentType, format }],
    expectedSeconds: info.duration,
  };
}
