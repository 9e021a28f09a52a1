import { z } from 'zod';

/** Seconds into the media; finite and non-negative. */
export const seconds = z.number().finite().nonnegative();

/** A frame dimension in pixels (the ceiling keeps filter graphs and memory sane). */
export const pixels = z.number().int().min(2).max(8192);

/** Audio bitrate in kbps. */
export const audioKbps = z.number().int().min(8).max(640);
