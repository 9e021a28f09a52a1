import { z } from 'zod';
import { seconds } from './common.js';

/**
 * `trim`: the part from `start_time` to `end_time` (default: the end of the
 * input). By default re-encoded, so the cut is frame-accurate; `stream_copy`
 * copies instead: fast and lossless, but the cut snaps to keyframes.
 */
export const trimOptions = z
  .strictObject({
    start_time: seconds.default(0),
    end_time: seconds.optional(),
    stream_copy: z.boolean().default(false),
  })
  .refine((o) => o.end_time === undefined || o.end_time > o.start_time, {
    message: '`end_time` must be after `start_time`',
    path: ['end_time'],
  });
export type TrimOptions = z.infer<typeof trimOptions>;
