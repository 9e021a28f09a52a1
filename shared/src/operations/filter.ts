import { z } from 'zod';
import { pixels } from './common.js';

/** One side gives the other by the aspect ratio; both stretch to exactly that size. */
const scaleStep = z
  .strictObject({ type: z.literal('scale'), width: pixels.optional(), height: pixels.optional() })
  .refine((s) => s.width !== undefined || s.height !== undefined, {
    message: 'scale needs `width`, `height` or both',
    path: ['width'],
  });

/** Degrees, clockwise; multiples of 90 turn the frame losslessly, others fit it into a black-padded box. */
const rotateStep = z.strictObject({ type: z.literal('rotate'), angle: z.number().min(-360).max(360) });

/** The `width`×`height` area whose top-left corner is at (`x`, `y`). */
const cropStep = z.strictObject({
  type: z.literal('crop'),
  width: pixels,
  height: pixels,
  x: z.number().int().nonnegative().default(0),
  y: z.number().int().nonnegative().default(0),
});

const fpsStep = z.strictObject({ type: z.literal('fps'), fps: z.number().int().min(1).max(120) });

/** A gain factor: 1 keeps the level, 0 mutes, 2 doubles the amplitude. */
const volumeStep = z.strictObject({ type: z.literal('volume'), volume: z.number().min(0).max(10) });

/** EBU R128 loudness normalisation to -16 LUFS (the usual target for online media). */
const normalizeStep = z.strictObject({ type: z.literal('normalize') });

export const filterStep = z.discriminatedUnion('type', [scaleStep, rotateStep, cropStep, fpsStep, volumeStep, normalizeStep]);
export type FilterStep = z.infer<typeof filterStep>;
export type FilterType = FilterStep['type'];

/** Filters that act on the audio stream; the others act on the video. */
export const AUDIO_FILTER_TYPES: readonly FilterType[] = ['volume', 'normalize'];

/**
 * `filter`: up to 20 filters. Video filters (scale, rotate, crop, fps) and
 * audio filters (volume, normalize) each run as one chain, in the order given.
 */
export const filterOptions = z.strictObject({
  filters: z.array(filterStep).min(1).max(20),
});
export type FilterOptions = z.infer<typeof filterOptions>;
