/** What an argument builder returns: the ffmpeg runs to make, and the files they leave. */
export interface PlannedOutput {
  /** File name in the job's output directory, and the name the client receives. */
  filename: string;
  contentType: string;
  /** Container name reported as `output_metadata.format`. */
  format: string;
  /** The most bytes the file may have (a size target); a larger one fails the job. */
  maxBytes?: number;
}

export interface FfmpegPlan {
  /** One argument list per ffmpeg run (without the binary and the global flags run.ts adds). */
  runs: string[][];
  /** Files the runs read that the builder generated (e.g. a concat list), written before the first run. */
  files?: { path: string; content: string }[];
  outputs: PlannedOutput[];
  /** Media seconds each run writes; progress is `out_time / expectedSeconds`. Null: unknown. */
  expectedSeconds: number | null;
  /**
   * For plans whose files are known only after the runs (a streaming ladder's
   * segments): the outputs, in delivery order, from the relative paths of
   * every file the runs left in the output dir (sorted). `outputs` then lists
   * none of them.
   */
  collectOutputs?: (files: string[]) => PlannedOutput[];
  /**
   * `output_metadata` when the first output cannot be probed (a playlist: the
   * worker's ffprobe opens no playlist): this output is probed instead, and
   * the format and duration given here replace what it says; `size_bytes`
   * is then the sum of every output.
   */
  describeAs?: { filename: string; format: string; duration: number | null };
  /**
   * Media seconds of each run, when the runs differ (a pipeline's steps, or
   * its two passes): progress is then weighted by them and each run's
   * `out_time` is measured against its own. Absent: every run writes
   * `expectedSeconds` and counts the same.
   */
  runSeconds?: (number | null)[];
}

/** Paths and settings a builder places in the arguments; builders stay pure. */
export interface BuildContext {
  /** The first (usually only) input. */
  inputPath: string;
  outputDir: string;
  /** FFMPEG_THREADS (0 = let ffmpeg decide: no flag). */
  threads: number;
  /** WATERMARK_FONT_FILE: the font `drawtext` uses (default DEFAULT_WATERMARK_FONT_FILE). */
  fontFile?: string;
}

/** What builders of several-input operations (concat, subtitles) get on top. */
export interface MultiInputContext extends BuildContext {
  /** Every input, in job order (the first is `inputPath`). */
  inputPaths: string[];
  /** The job's working directory: generated files (a concat list) go here. */
  workDir: string;
}

export function outputPath(ctx: BuildContext, filename: string): string {
  return `${ctx.outputDir}/${filename}`;
}

/** `-threads N` as an output option, when configured. */
export function threadArgs(ctx: BuildContext): string[] {
  return ctx.threads > 0 ? ['-threads', String(ctx.threads)] : [];
}

/** Numbers in arguments: no exponent notation, no float noise (0.1+0.2). */
export function fmt(n: number): string {
  return String(Math.round(n * 1e6) / 1e6);
}

/** The H.264/AAC MP4 encoding most outputs use: plays everywhere, streams from the first byte. */
export const H264_ARGS = ['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '23', '-pix_fmt', 'yuv420p'];
export const AAC_ARGS = ['-c:a', 'aac', '-b:a', '128k'];
export const FASTSTART_ARGS = ['-movflags', '+faststart'];

/**
 * The channel layouts libopus takes (Vorbis order, as its mapping family 1
 * defines them). It refuses any other — "Invalid channel layout 5.1(side)",
 * the layout AC-3 and E-AC-3 5.1 decode to — so every Opus encode ends its
 * audio chain with this: ffmpeg converts another layout to the nearest of
 * these (side channels to the back pair, nothing mixed away) and leaves
 * these as they are.
 */
export const OPUS_LAYOUT_FILTER = 'aformat=channel_layouts=mono|stereo|3.0|quad|5.0|5.1|6.1|7.1';

/**
 * An audio encode's arguments: `-af` with `filters` (the steps' own, in
 * order) and what the encoder needs after them, then `encoder` (its `-c:a`
 * and settings). Every audio encode that may be Opus is built here, so the
 * layout libopus needs is added in one place.
 */
export function audioEncodeArgs(filters: readonly string[], encoder: readonly string[]): string[] {
  const chain = encoder.includes('libopus') ? [...filters, OPUS_LAYOUT_FILTER] : filters;
  return [...(chain.length > 0 ? ['-af', chain.join(',')] : []), ...encoder];
}

/** Rounds each side down to even: H.264/HEVC in 4:2:0 refuse odd sizes. */
export const EVEN_SIZE_FILTER = 'scale=trunc(iw/2)*2:trunc(ih/2)*2';

/** Whether a frame has an odd side (autorotation swaps the sides, which keeps this test valid). */
export function isOddSized(video: { width: number; height: number }): boolean {
  return video.width % 2 !== 0 || video.height % 2 !== 0;
}

/** `-vf` rounding an odd-sized input down to even sides, for re-encodes with no other video filter. */
export function evenSizeArgs(video: { width: number; height: number }): string[] {
  return isOddSized(video) ? ['-vf', EVEN_SIZE_FILTER] : [];
}

/**
 * Frames kept back from the video's end when a time falls in its last
 * stretch: `-ss` past the last picture gives no image at all, and a stream's
 * end lies one frame past its last picture's start, or one and a half after
 * a `-c copy` cut (its edit list ends mid-frame; seen with ffmpeg 5.1).
 */
export const END_MARGIN_FRAMES = 2;

/**
 * The latest time `-ss` can seek to and still find a picture, on the timeline
 * of a video ending at `videoEnd` (null: unknown, no clamp) at `fps`.
 */
export function lastSeekable(videoEnd: number | null, fps: number | null): number | null {
  if (videoEnd === null || !fps) return null;
  return Math.max(0, videoEnd - END_MARGIN_FRAMES / fps);
}

/**
 * Demuxers that, asked to seek, land on the first keyframe after the time:
 * MPEG-TS and MPEG-PS have no index (ffmpeg 5.1 finds a packet before the
 * time and decodes from the next keyframe), so `-ss` before `-i` silently
 * gives a later picture, by up to a GOP. Raw elementary streams do not seek.
 */
const SEEKS_PAST_THE_TIME = new Set(['mpegts', 'mpeg']);
const CANNOT_SEEK = new Set(['h264', 'hevc', 'mpegvideo']);
/** How far before the time such an input is entered: longer than the GOPs seen in the wild (x264's default is 10 s at 25 fps). */
export const SEEK_PRE_ROLL_SECONDS = 15;

/**
 * How a read of a `formatName` input starts at `t` seconds: `input` goes
 * before `-i` (input seeking: cheap, and frame-accurate where the demuxer
 * seeks to a keyframe at or before the time), `output` after it (decoding,
 * and dropping what comes before the time). For the formats above the input
 * is entered SEEK_PRE_ROLL_SECONDS early (raw streams: at their start) and
 * decoded up to the time, `preRoll` seconds of it.
 */
export function seekArgs(formatName: string, t: number): { input: string[]; output: string[]; preRoll: number } {
  if (!SEEKS_PAST_THE_TIME.has(formatName) && !CANNOT_SEEK.has(formatName)) return { input: ['-ss', fmt(t)], output: [], preRoll: 0 };
  const entry = CANNOT_SEEK.has(formatName) ? 0 : Math.max(0, t - SEEK_PRE_ROLL_SECONDS);
  const preRoll = t - entry;
  return { input: entry > 0 ? ['-ss', fmt(entry)] : [], output: preRoll > 0 ? ['-ss', fmt(preRoll)] : [], preRoll };
}
