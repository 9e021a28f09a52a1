import { z } from 'zod';
import { audioKbps } from './common.js';

/** Video codecs of an adaptive ladder (`hevc` needs an ffmpeg built with libx265). */
export const STREAMING_CODECS = ['h264', 'hevc'] as const;
export type StreamingCodec = (typeof STREAMING_CODECS)[number];

/** The heights of the default ladder, those not above the input's height taken. */
export const DEFAULT_LADDER_HEIGHTS = [1080, 720, 480, 360] as const;

/** One rung of the ladder: its height (width follows the input's aspect ratio, rounded to even), and its bitrates. */
export const rendition = z.strictObject({
  height: z.number().int().min(72).max(4320),
  /** Default: from the height (1080: 5000, 720: 2800, 480: 1400, 360: 800; others by pixel count). */
  video_bitrate_kbps: z.number().int().min(100).max(50_000).optional(),
  /** Default 128. */
  audio_bitrate_kbps: audioKbps.optional(),
});
export type Rendition = z.infer<typeof rendition>;

/**
 * What `hls` and `dash` share: the ladder, the segment length and the codec.
 * Every rendition is encoded in one ffmpeg pass (decode once, `split`, one
 * encoder per rendition) with keyframes forced at segment boundaries, so
 * segments of all renditions start at the same instants and a player can
 * switch between them at any segment.
 */
const streamingShape = {
  /** 1 to 8 renditions, distinct heights, none above the input's height. Default: 1080/720/480/360 up to the input's height. */
  renditions: z
    .array(rendition)
    .min(1)
    .max(8)
    .refine((list) => new Set(list.map((r) => r.height)).size === list.length, 'rendition heights must differ')
    .optional(),
  segment_seconds: z.number().int().min(2).max(10).default(6),
  codec: z.enum(STREAMING_CODECS).default('h264'),
};

/**
 * `hls`: an HLS ladder — `master.m3u8`, then per rendition `<height>p/index.m3u8`
 * and its segments `<height>p/seg_000.ts` (fMP4 `init_<n>.mp4` + `seg_000.m4s` with hevc).
 */
export const hlsOptions = z.strictObject(streamingShape);
export type HlsOptions = z.infer<typeof hlsOptions>;

/**
 * `dash`: a DASH ladder — `manifest.mpd` (one video and one audio adaptation
 * set), then per representation `init_<n>.m4s` and its segments `seg_<n>_001.m4s`.
 */
export const dashOptions = z.strictObject(streamingShape);
export type DashOptions = z.infer<typeof dashOptions>;
