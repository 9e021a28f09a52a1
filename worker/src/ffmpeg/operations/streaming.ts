import { DEFAULT_LADDER_HEIGHTS, errors, type HlsOptions, type Rendition, type StreamingCodec } from '@media-foundry/shared';
import type { MediaInfo } from '../media-info.js';
import { fmt, outputPath, threadArgs, type BuildContext, type FfmpegPlan, type PlannedOutput } from '../plan.js';
import { fitWithin, frameSize } from './compress.js';

/** One rung of a ladder as encoded: its directory/name, frame size and bitrates. */
export interface LadderRung {
  /** `720p`: the HLS variant's directory. */
  name: string;
  width: number;
  height: number;
  videoKbps: number;
  audioKbps: number;
}

/** Video bitrates of the usual rungs, kbps (other heights: 720p's per pixel). */
const DEFAULT_VIDEO_KBPS: Record<number, number> = { 1080: 5000, 720: 2800, 480: 1400, 360: 800 };
const DEFAULT_AUDIO_KBPS = 128;

/**
 * A ladder's segments (all renditions, audio representations included) a
 * job may make: each becomes an output (a storage object, a frame or URL in
 * the `completed` reply), so a four-hour input in 2 s segments is refused.
 */
export const MAX_LADDER_SEGMENTS = 4000;

function defaultVideoKbps(width: number, height: number): number {
  return DEFAULT_VIDEO_KBPS[height] ?? Math.max(100, Math.round((2800 * width * height) / (1280 * 720)));
}

/**
 * The renditions to encode, highest first: the asked ones, or 1080/720/480/360
 * up to the input's height (the input's own height when it is below 360).
 * Widths keep the input's aspect ratio, both sides even. A rendition above
 * the input's height is JOB_FAILED: a ladder never upscales.
 */
export function ladder(renditions: Rendition[] | undefined, info: MediaInfo): LadderRung[] {
  if (!info.video) throw errors.jobFailed('Input has no video stream', `ffprobe found no video in the ${info.formatName} input`);
  const source = frameSize(info.video);
  let asked: Rendition[];
  if (renditions) {
    const tooHigh = renditions.find((r) => r.height > source.height);
    if (tooHigh)
      throw errors.jobFailed(
        'A rendition is taller than the input',
        `rendition height ${tooHigh.height}, input height ${source.height}: a ladder does not upscale`,
      );
    asked = renditions;
  } else {
    const fitting = DEFAULT_LADDER_HEIGHTS.filter((h) => h <= source.height);
    asked = (fitting.length > 0 ? fitting : [source.height]).map((height) => ({ height }));
  }
  return asked
    .map((r) => {
      const { width, height } = fitWithin(source.width, source.height, undefined, r.height);
      return {
        name: `${r.height}p`,
        width,
        height,
        videoKbps: r.video_bitrate_kbps ?? defaultVideoKbps(width, height),
        audioKbps: r.audio_bitrate_kbps ?? DEFAULT_AUDIO_KBPS,
      };
    })
    .sort((a, b) => b.height - a.height);
}

/**
 * Decode once, `split` into one scaled branch per rung (`[v0]`, `[v1]`, …).
 * `setsar=1`: a width rounded to even would otherwise leave a sample aspect
 * ratio such as 640:639 that players apply.
 */
export function ladderFilter(videoIndex: number, rungs: LadderRung[]): string {
  const scaled = rungs.map((r, i) => `scale=${r.width}:${r.height},setsar=1[v${i}]`);
  if (rungs.length === 1) return `[0:${videoIndex}]${scaled[0]}`;
  const split = `[0:${videoIndex}]split=${rungs.length}${rungs.map((_, i) => `[s${i}]`).join('')}`;
  return [split, ...scaled.map((s, i) => `[s${i}]${s}`)].join(';');
}

/**
 * The encoders of every rung, with keyframes forced at each segment boundary
 * (`n_forced * S` seconds) and no scene-cut keyframes, so that every rendition
 * cuts its segments at the same instants and a player can switch at any
 * segment. Rate control is capped VBR (maxrate 1.07×, buffer 2×): players
 * choose a rendition by its declared bandwidth.
 */
