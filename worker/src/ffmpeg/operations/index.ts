import type { OperationRequest } from '@media-foundry/shared';
import type { MediaInfo } from '../media-info.js';
import type { BuildContext, FfmpegPlan } from '../plan.js';
import { buildExtractAudio } from './extract-audio.js';
import { buildSpeed } from './speed.js';
import { buildThumbnail } from './thumbnail.js';

/** The ffmpeg plan for a validated operation request: the one place operations are dispatched. */
export function buildPlan(request: OperationRequest, info: MediaInfo, ctx: BuildContext): FfmpegPlan {
  switch (request.operation) {
    case 'speed':
      return buildSpeed(request.options, info, ctx);
    case 'extract_audio':
      return buildExtractAudio(request.options, info, ctx);
    case 'thumbnail':
      return buildThumbnail(request.options, info, ctx);
  }
}
