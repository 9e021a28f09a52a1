import { z } from 'zod';

export const WATERMARK_POSITIONS = ['top_left', 'top_right', 'bottom_left', 'bottom_right', 'center'] as const;
export type WatermarkPosition = (typeof WATERMARK_POSITIONS)[number];

/** The distribution's DejaVu Sans (Debian `fonts-dejavu-core`): WATERMARK_FONT_FILE's default. */
export const DEFAULT_WATERMARK_FONT_FILE = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf';

/** Longest watermark text, in characters. */
export const MAX_WATERMARK_TEXT = 200;

const placement = {
  position: z.enum(WATERMARK_POSITIONS).default('bottom_right'),
  /** Distance from the frame's edges, in pixels (ignored for `center`). */
  margin: z.number().int().min(0).max(1000).default(16),
  /** 0 (invisible) to 1 (as drawn). */
  opacity: z.number().min(0).max(1).default(1),
};

/**
 * `watermark`: an image (the job's second input: a PNG, alpha kept) or a
 * text drawn onto the video at `position`. `scale` is the image's width, or
 * the text's font size, as a fraction of the video's width. The audio is
 * copied. The text never reaches the filter graph: it is written to a file
 * the filter reads, with `%{…}` expansion off.
 */
export const watermarkOptions = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('image'),
    ...placement,
    scale: z.number().min(0.01).max(1).default(0.2),
  }),
  z.strictObject({
    type: z.literal('text'),
    text: z
      .string()
      .min(1)
      .max(MAX_WATERMARK_TEXT)
      // a lone surrogate would be written as U+FFFD, and control characters other than a newline draw as boxes
      .refine((s) => !/[\u0000-\u0009\u000b-\u001f\u007f]|\p{Cs}/u.test(s), 'must be printable text (newlines allowed)'),
    ...placement,
    scale: z.number().min(0.005).max(0.5).default(0.04),
    /** `#RRGGBB`. */
    color: z
      .string()
      .regex(/^#[0-9a-fA-F]{6}$/, 'must be #RRGGBB')
      .default('#ffffff'),
  }),
]);
export type WatermarkOptions = z.infer<typeof watermarkOptions>;
export type ImageWatermarkOptions = Extract<WatermarkOptions, { type: 'image' }>;
export type TextWatermarkOptions = Extract<WatermarkOptions, { type: 'text' }>;
