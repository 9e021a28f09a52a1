import { z } from 'zod';

export const SUBTITLE_FORMATS = ['srt', 'vtt', 'ass'] as const;

/**
 * `subtitles`: `extract` returns a subtitle stream as a file; `burn` draws
 * one into the video. `stream_index` counts subtitle streams only (0 = the
 * first). With two inputs, `burn` takes the subtitles from the second file.
 */
export const subtitlesOptions = z.discriminatedUnion('mode', [
  z.strictObject({
    mode: z.literal('extract'),
    format: z.enum(SUBTITLE_FORMATS).default('srt'),
    stream_index: z.number().int().min(0).max(99).default(0),
  }),
  z.strictObject({
    mode: z.literal('burn'),
    stream_index: z.number().int().min(0).max(99).default(0),
  }),
]);
export type SubtitlesOptions = z.infer<typeof subtitlesOptions>;
