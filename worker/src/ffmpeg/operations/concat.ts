import { type ConcatOptions, errors } from '@media-foundry/shared';
import type { MediaInfo } from '../media-info.js';
import { AAC_ARGS, FASTSTART_ARGS, fmt, H264_ARGS, type FfmpegPlan, type MultiInputContext, outputPath, threadArgs } from '../plan.js';
import { frameSize } from './compress.js';
import { copyProblem } from './convert.js';

/** Audio an `.m4a` file (ffmpeg's ipod muxer) can carry: audio-only joins go there, so MP3 or Opus ones are re-encoded. */
const M4A_AUDIO = ['aac', 'alac'];

const basename = (path: string) => path.slice(path.lastIndexOf('/') + 1);

/**
 * Whether the inputs can be joined by copying streams: same container, the
 * streams in the same places, same codecs, frame size, frame rate and video
 * time base, and the same audio layout (the concat demuxer does not
 * re-encode, and takes the first file's streams and time bases for all: any
 * difference makes a broken file — a 90 kHz phone clip after a 1/12800 one
 * played for minutes, another container's timestamps collapsed).
 */
export function canJoinWithoutReencoding(infos: MediaInfo[]): boolean {
  const [first, ...rest] = infos;
  if (!first) return false;
  return rest.every((i) => {
    const v1 = first.video;
    const v2 = i.video;
    const sameVideo =
      (!v1 && !v2) ||
      (!!v1 &&
        !!v2 &&
        v1.index === v2.index &&
        !!v1.timeBase &&
        v1.timeBase === v2.timeBase &&
        v1.codec === v2.codec &&
        v1.width === v2.width &&
        v1.height === v2.height &&
        // the copy keeps the first file's rotation for all: a phone clip among others would play sideways
        Math.round(v1.rotation ?? 0) === Math.round(v2.rotation ?? 0) &&
        Math.abs((v1.fps ?? 0) - (v2.fps ?? 0)) < 0.01);
    const a1 = first.audio;
    const a2 = i.audio;
    const sameAudio =
      (!a1 && !a2) ||
      (!!a1 && !!a2 && a1.index === a2.index && a1.codec === a2.codec && a1.sampleRate === a2.sampleRate && a1.channels === a2.channels);
    return first.formatName === i.formatName && sameVideo && sameAudio;
  });
}

/** The concat demuxer's list; with `safe` on, entries must be plain relative names (ours are input_0.mp4 …). */
export function concatList(inputPaths: string[]): string {
  return inputPaths.map((p) => `file '${basename(p)}'\n`).join('');
}

/** `concat`: the stream-copy fast path when the inputs match, otherwise one normalising filter graph. */
export function buildConcat(options: ConcatOptions, infos: MediaInfo[], ctx: MultiInputContext): FfmpegPlan {
  const withVideo = infos.filter((i) => i.video).length;
  if (withVideo !== 0 && withVideo !== infos.length)
    throw errors.jobFailed('Cannot concatenate audio-only inputs with video inputs', `${withVideo} of ${infos.length} inputs have video`);
  if (infos.every((i) => !i.video && !i.audio)) throw errors.jobFailed('Inputs have neither video nor audio');
  const durations = infos.map((i) => i.duration);
  const expectedSeconds = durations.every((d) => d !== null) ? durations.reduce((a, b) => a! + b!, 0) : null;
  const audioOnly = withVideo === 0;
  const ext = audioOnly ? 'm4a' : options.target_format;
  const filename = `output.${ext}`;
  const output = {
    filename,
    contentType: audioOnly ? 'audio/mp4' : ext === 'mkv' ? 'video/x-matroska' : 'video/mp4',
    format: ext,
  };
  const mp4Family = ext !== 'mkv';
  // what MP4 can hold as it is (copyProblem); the M4A muxer takes fewer codecs
  const fits = (info: MediaInfo) =>
    audioOnly
      ? !info.audio || M4A_AUDIO.includes(info.audio.codec ?? '')
      : (!info.video || !copyProblem('mp4', 'video', info.video.codec)) &&
        (!info.audio || !copyProblem('mp4', 'audio', info.audio.codec, info.audio.sampleRate));
  const fitsContainer = !mp4Family || infos.every(fits);

  if (!options.reencode && canJoinWithoutReencoding(infos) && fitsContainer) {
    const list = `${ctx.workDir}/concat.txt`;
    return {
      files: [{ path: list, content: concatList(ctx.inputPaths) }],
      runs: [
        [
          '-f',
          'concat',
          '-safe',
          '1',
          '-i',
          list,
          '-map',
          '0:v?',
          '-map',
          '0:a?',
          '-c',
          'copy',
          ...(mp4Family ? FASTSTART_ARGS : []),
          outputPath(ctx, filename),
        ],
      ],
      outputs: [output],
      expectedSeconds,
    };
  }

  const first = infos[0]!;
  // the size the first input is shown at: frames reach the graph rotated as they are displayed (autorotate)
  const shown = first.video ? frameSize(first.video) : { width: 0, height: 0 };
  const width = shown.width - (shown.width % 2);
  const height = shown.height - (shown.height % 2);
  const fps = first.video?.fps ?? 30;
  const anyAudio = infos.some((i) => i.audio);
  const chains: string[] = [];
  const pads: string[] = [];
  infos.forEach((info, i) => {
    if (info.video) {
      chains.push(
        `[${i}:${info.video.index}]scale=${width}:${height}:force_original_aspect_ratio=decrease,` +
          `pad=${width}:${height}:(ow-iw)/2:(oh-ih)/2,setsar=1,fps=${fmt(fps)},format=yuv420p[v${i}]`,
      );
      pads.push(`[v${i}]`);
    }
    if (anyAudio) {
      if (info.audio) chains.push(`[${i}:${info.audio.index}]aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo[a${i}]`);
      else {
        // a silent track as long as this input keeps audio and video aligned
        if (info.duration === null)
          throw errors.jobFailed('Input duration is unknown', `input ${i + 1} has no audio and no known duration`);
        chains.push(`anullsrc=r=48000:cl=stereo,atrim=duration=${fmt(info.duration)}[a${i}]`);
      }
      pads.push(`[a${i}]`);
    }
  });
  const v = audioOnly ? 0 : 1;
  const a = anyAudio ? 1 : 0;
  const graph = `${chains.join(';')};${pads.join('')}concat=n=${infos.length}:v=${v}:a=${a}${v ? '[v]' : ''}${a ? '[a]' : ''}`;
  return {
    runs: [
      [
        ...ctx.inputPaths.flatMap((p) => ['-i', p]),
        '-filter_complex',
        graph,
        ...(v ? ['-map', '[v]', ...H264_ARGS] : []),
        ...(a ? ['-map', '[a]', ...AAC_ARGS] : []),
        ...threadArgs(ctx),
        ...(mp4Family ? FASTSTART_ARGS : []),
        outputPath(ctx, filename),
      ],
    ],
    outputs: [output],
    expectedSeconds,
  };
}
