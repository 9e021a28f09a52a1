import { z } from 'zod';
import { pixels, seconds } from './common.js';

export const IMAGE_FORMATS = ['png', 'jpeg', 'jpg'] as const;

/**
 * `thumbnail`: one image at `timestamp`, or `count` evenly spaced images.
 * With neither, one image from the middle of the input.
 */
export const thumbnailOptions = z
  .strictObject({
    timestamp: seconds.optional(),
    count: z.number().int().min(1).max(20).optional(),
    format: z.enum(IMAGE_FORMATS).default('png'),
    width: pixels.optional(),
    height: pixels.optional(),
  })
  .refine((o) => o.timestamp === undefined || o.count === undefined, {
    message: '`timestamp` and `count` are mutually exclusive',
    path: ['count'],
  });
export type ThumbnailOptions = z.infer<typeof thumbnailOptions>;
