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
