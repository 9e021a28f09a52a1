import {
  DEFAULT_WATERMARK_FONT_FILE,
  errors,
  type TextWatermarkOptions,
  type WatermarkOptions,
  type WatermarkPosition,
} from '@media-foundry/shared';
import type { MediaInfo } from '../media-info.js';
import {
  AAC_ARGS,
  EVEN_SIZE_FILTER,
  FASTSTART_ARGS,
  fmt,
  H264_ARGS,
  type FfmpegPlan,
  isOddSized,
  type MultiInputContext,
  outputPath,
  threadArgs,
} from '../plan.js';
import { frameSize, type Size } from './compress.js';
import { copyProblem } from './convert.js';
import { escapeFilterPath } from './subtitles.js';

/** The file a text watermark's text is written to, in the job's temp dir. */
export const WATERMARK_TEXT_FILE = 'watermark.txt';

/** Where the filter graph finds things; labels without brackets (`0:v`, `1:0`, `v`). */
export interface WatermarkRefs {
  /** The video to mark. */
  video: string;
  /** The image (type `image`). */
  image?: string;
  /** The file holding the text (type `text`); any characters — it is escaped here. */
  textFile?: string;
  /** The font drawtext uses (type `text`). */
  fontFile: string;
  /** The label of the marked video. */
  output: string;
}

/** `x`/`y` of the mark: `w`/`h` are the frame's, `mw`/`mh` the mark's, in the filter's own variable names. */
function placement(position: WatermarkPosition, margin: number, w: string, h: string, mw: string, mh: string): string {
  const x = position.endsWith('left') ? `${margin}` : position.endsWith('right') ? `${w}-${mw}-${margin}` : `(${w}-${mw})/2`;
  const y = position.startsWith('top') ? `${margin}` : position.startsWith('bottom') ? `${h}-${mh}-${margin}` : `(${h}-${mh})/2`;
  return `x=${x}:y=${y}`;
}

/**
 * The watermark as a filter-graph fragment, `[video](…)[output]`: pure, for
 * the `watermark` operation and for any other graph that wants a mark.
 * An image is scaled to `scale` × the frame's width (aspect kept), its alpha
 * multiplied by `opacity`, and overlaid; a text is drawn by `drawtext` from
 * `refs.textFile` with expansion off, so no user character is ever read as
 * filter syntax or as a `%{…}` function (the text is not in the graph at all;
 * only the two paths are, escaped).
 */
export function watermarkFilter(options: WatermarkOptions, frame: Size, refs: WatermarkRefs): string {
  const at = (w: string, h: string, mw: string, mh: string) => placement(options.position, options.margin, w, h, mw, mh);
  if (options.type === 'image') {
    if (!refs.image) throw new Error('an image watermark needs refs.image');
    const width = Math.max(1, Math.round(options.scale * frame.width));
    const alpha = options.opacity < 1 ? `,colorchannelmixer=aa=${fmt(options.opacity)}` : '';
    return (
      `[${refs.image}]scale=${width}:-1,format=rgba${alpha}[wm];` +
      `[${refs.video}][wm]overlay=${at('main_w', 'main_h', 'overlay_w', 'overlay_h')}:format=auto[${refs.output}]`
    );
  }
  if (!refs.textFile) throw new Error('a text watermark needs refs.textFile');
  return `[${refs.video}]${textWatermarkFilter(options, frame, refs.textFile, refs.fontFile)}[${refs.output}]`;
}

/**
 * A text watermark as one filter of a chain (no labels), so it can join
 * other filters in a `-vf` (a pipeline's): `drawtext` reading `textFile`,
 * expansion off, as {@link watermarkFilter} draws it.
 */
export function textWatermarkFilter(options: TextWatermarkOptions, frame: Size, textFile: string, fontFile: string): string {
  const fontSize = Math.max(4, Math.round(options.scale * frame.width));
  const color = `0x${options.color.slice(1).toLowerCase()}@${fmt(options.opacity)}`;
  const at = placement(options.position, options.margin, 'w', 'h', 'tw', 'th');
  return (
    `drawtext=fontfile=${escapeFilterPath(fontFile)}:textfile=${escapeFilterPath(textFile)}` +
    `:expansion=none:fontsize=${fontSize}:fontcolor=${color}:${at}`
  );
}

/**
 * `watermark`: the first input's video marked with an image (the second
 * input) or a text, re-encoded to H.264 MP4; the audio copied when MP4 holds
 * it as it is (copyProblem), else AAC. The text goes to a file in the job's temp dir (`files`).
 */
export function buildWatermark(options: WatermarkOptions, infos: MediaInfo[], ctx: MultiInputContext): FfmpegPlan {
  const main = infos[0]!;
  if (!main.video)
    throw errors.jobFailed('Input has no video stream to watermark', `ffprobe found no video in the ${main.formatName} input`);
  const image = options.type === 'image' ? infos[1] : undefined;
  if (options.type === 'image' && !image?.video)
    throw errors.jobFailed('The watermark image has no picture', 'the second input must be an image (PNG with alpha)');
  const textFile = `${ctx.workDir}/${WATERMARK_TEXT_FILE}`;
  const frame = frameSize(main.video);
  // libx264 in 4:2:0 refuses an odd side: such a frame is rounded down to even after the watermark
  const odd = isOddSized(frame);
  const marked = watermarkFilter(options, frame, {
    video: `0:${main.video.index}`,
    ...(image?.video ? { image: `1:${image.video.index}` } : {}),
    ...(options.type === 'text' ? { textFile } : {}),
    fontFile: ctx.fontFile ?? DEFAULT_WATERMARK_FONT_FILE,
    output: odd ? 'marked' : 'v',
  });
  const graph = odd ? `${marked};[marked]${EVEN_SIZE_FILTER}[v]` : marked;
  const audio = main.audio
    ? [
        '-map',
        `0:${main.audio.index}`,
        ...(copyProblem('mp4', 'audio', main.audio.codec, main.audio.sampleRate) ? AAC_ARGS : ['-c:a', 'copy']),
      ]
    : [];
  return {
    runs: [
      [
        ...ctx.inputPaths.slice(0, options.type === 'image' ? 2 : 1).flatMap((p) => ['-i', p]),
        '-filter_complex',
        graph,
        '-map',
        '[v]',
        ...audio,
        ...H264_ARGS,
        ...threadArgs(ctx),
        ...FASTSTART_ARGS,
        outputPath(ctx, 'output.mp4'),
      ],
    ],
    ...(options.type === 'text' ? { files: [{ path: textFile, content: options.text }] } : {}),
    outputs: [{ filename: 'output.mp4', contentType: 'video/mp4', format: 'mp4' }],
    expectedSeconds: main.duration,
  };
}
