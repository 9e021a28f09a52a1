import { AUDIO_FILTER_TYPES, errors, type FilterOptions, type FilterStep } from '@media-foundry/shared';
import type { MediaInfo } from '../media-info.js';
import type { BuildContext, FfmpegPlan } from '../plan.js';
import { AAC_ARGS, EVEN_SIZE_FILTER, evenSizeArgs, FASTSTART_ARGS, fmt, H264_ARGS, outputPath, threadArgs } from '../plan.js';
import { frameSize, type Size } from './compress.js';
import { canHold, copyProblem } from './convert.js';

/** `normalize`: EBU R128 to -16 LUFS integrated, -1.5 dBTP peak, 11 LU range. */
export const LOUDNORM_FILTER = 'loudnorm=I=-16:TP=-1.5:LRA=11';

type AudioStep = Extract<FilterStep, { type: 'volume' | 'normalize' }>;
type VideoStep = Exclude<FilterStep, AudioStep>;

export function isAudioStep(step: FilterStep): step is AudioStep {
  return AUDIO_FILTER_TYPES.includes(step.type);
}

/**
 * The frame `scale=width:height` makes of a `size` one, a missing side as ffmpeg's `-2` computes it (from the
 * aspect ratio, rounded to even). A side under 2 pixels is refused here, in words (`what`: the step, for the
 * details), rather than by ffmpeg's scaler mid-run.
 */
export function scaledSize(size: Size, width: number | undefined, height: number | undefined, what: string): Size {
  const next =
    width !== undefined && height !== undefined
      ? { width, height }
      : width !== undefined
        ? { width, height: 2 * Math.round((width * size.height) / (size.width * 2)) }
        : { width: 2 * Math.round((height! * size.width) / (size.height * 2)), height: height! };
  if (next.width < 2 || next.height < 2)
    throw errors.jobFailed('Scaling would leave no picture', `${what} gives ${next.width}x${next.height}`);
  return next;
}

/**
 * The bounding box of a `width`×`height` frame turned by `degrees`, as the
 * rotate filter computes it for `ow=rotw(a):oh=roth(a)`: |w·cos| + |h·sin| by
 * |w·sin| + |h·cos|, with sin and cos in single precision, rounded.
 */
export function rotatedSize(size: Size, degrees: number): Size {
  const angle = (degrees * Math.PI) / 180;
  const sin = Math.abs(Math.fround(Math.sin(angle)));
  const cos = Math.abs(Math.fround(Math.cos(angle)));
  return {
    width: Math.floor(size.width * cos + size.height * sin + 0.5),
    height: Math.floor(size.width * sin + size.height * cos + 0.5),
  };
}

/** The ffmpeg filters for one video step and the frame size they leave; `index` names the step in errors. */
export function videoStepFilters(step: VideoStep, size: Size, index: number): { filters: string[]; size: Size } {
  switch (step.type) {
    case 'scale':
      return {
        filters: [`scale=${step.width ?? -2}:${step.height ?? -2}`],
        size: scaledSize(size, step.width, step.height, `filters[${index}]: scaling the ${size.width}x${size.height} frame it receives`),
      };
    case 'rotate': {
      // the angle as written into the filter (6 decimals), so the size below is what ffmpeg computes
      const angle = Number(fmt(step.angle));
      const turn = ((angle % 360) + 360) % 360;
      const swapped = { width: size.height, height: size.width };
      if (turn === 0) return { filters: [], size };
      if (turn === 90) return { filters: ['transpose=1'], size: swapped };
      if (turn === 180) return { filters: ['hflip', 'vflip'], size };
      if (turn === 270) return { filters: ['transpose=2'], size: swapped };
      const a = `${fmt(angle)}*PI/180`;
      return { filters: [`rotate=${a}:ow=rotw(${a}):oh=roth(${a}):c=black`], size: rotatedSize(size, angle) };
    }
    case 'crop':
      if (step.x + step.width > size.width || step.y + step.height > size.height)
        throw errors.jobFailed(
          'Crop area is outside the frame',
          `filters[${index}]: crop ${step.width}x${step.height} at (${step.x},${step.y}) does not fit the ${size.width}x${size.height} frame it receives`,
        );
      return {
        filters: [`crop=${step.width}:${step.height}:${step.x}:${step.y}`],
        size: { width: step.width, height: step.height },
      };
    case 'fps':
      return { filters: [`fps=${step.fps}`], size };
  }
}

