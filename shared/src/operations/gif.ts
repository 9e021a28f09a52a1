import { z } from 'zod';
import { pixels, seconds } from './common.js';

/**
 * `gif`: `duration` seconds from `start_time` as an animated GIF at `fps`,
 * `width` pixels wide keeping the aspect ratio (default: the input's width,
 * at most 480). `optimize` builds a palette from the clip itself (two-pass
 * palettegen/paletteuse): better colours and a smaller file, a little slower.
 */
export const gifOptions = z.strictObject({
  start_time: seconds.default(0),
  duration: z.number().positive().max(30).default(5),
  fps: z.number().int().min(1).max(30).default(10),
  width: pixels.optional(),
  optimize: z.boolean().default(true),
});
export type GifOptions = z.infer<typeof gifOptions>;
