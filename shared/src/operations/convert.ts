import { z } from 'zod';

export const CONVERT_FORMATS = ['mp4', 'mkv', 'webm', 'mov', 'avi', 'ts', 'flv'] as const;
export type ConvertFormat = (typeof CONVERT_FORMATS)[number];
/** Codec names as ffprobe reports them, so the same list checks requests and probed inputs. */
export const CONVERT_VIDEO_CODECS = ['h264', 'hevc', 'vp8', 'vp9', 'av1', 'mpeg4', 'mjpeg', 'prores', 'mpeg2video'] as const;
export type ConvertVideoCodec = (typeof CONVERT_VIDEO_CODECS)[number];
export const CONVERT_AUDIO_CODECS = ['aac', 'mp3', 'opus', 'vorbis', 'flac', 'ac3', 'pcm_s16le'] as const;
export type ConvertAudioCodec = (typeof CONVERT_AUDIO_CODECS)[number];

export interface ContainerCodecs {
  video: readonly ConvertVideoCodec[];
  audio: readonly ConvertAudioCodec[];
}

/**
 * The codecs we put in each container, whether encoding or stream-copying
 * (a deliberately conservative list of combinations that play widely).
 */
export const CONTAINER_CODECS: Record<ConvertFormat, ContainerCodecs> = {
  mp4: { video: ['h264', 'hevc', 'mpeg4', 'av1'], audio: ['aac', 'mp3', 'opus', 'ac3'] },
  mkv: { video: ['h264', 'hevc', 'vp8', 'vp9', 'av1', 'mpeg4'], audio: ['aac', 'mp3', 'opus', 'vorbis', 'flac', 'ac3'] },
  webm: { video: ['vp8', 'vp9', 'av1'], audio: ['opus', 'vorbis'] },
  mov: { video: ['h264', 'hevc', 'mpeg4', 'prores'], audio: ['aac', 'mp3', 'pcm_s16le'] },
  avi: { video: ['mpeg4', 'h264', 'mjpeg'], audio: ['mp3', 'ac3', 'pcm_s16le'] },
  ts: { video: ['h264', 'hevc', 'mpeg2video'], audio: ['aac', 'mp3', 'ac3'] },
  flv: { video: ['h264'], audio: ['aac', 'mp3'] },
};

/**
 * `convert`: change the container to `target_format`. Re-encodes by default
 * (`video_codec`/`audio_codec`, or the container's usual pair); `stream_copy`
 * copies the streams unchanged instead, which only works when the container
 * can hold the input's codecs, and cannot be combined with a codec choice.
 */
export const convertOptions = z
  .strictObject({
    target_format: z.enum(CONVERT_FORMATS),
    stream_copy: z.boolean().default(false),
    video_codec: z.enum(CONVERT_VIDEO_CODECS).optional(),
    audio_codec: z.enum(CONVERT_AUDIO_CODECS).optional(),
  })
  .superRefine((o, ctx) => {
    const allowed = CONTAINER_CODECS[o.target_format];
    for (const [field, kind, codec, list] of [
      ['video_codec', 'video', o.video_codec, allowed.video],
      ['audio_codec', 'audio', o.audio_codec, allowed.audio],
    ] as const) {
      if (codec === undefined) continue;
      if (o.stream_copy)
        ctx.addIssue({
          code: 'custom',
          message: `\`${field}\` cannot be combined with \`stream_copy: true\` (a stream copy keeps the input's codecs)`,
          path: [field],
        });
      else if (!(list as readonly string[]).includes(codec))
        ctx.addIssue({
          code: 'custom',
          message: `${o.target_format} cannot hold ${kind} codec ${codec}; it takes ${list.join(', ')}`,
          path: [field],
        });
    }
  });
export type ConvertOptions = z.infer<typeof convertOptions>;
