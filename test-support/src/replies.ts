/**
 * A completed reply's `output_metadata` as it travels (shared/src/protocol.ts
 * `outputMetadata`), written out here so this package depends on none of ours.
 */
export interface OutputMetadataFields {
  format: string;
  duration: number | null;
  size_bytes: number;
  video_codec: string | null;
  audio_codec: string | null;
  width: number | null;
  height: number | null;
  bitrate: number | null;
  fps: number | null;
}

/** `output_metadata` of `format` and `size_bytes`: every other field null (an output without streams) unless given. */
export function outputMetadata(
  fields: Pick<OutputMetadataFields, 'format' | 'size_bytes'> & Partial<OutputMetadataFields>,
): OutputMetadataFields {
  const { format, size_bytes, ...more } = fields;
  return {
    format,
    duration: null,
    size_bytes,
    video_codec: null,
    audio_codec: null,
    width: null,
    height: null,
    bitrate: null,
    fps: null,
    ...more,
  };
}

/**
 * A finished job's stored result that holds its output (`jobResult.inline`): a completed reply of one small
 * PNG (`jobs/<jobId>/output/thumbnail.png`) and the PNG's bytes, base64 by that storage key.
 */
export function thumbnailResult(jobId: string) {
  const key = `jobs/${jobId}/output/thumbnail.png`;
  const png = Buffer.from('not really a png');
  return {
    reply: {
      type: 'completed' as const,
      job_id: jobId,
      output_metadata: outputMetadata({ format: 'png', size_bytes: png.length, video_codec: 'png', width: 1, height: 1 }),
      outputs: [{ filename: 'thumbnail.png', size_bytes: png.length, content_type: 'image/png', key }],
    },
    inline: { [key]: png.toString('base64') },
  };
}