export function ladderEncodeArgs(rungs: LadderRung[], audioIndex: number | null, codec: StreamingCodec, segmentSeconds: number): string[] {
  const video =
    codec === 'hevc'
      ? ['-c:v', 'libx265', '-preset', 'veryfast', '-tag:v', 'hvc1', '-x265-params', 'scenecut=0:open-gop=0:log-level=error']
      : ['-c:v', 'libx264', '-preset', 'veryfast', '-sc_threshold', '0'];
  const perRung = rungs.flatMap((r, i) => [
    `-b:v:${i}`,
    `${r.videoKbps}k`,
    `-maxrate:v:${i}`,
    `${Math.round(r.videoKbps * 1.07)}k`,
    `-bufsize:v:${i}`,
    `${r.videoKbps * 2}k`,
  ]);
  const audio = audioIndex === null ? [] : ['-c:a', 'aac', '-ac', '2', ...rungs.flatMap((r, i) => [`-b:a:${i}`, `${r.audioKbps}k`])];
  return [
    ...rungs.map((_, i) => ['-map', `[v${i}]`]).flat(),
    ...(audioIndex === null ? [] : rungs.flatMap(() => ['-map', `0:${audioIndex}`])),
    ...video,
    '-pix_fmt',
    'yuv420p',
    ...perRung,
    '-force_key_frames:v',
    `expr:gte(t,n_forced*${fmt(segmentSeconds)})`,
    ...audio,
  ];
}

function checkSegmentCount(info: MediaInfo, streams: number, segmentSeconds: number): void {
  if (info.duration === null) return;
  const segments = Math.ceil(info.duration / segmentSeconds) * streams;
  if (segments > MAX_LADDER_SEGMENTS)
    throw errors.jobFailed(
      'Too many segments',
      `${streams} streams of ${Math.round(info.duration)}s in ${segmentSeconds}s segments make about ${segments} files; at most ${MAX_LADDER_SEGMENTS} (raise segment_seconds or use fewer renditions)`,
    );
}

/** Paths sorted with their numbers read as numbers (`seg_999` before `seg_1000`). */
function naturalSort(files: string[]): string[] {
  return [...files].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
}

const CONTENT_TYPES: Record<string, { contentType: string; format: string }> = {
  m3u8: { contentType: 'application/vnd.apple.mpegurl', format: 'hls' },
  mpd: { contentType: 'application/dash+xml', format: 'dash' },
  ts: { contentType: 'video/mp2t', format: 'mpegts' },
  m4s: { contentType: 'video/iso.segment', format: 'mp4' },
  mp4: { contentType: 'video/mp4', format: 'mp4' },
};

function planned(filename: string): PlannedOutput {
  const ext = filename.slice(filename.lastIndexOf('.') + 1);
  const type = CONTENT_TYPES[ext] ?? { contentType: 'application/octet-stream', format: ext };
  return { filename, ...type };
}

/**
 * What `-hls_fmp4_init_filename` is told so that rung `n` writes
 * `init_<n>.mp4` in every ladder: ffmpeg appends `_<n>` to the name only when
 * there are several variant streams, and keeps a single one's as given
 * (`init.mp4` stays `init.mp4`), so a one-rung ladder is told the full name.
 */
function hlsInitFilename(rungCount: number): string {
  return rungCount > 1 ? 'init.mp4' : hlsInitSegment(0);
}

/** Rung `n`'s fMP4 init segment, in its directory. */
function hlsInitSegment(n: number): string {
  return `init_${n}.mp4`;
}

/**
 * `hls`: one ffmpeg pass writing `master.m3u8`, and per rung `<name>/index.m3u8`
 * with its segments (`seg_000.ts`; hevc: fMP4 `init_<n>.mp4` + `seg_000.m4s`,
 * the init segment numbered by rung).
 * Outputs: the master playlist first, then each variant's playlist followed
 * by its segments.
 */
