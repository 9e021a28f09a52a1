import type { OperationRequest } from '@media-foundry/shared';
import type { MediaInfo } from '../media-info.js';
import type { FfmpegPlan, MultiInputContext } from '../plan.js';
import { buildCompress } from './compress.js';
import { buildConcat } from './concat.js';
import { buildConvert } from './convert.js';
import { buildExtractAudio } from './extract-audio.js';
import { buildFilter } from './filter.js';
import { buildGif } from './gif.js';
import { buildPipeline } from './pipeline.js';
import { buildProbe } from './probe.js';
import { buildRemoveAudio } from './remove-audio.js';
import { buildSpeed } from './speed.js';
import { buildDash, buildHls } from './streaming.js';
import { buildSubtitles } from './subtitles.js';
import { buildThumbnail } from './thumbnail.js';
import { buildTrim } from './trim.js';
import { buildWatermark } from './watermark.js';

/**
 * The ffmpeg plan for a validated operation request and its probed inputs
 * (one per input file): the one place operations are dispatched.
 */
export function buildPlan(request: OperationRequest, infos: MediaInfo[], ctx: MultiInputContext): FfmpegPlan {
  const info = infos[0]!;
  switch (request.operation) {
    case 'speed':
      return buildSpeed(request.options, info, ctx);
    case 'compress':
      return buildCompress(request.options, info, ctx);
    case 'extract_audio':
      return buildExtractAudio(request.options, info, ctx);
    case 'remove_audio':
      return buildRemoveAudio(request.options, info, ctx);
    case 'convert':
      return buildConvert(request.options, info, ctx);
    case 'trim':
      return buildTrim(request.options, info, ctx);
    case 'gif':
      return buildGif(request.options, info, ctx);
    case 'filter':
      return buildFilter(request.options, info, ctx);
    case 'thumbnail':
      return buildThumbnail(request.options, info, ctx);
    case 'concat':
      return buildConcat(request.options, infos, ctx);
    case 'subtitles':
      return buildSubtitles(request.options, infos, ctx);
    case 'probe':
      return buildProbe();
    case 'hls':
      return buildHls(request.options, info, ctx);
    case 'dash':
      return buildDash(request.options, info, ctx);
    case 'watermark':
      return buildWatermark(request.options, infos, ctx);
    case 'pipeline':
      return buildPipeline(request.options, info, ctx);
  }
}
