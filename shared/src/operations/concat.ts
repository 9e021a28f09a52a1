import { z } from 'zod';

export const CONCAT_FORMATS = ['mp4', 'mkv'] as const;

/**
 * `concat`: the inputs (2–20, from `input.urls` or `input.filenames`) one after
 * another. Inputs with the same codecs, size and frame rate are joined without
 * re-encoding (concat demuxer); otherwise every input is scaled/padded to the
 * first one's size and frame rate and re-encoded. `reencode: true` forces that.
 */
export const concatOptions = z.strictObject({
  target_format: z.enum(CONCAT_FORMATS).default('mp4'),
  reencode: z.boolean().default(false),
});
export type ConcatOptions = z.infer<typeof concatOptions>;