export function buildHls(options: HlsOptions, info: MediaInfo, ctx: BuildContext): FfmpegPlan {
  const rungs = ladder(options.renditions, info);
  const audioIndex = info.audio?.index ?? null;
  checkSegmentCount(info, rungs.length, options.segment_seconds);
  const fmp4 = options.codec === 'hevc';
  const segment = fmp4 ? 'seg_%03d.m4s' : 'seg_%03d.ts';
  const streamMap = rungs.map((r, i) => `v:${i}${audioIndex === null ? '' : `,a:${i}`},name:${r.name}`).join(' ');
  const run = ladderRun(options, info, rungs, ctx, 'hls', [
    ...(fmp4 ? ['-hls_segment_type', 'fmp4', '-hls_fmp4_init_filename', hlsInitFilename(rungs.length)] : []),
    ...['-hls_segment_filename', outputPath(ctx, `%v/${segment}`)],
    ...['-master_pl_name', 'master.m3u8'],
    ...['-var_stream_map', streamMap],
    outputPath(ctx, '%v/index.m3u8'),
  ]);
  const listed = (files: string[]) => {
    const ordered = ['master.m3u8'];
    for (const rung of rungs) {
      const dir = `${rung.name}/`;
      const inDir = naturalSort(files.filter((f) => f.startsWith(dir) && f !== `${dir}index.m3u8`));
      ordered.push(`${dir}index.m3u8`, ...inDir);
    }
    // playlists are listed whether written or not: the runner fails the job on a missing one
    return ordered;
  };
  return packagePlan(run, info, listed, { filename: `${rungs[0]!.name}/${fmp4 ? hlsInitSegment(0) : 'seg_000.ts'}`, format: 'hls' });
}

/**
 * What an HLS and a DASH plan share: one run, whose outputs are known only
 * once it has written them (`listed` orders the files found), described by
 * a segment (a playlist cannot be probed).
 */
function packagePlan(
  run: string[],
  info: MediaInfo,
  listed: (files: string[]) => string[],
  describeAs: { filename: string; format: string },
): FfmpegPlan {
  return {
    runs: [run],
    outputs: [],
    expectedSeconds: info.duration,
    collectOutputs: (files) => listed(files).map(planned),
    describeAs: { ...describeAs, duration: info.duration },
  };
}

/**
 * Each packaging's muxer: its option for the segment length, then the options
 * of a video on demand (every segment listed, the playlist final) that do not
 * depend on the job.
 */
const MUXERS = {
  hls: { segmentSeconds: '-hls_time', fixed: ['-hls_playlist_type', 'vod', '-hls_flags', 'independent_segments'] },
  dash: { segmentSeconds: '-seg_duration', fixed: ['-use_template', '1', '-use_timeline', '1'] },
} as const;

/**
 * What an HLS and a DASH run share: the input, the ladder's scaling graph and
 * its encoders, then `muxer` with its segment length and fixed options;
 * `rest` is the muxer's own options and the output.
 */
function ladderRun(
  options: HlsOptions,
  info: MediaInfo,
  rungs: LadderRung[],
  ctx: BuildContext,
  muxer: keyof typeof MUXERS,
  rest: string[],
): string[] {
  const audioIndex = info.audio?.index ?? null;
  const { segmentSeconds, fixed } = MUXERS[muxer];
  return [
    ...['-i', ctx.inputPath],
    ...['-filter_complex', ladderFilter(info.video!.index, rungs)],
    ...ladderEncodeArgs(rungs, audioIndex, options.codec, options.segment_seconds),
    ...threadArgs(ctx),
    ...['-f', muxer],
    ...[segmentSeconds, String(options.segment_seconds), ...fixed],
    ...rest,
  ];
}

/**
 * `dash`: one ffmpeg pass writing `manifest.mpd` (a video adaptation set of
 * every rung, an audio one of their audio), and per representation `n`
 * `init_<n>.m4s` and its segments `seg_<n>_001.m4s`. Outputs: the manifest
 * first, then each representation's init segment followed by its segments.
 */
export function buildDash(options: HlsOptions, info: MediaInfo, ctx: BuildContext): FfmpegPlan {
  const rungs = ladder(options.renditions, info);
  const audioIndex = info.audio?.index ?? null;
  const representations = audioIndex === null ? rungs.length : rungs.length * 2;
  checkSegmentCount(info, representations, options.segment_seconds);
  const run = ladderRun(options, info, rungs, ctx, 'dash', [
    ...['-adaptation_sets', audioIndex === null ? 'id=0,streams=v' : 'id=0,streams=v id=1,streams=a'],
    ...['-init_seg_name', 'init_$RepresentationID$.m4s'],
    ...['-media_seg_name', 'seg_$RepresentationID$_$Number%03d$.m4s'],
    outputPath(ctx, 'manifest.mpd'),
  ]);
  const listed = (files: string[]) => {
    const ordered = ['manifest.mpd'];
    for (let n = 0; n < representations; n++)
      ordered.push(`init_${n}.m4s`, ...naturalSort(files.filter((f) => f.startsWith(`seg_${n}_`) && f.endsWith('.m4s'))));
    return ordered;
  };
  return packagePlan(run, info, listed, { filename: 'init_0.m4s', format: 'dash' });
}