/**
 * The video chain for the video steps of `steps`, in order, tracking the
 * frame size from `input`; ends by rounding to even sides when the tracked
 * size is odd. Empty when no step changes the video.
 */
export function videoChain(steps: readonly FilterStep[], input: Size): { filters: string[]; size: Size } {
  const filters: string[] = [];
  let size = input;
  steps.forEach((step, index) => {
    if (isAudioStep(step)) return;
    const applied = videoStepFilters(step, size, index);
    filters.push(...applied.filters);
    size = applied.size;
  });
  if (filters.length > 0 && (size.width % 2 !== 0 || size.height % 2 !== 0)) {
    filters.push(EVEN_SIZE_FILTER);
    size = { width: Math.floor(size.width / 2) * 2, height: Math.floor(size.height / 2) * 2 };
  }
  return { filters, size };
}

/**
 * The audio chain. loudnorm outputs 192 kHz, so a normalized chain converts
 * back to `sampleRate` (with aformat: a plain aresample after loudnorm fails
 * on stereo in ffmpeg 5.1, "Cannot select channel layout").
 */
export function audioChain(steps: readonly FilterStep[], sampleRate: number): string[] {
  const filters: string[] = [];
  for (const step of steps) {
    if (step.type === 'volume') filters.push(`volume=${fmt(step.volume)}`);
    else if (step.type === 'normalize') filters.push(LOUDNORM_FILTER);
  }
  if (steps.some((s) => s.type === 'normalize')) filters.push(`aformat=sample_rates=${sampleRate}`);
  return filters;
}

/**
 * `filter`: the video steps as one chain (H.264), the audio steps as another
 * (AAC), into MP4 (M4A for audio alone). A stream no step changes is copied
 * when MP4 can hold it as it is (copyProblem), and re-encoded otherwise.
 */
export function buildFilter(options: FilterOptions, info: MediaInfo, ctx: BuildContext): FfmpegPlan {
  const steps = options.filters;
  steps.forEach((step, index) => {
    if (isAudioStep(step) && !info.audio)
      throw errors.jobFailed(
        'Audio filter needs an audio stream',
        `filters[${index}] (${step.type}): ffprobe found no audio in the ${info.formatName} input`,
      );
    if (!isAudioStep(step) && !info.video)
      throw errors.jobFailed(
        'Video filter needs a video stream',
        `filters[${index}] (${step.type}): ffprobe found no video in the ${info.formatName} input`,
      );
  });
  const args = ['-i', ctx.inputPath];
  if (info.video) {
    const chain = videoChain(steps, frameSize(info.video)).filters;
    args.push('-map', `0:${info.video.index}`);
    if (chain.length > 0) args.push('-vf', chain.join(','), ...H264_ARGS);
    else if (canHold('mp4', 'video', info.video.codec)) args.push('-c:v', 'copy');
    else args.push(...evenSizeArgs(info.video), ...H264_ARGS);
  } else args.push('-vn');
  if (info.audio) {
    const chain = audioChain(steps, info.audio.sampleRate ?? 48000);
    args.push('-map', `0:${info.audio.index}`);
    if (chain.length > 0) args.push('-af', chain.join(','), ...AAC_ARGS);
    else if (!copyProblem('mp4', 'audio', info.audio.codec, info.audio.sampleRate)) args.push('-c:a', 'copy');
    else args.push(...AAC_ARGS);
  } else args.push('-an');
  const output = info.video
    ? { filename: 'output.mp4', contentType: 'video/mp4', format: 'mp4' }
    : { filename: 'output.m4a', contentType: 'audio/mp4', format: 'm4a' };
  args.push('-sn', '-dn', ...threadArgs(ctx), ...FASTSTART_ARGS, outputPath(ctx, output.filename));
  return { runs: [args], outputs: [output], expectedSeconds: info.duration };
}
