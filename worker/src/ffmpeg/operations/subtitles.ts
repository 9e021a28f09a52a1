import { errors, type SubtitlesOptions } from '@media-foundry/shared';
import type { MediaInfo, SubtitleStreamInfo } from '../media-info.js';
import {
  AAC_ARGS,
  EVEN_SIZE_FILTER,
  FASTSTART_ARGS,
  H264_ARGS,
  type FfmpegPlan,
  isOddSized,
  type MultiInputContext,
  outputPath,
  threadArgs,
} from '../plan.js';

/** Picture-based subtitle codecs: they cannot become text, and are burnt with `overlay`, not libass. */
const BITMAP_CODECS = ['hdmv_pgs_subtitle', 'dvd_subtitle', 'dvb_subtitle', 'xsub'];

const EXTRACT_TARGETS = {
  srt: { codec: 'srt', contentType: 'application/x-subrip', format: 'srt' },
  vtt: { codec: 'webvtt', contentType: 'text/vtt', format: 'webvtt' },
  ass: { codec: 'ass', contentType: 'text/x-ssa', format: 'ass' },
} as const;

/**
 * Escapes a path for a filter option inside a filter graph: once for the
 * option parser (`\ ' :`) and once for the graph parser (`\ ' [ ] , ;`).
 */
export function escapeFilterPath(path: string): string {
  const option = path.replace(/[\\':]/g, (c) => `\\${c}`);
  return option.replace(/[\\'[\],;]/g, (c) => `\\${c}`);
}

function pickStream(streams: SubtitleStreamInfo[], index: number, where: string): SubtitleStreamInfo {
  if (streams.length === 0) throw errors.jobFailed('Input has no subtitle streams', `ffprobe found none in ${where}`);
  const stream = streams[index];
  if (!stream)
    throw errors.jobFailed(
      'Subtitle stream_index out of range',
      `stream_index ${index}, but ${where} has ${streams.length} subtitle stream(s)`,
    );
  return stream;
}

/** `subtitles`: extract a stream to srt/vtt/ass, or burn one (embedded, or from a second input) into the video. */
export function buildSubtitles(options: SubtitlesOptions, infos: MediaInfo[], ctx: MultiInputContext): FfmpegPlan {
  const main = infos[0]!;
  if (options.mode === 'extract') {
    const stream = pickStream(main.subtitles, options.stream_index, 'the input');
    if (BITMAP_CODECS.includes(stream.codec ?? ''))
      throw errors.jobFailed('Picture-based subtitles cannot be extracted as text', `stream ${options.stream_index} is ${stream.codec}`);
    const target = EXTRACT_TARGETS[options.format];
    const filename = `subtitles.${options.format}`;
    return {
      runs: [['-i', ctx.inputPath, '-map', `0:${stream.index}`, '-c:s', target.codec, outputPath(ctx, filename)]],
      outputs: [{ filename, contentType: target.contentType, format: target.format }],
      expectedSeconds: null,
    };
  }

  if (!main.video) throw errors.jobFailed('Input has no video stream to burn subtitles into');
  const external = infos.length > 1;
  const source = external ? infos[1]! : main;
  const stream = pickStream(source.subtitles, options.stream_index, external ? 'the subtitle file' : 'the input');
  const audio = main.audio ? ['-map', `0:${main.audio.index}`, ...AAC_ARGS] : ['-an'];
  let video: string[];
  // libx264 in 4:2:0 refuses an odd side: such a frame is rounded down to even after the burn
  const even = isOddSized(main.video) ? `,${EVEN_SIZE_FILTER}` : '';
  if (BITMAP_CODECS.includes(stream.codec ?? '')) {
    const input = external ? 1 : 0;
    video = ['-filter_complex', `[0:${main.video.index}][${input}:${stream.index}]overlay${even}[v]`, '-map', '[v]'];
  } else {
    const file = escapeFilterPath(external ? ctx.inputPaths[1]! : ctx.inputPath);
    video = ['-map', `0:${main.video.index}`, '-vf', `subtitles=filename=${file}:si=${options.stream_index}${even}`];
  }
  return {
    runs: [
      [
        ...ctx.inputPaths.flatMap((p) => ['-i', p]),
        ...video,
        ...H264_ARGS,
        ...audio,
        '-sn',
        ...threadArgs(ctx),
        ...FASTSTART_ARGS,
        outputPath(ctx, 'output.mp4'),
      ],
    ],
    outputs: [{ filename: 'output.mp4', contentType: 'video/mp4', format: 'mp4' }],
    expectedSeconds: main.duration,
  };
}
