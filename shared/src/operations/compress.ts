import { z } from 'zod';
import { audioKbps, pixels } from './common.js';

export const COMPRESS_PRESET_NAMES = ['low', 'medium', 'high', 'custom'] as const;
export type CompressPreset = (typeof COMPRESS_PRESET_NAMES)[number];
export const COMPRESS_FORMATS = ['mp4', 'mkv', 'webm'] as const;

export interface CompressPresetSettings {
  /** x264 CRF (0–51); WebM output maps it onto VP9's 0–63. */
  crf: number;
  /** x264 `-preset`: slower presets make smaller files at the same quality. */
  x264Preset: 'veryfast' | 'medium' | 'slow';
  audioKbps: number;
}

/**
 * What each `preset` means (`custom`: the defaults when `crf` and the bitrates are not given).
 *
 * | preset | crf | x264 preset | audio    |
 * |--------|-----|-------------|----------|
 * | low    | 32  | veryfast    | 96 kbps  |
 * | medium | 28  | medium      | 128 kbps |
 * | high   | 23  | slow        | 192 kbps |
 * | custom | 23  | medium      | 128 kbps |
 */
export const COMPRESS_PRESETS: Record<CompressPreset, CompressPresetSettings> = {
  low: { crf: 32, x264Preset: 'veryfast', audioKbps: 96 },
  medium: { crf: 28, x264Preset: 'medium', audioKbps: 128 },
  high: { crf: 23, x264Preset: 'slow', audioKbps: 192 },
  custom: { crf: 23, x264Preset: 'medium', audioKbps: 128 },
};

/** Bytes in one `target_size_mb` megabyte: decimal, so a result fits a limit stated in MB or in MiB alike. */
export const TARGET_SIZE_BYTES_PER_MB = 1_000_000;

/**
 * `compress`: re-encode smaller. `preset` picks quality and speed (see
 * {@link COMPRESS_PRESETS}: low 32/veryfast/96k, medium 28/medium/128k,
 * high 23/slow/192k, custom 23/medium/128k); an explicit `crf`,
 * `video_bitrate_kbps` or `audio_bitrate_kbps` overrides the preset's value.
 * `video_bitrate_kbps` alone targets that bitrate; with `crf` it caps the
 * constant-quality encode instead. `max_width`/`max_height` shrink the frame
 * to fit, keeping the aspect ratio, and never enlarge it. mp4/mkv are
 * H.264/AAC, webm is VP9/Opus. `target_size_mb` (instead of `crf` and
 * `video_bitrate_kbps`) asks for a file of at most that many MB (1 MB =
 * 1,000,000 bytes): the worker derives the video bitrate from the output's
 * duration and encodes in two passes.
 */
export const compressOptions = z
  .strictObject({
    preset: z.enum(COMPRESS_PRESET_NAMES).default('medium'),
    crf: z.number().int().min(0).max(51).optional(),
    video_bitrate_kbps: z.number().int().min(50).max(200_000).optional(),
    audio_bitrate_kbps: audioKbps.optional(),
    max_width: pixels.optional(),
    max_height: pixels.optional(),
    target_format: z.enum(COMPRESS_FORMATS).default('mp4'),
    target_size_mb: z.number().min(0.1).max(10_000).optional(),
  })
  .superRefine((o, ctx) => {
    if (o.target_size_mb === undefined) return;
    for (const field of ['crf', 'video_bitrate_kbps'] as const)
      if (o[field] !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: [field],
          message: `\`${field}\` cannot be combined with \`target_size_mb\` (the size decides the bitrate)`,
        });
  });
export type CompressOptions = z.infer<typeof compressOptions>;
