import { errors, type SpeedOptions } from '@media-foundry/shared';
import type { MediaInfo } from '../media-info.js';
import type { BuildContext, FfmpegPlan } from '../plan.js';
import { AAC_ARGS, EVEN_SIZE_FILTER, FASTSTART_ARGS, fmt, H264_ARGS, isOddSized, outputPath, threadArgs } from '../plan.js';

/**
 * Splits a tempo factor into `atempo` steps each within 0.5–2.0 (the range
 * where atempo sounds clean), e.g. 5 → [2, 2, 1.25], 0.25 → [0.5, 0.5].
 */
export function atempoChain(factor: number): number[] {
  const steps: number[] = [];
  let rest = factor;
  while (rest > 2) {
    steps.push(2);
    rest /= 2;
  }
  while (rest < 0.5) {
    steps.push(0.5);
    rest /= 0.5;
  }
  if (Math.abs(rest - 1) > 1e-9 || steps.length === 0) steps.push(rest);
  return steps;
}

/** The audio filter: tempo change keeping pitch, or a tape-style resample shifting it. */
export function speedAudioFilter(factor: number, maintainPitch: boolean, sampleRate: number): string {
  if (maintainPitch)
    return atempoChain(factor)
      .map((s) => `atempo=${fmt(s)}`)
      .join(',');
  return `asetrate=${Math.round(sampleRate * factor)},aresample=${sampleRate}`;
}

/** `speed`: video by setpts, audio by atempo (pitch kept) or resampling; output lasts input / factor. */
export function buildSpeed(options: SpeedOptions, info: MediaInfo, ctx: BuildContext): FfmpegPlan {
  const f = options.speed_factor;
  if (!info.video && !info.audio) throw errors.jobFailed('Input has neither video nor audio', `format: ${info.formatName}`);
  const args = ['-i', ctx.inputPath];
  if (info.video) {
    // 4:2:0 H.264 needs even sides
    const even = isOddSized(info.video) ? `,${EVEN_SIZE_FILTER}` : '';
    args.push('-map', `0:${info.video.index}`, '-filter:v', `setpts=PTS/${fmt(f)}${even}`, ...H264_ARGS);
  } else args.push('-vn');
  if (info.audio)
    args.push(
      '-map',
      `0:${info.audio.index}`,
      '-filter:a',
      speedAudioFilter(f, options.maintain_pitch, info.audio.sampleRate ?? 44100),
      ...AAC_ARGS,
    );
  else args.push('-an');
  const filename = info.video ? 'output.mp4' : 'output.m4a';
  args.push('-sn', '-dn', ...threadArgs(ctx), ...FASTSTART_ARGS, outputPath(ctx, filename));
  return {
    runs: [args],
    outputs: [{ filename, contentType: info.video ? 'video/mp4' : 'audio/mp4', format: info.video ? 'mp4' : 'm4a' }],
    expectedSeconds: info.duration === null ? null : info.duration / f,
  };
}
