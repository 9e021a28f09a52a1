import { z } from 'zod';

/**
 * `remove_audio`: the video stream alone. `keep_video_quality` copies it
 * untouched (fast, lossless); `false` re-encodes it to H.264.
 */
export const removeAudioOptions = z.strictObject({
  keep_video_quality: z.boolean().default(true),
});
export type RemoveAudioOptions = z.infer<typeof removeAudioOptions>;
