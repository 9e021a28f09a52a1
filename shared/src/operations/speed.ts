import { z } from 'zod';

/** `speed`: change playback speed; `maintain_pitch` keeps audio pitch (atempo) instead of resampling. */
export const speedOptions = z.strictObject({
  speed_factor: z.number().min(0.25).max(10),
  maintain_pitch: z.boolean().default(true),
});
export type SpeedOptions = z.infer<typeof speedOptions>;
