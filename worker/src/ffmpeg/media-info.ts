/**
 * What ffprobe says about a file, parsed (ffprobe's JSON is an external input
 * like any other) and reduced to what the argument builders need.
 */
import { z } from 'zod';
import type { OutputMetadata } from '@media-foundry/shared';

const num = z
  .union([z.number(), z.string()])
  .optional()
  .transform((v) => {
    const n = typeof v === 'string' ? Number(v) : v;
    return n !== undefined && Number.isFinite(n) ? n : undefined;
  });

const ffprobeStream = z.looseObject({
  index: z.number(),
  codec_type: z.string().optional(),
  codec_name: z.string().optional(),
  width: z.number().optional(),
  height: z.number().optional(),
  sample_rate: num,
  channels: z.number().optional(),
  avg_frame_rate: z.string().optional(),
  r_frame_rate: z.string().optional(),
  duration: num,
  start_pts: z.number().optional(),
  duration_ts: z.number().optional(),
  time_base: z.string().optional(),
  nb_frames: num,
  tags: z.record(z.string(), z.string()).optional(),
  side_data_list: z.array(z.looseObject({ rotation: z.number().optional() })).optional(),
});

export const ffprobeOutput = z.looseObject({
  streams: z.array(ffprobeStream).default([]),
  format: z.looseObject({ format_name: z.string().optional(), start_time: num, duration: num, size: num, bit_rate: num }).prefault({}),
});
export type FfprobeOutput = z.infer<typeof ffprobeOutput>;

export interface VideoStreamInfo {
  index: number;
  codec: string | null;
  /** Coded size, before the display rotation ffmpeg applies on decoding (see `rotation`). */
  width: number;
  height: number;
  fps: number | null;
  /** Display rotation in degrees from the stream's side data (phones: 90, -90, 180), null when none. */
  rotation?: number | null;
  /**
   * Where the video stream ends, in seconds of the timeline `-ss` seeks in
   * (the file's start is 0): earlier than `duration` when the audio runs on
   * after the picture stops. Null (or absent) when not known.
   */
  end?: number | null;
  /** The stream's time base as ffprobe prints it ("1/12800"); null or absent when not known. */
  timeBase?: string | null;
}
export interface SubtitleStreamInfo {
  index: number;
  codec: string | null;
}
export interface AudioStreamInfo {
  index: number;
  codec: string | null;
  sampleRate: number | null;
  channels: number | null;
}

/** The probed input, as the argument builders see it. */
export interface MediaInfo {
  formatName: string;
  /** Seconds; null when the container does not say (some streams, images). */
  duration: number | null;
  sizeBytes: number | null;
  bitrate: number | null;
  video: VideoStreamInfo | null;
  audio: AudioStreamInfo | null;
  /** Every subtitle stream, in file order. */
  subtitles: SubtitleStreamInfo[];
}

/**
 * av_rescale's rounding (to nearest, halves away from zero), exactly, in
 * integers: `value` × `to` ÷ `from`, as libavformat turns a duration in one
 * time base into another (the in-process readers' durations in µs).
 */
export function rescale(value: number, to: number, from: number): number {
  const a = BigInt(value) * BigInt(to);
  const b = BigInt(from);
  return Number((a + b / 2n) / b);
}

/** `"30000/1001"` → 29.97; `"0/0"` → null. */
export function parseFrameRate(rate: string | undefined): number | null {
  if (!rate) return null;
  const [n, d] = rate.split('/').map(Number);
  if (n === undefined || !Number.isFinite(n) || n <= 0) return null;
  const fps = d === undefined ? n : d > 0 ? n / d : NaN;
  return Number.isFinite(fps) ? Math.round(fps * 1000) / 1000 : null;
}

/** Cover art is an attached picture, not a video track. */
export function isAttachedPicture(s: z.infer<typeof ffprobeStream>): boolean {
  const disposition = (s as { disposition?: { attached_pic?: number } }).disposition;
  return disposition?.attached_pic === 1;
}

/** Seconds with ffprobe's 6 decimals, from whole microseconds. */
export const secondsOfUs = (us: number): number => Number((us * 1e-6).toFixed(6));

/**
 * VideoStreamInfo.end from ffprobe's stream and format: the stream's end
 * (start_pts + duration_ts, in its time base) less the file's start_time,
 * computed from the integers ffprobe prints, so that a reader of the same
 * boxes gets the same microseconds (its printed `duration` is a double).
 */
function videoEndOf(s: z.infer<typeof ffprobeStream>, fileStart: number | undefined): number | null {
  const [num, den] = (s.time_base ?? '').split('/').map(Number);
  if (s.start_pts === undefined || s.duration_ts === undefined || fileStart === undefined) return null;
  if (!Number.isSafeInteger(num) || !Number.isSafeInteger(den) || num! <= 0 || den! <= 0) return null;
  if (!Number.isSafeInteger(s.start_pts + s.duration_ts)) return null;
  const endUs = rescale(s.start_pts + s.duration_ts, 1_000_000 * num!, den!) - Math.round(fileStart * 1e6);
  return endUs > 0 ? secondsOfUs(endUs) : null;
}

/** `{rotation}` when the stream's display matrix turns it, else nothing. */
function rotationOf(s: z.infer<typeof ffprobeStream>): { rotation?: number } {
  const rotation = s.side_data_list?.find((d) => d.rotation !== undefined)?.rotation;
  return rotation ? { rotation } : {};
}

export function toMediaInfo(probe: FfprobeOutput): MediaInfo {
  const v = probe.streams.find((s) => s.codec_type === 'video' && !isAttachedPicture(s));
  const a = probe.streams.find((s) => s.codec_type === 'audio');
  const duration = probe.format.duration ?? v?.duration ?? a?.duration ?? null;
  return {
    formatName: probe.format.format_name ?? 'unknown',
    duration: duration !== null && duration > 0 ? duration : null,
    sizeBytes: probe.format.size ?? null,
    bitrate: probe.format.bit_rate !== undefined ? Math.round(probe.format.bit_rate) : null,
    video:
      v && v.width && v.height
        ? {
            index: v.index,
            codec: v.codec_name ?? null,
            width: v.width,
            height: v.height,
            fps: parseFrameRate(v.avg_frame_rate) ?? parseFrameRate(v.r_frame_rate),
            ...rotationOf(v),
            end: videoEndOf(v, probe.format.start_time),
            timeBase: v.time_base ?? null,
          }
        : null,
    audio: a ? { index: a.index, codec: a.codec_name ?? null, sampleRate: a.sample_rate ?? null, channels: a.channels ?? null } : null,
    subtitles: probe.streams.filter((s) => s.codec_type === 'subtitle').map((s) => ({ index: s.index, codec: s.codec_name ?? null })),
  };
}

/** The spec's `output_metadata` for one output file; `format` is the container we wrote. */
export function toOutputMetadata(info: MediaInfo, format: string, sizeBytes: number): OutputMetadata {
  return {
    format,
    duration: info.duration,
    size_bytes: sizeBytes,
    video_codec: info.video?.codec ?? null,
    audio_codec: info.audio?.codec ?? null,
    width: info.video?.width ?? null,
    height: info.video?.height ?? null,
    bitrate: info.bitrate,
    fps: info.video?.fps ?? null,
  };
}
