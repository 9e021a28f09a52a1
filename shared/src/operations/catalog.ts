import { compressOptions } from './compress.js';
import { concatOptions } from './concat.js';
import { convertOptions } from './convert.js';
import { extractAudioOptions } from './extract-audio.js';
import { filterOptions } from './filter.js';
import { gifOptions } from './gif.js';
import { probeOptions } from './probe.js';
import { removeAudioOptions } from './remove-audio.js';
import { speedOptions } from './speed.js';
import { dashOptions, hlsOptions } from './streaming.js';
import { subtitlesOptions } from './subtitles.js';
import { thumbnailOptions } from './thumbnail.js';
import { trimOptions } from './trim.js';
import { watermarkOptions } from './watermark.js';

/**
 * Every operation's options schema but the pipeline's, keyed by the
 * operation's wire name: a pipeline's steps are some of these (pipeline.ts),
 * and index.ts adds the pipeline for the whole list, in this order.
 */
export const SINGLE_OPERATION_OPTIONS = {
  speed: speedOptions,
  compress: compressOptions,
  extract_audio: extractAudioOptions,
  remove_audio: removeAudioOptions,
  convert: convertOptions,
  thumbnail: thumbnailOptions,
  trim: trimOptions,
  concat: concatOptions,
  gif: gifOptions,
  filter: filterOptions,
  subtitles: subtitlesOptions,
  probe: probeOptions,
  hls: hlsOptions,
  dash: dashOptions,
  watermark: watermarkOptions,
} as const;
