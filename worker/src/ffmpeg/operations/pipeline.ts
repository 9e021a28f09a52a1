import { DEFAULT_WATERMARK_FONT_FILE, errors, type PipelineOptions, type PipelineStep } from '@media-foundry/shared';
import type { MediaInfo } from '../media-info.js';
import {
  AAC_ARGS,
  audioEncodeArgs,
  EVEN_SIZE_FILTER,
  FASTSTART_ARGS,
  fmt,
  H264_ARGS,
  lastSeekable,
  outputPath,
  seekArgs,
  threadArgs,
  type FfmpegPlan,
  type MultiInputContext,
  type PlannedOutput,
} from '../plan.js';
import { compressRuns, frameSize, type Size } from './compress.js';
import {
  AUDIO_ENCODER_ARGS,
  containerRateArgs,
  CONTAINERS,
  CONVERT_DEFAULT_CODECS,
  copyBitstreamArgs,
  copyProblem,
  VIDEO_ENCODER_ARGS,
} from './convert.js';
import { AUDIO_TARGETS, audioRateArgs } from './extract-audio.js';
import { audioChain, isAudioStep, scaledSize, videoChain } from './filter.js';
import { gifClip, gifFilter, gifOutputArgs, gifWidth } from './gif.js';
import { copyContainer } from './remove-audio.js';
import { speedAudioFilter } from './speed.js';
import { evenlySpacedTimestamps, scaleFilter, scaling } from './thumbnail.js';
import { TRIM_END_TOLERANCE_SECONDS, trimOutput } from './trim.js';
import { textWatermarkFilter } from './watermark.js';

/** The media as the steps so far leave it; times in the timeline of their output. */
export interface Streams {
  duration: number | null;
  /** `end`: where the picture stops, which can be before `duration` (the audio running on); null: unknown. */
  video: { index: number; codec: string | null; size: Size; fps: number | null; end: number | null } | null;
  audio: { index: number; codec: string | null; sampleRate: number | null; channels: number | null } | null;
}

export function streamsOf(info: MediaInfo): Streams {
  return {
    duration: info.duration,
    video: info.video && {
      index: info.video.index,
      codec: info.video.codec,
      size: frameSize(info.video),
      fps: info.video.fps,
      end: info.video.end ?? info.duration,
    },
    audio: info.audio && { ...info.audio },
  };
}

/** The container of the files between runs: Matroska holds whatever a run copies. */
const INTERMEDIATE_FORMAT = 'matroska';

/** The streams as a probe would describe a file holding them (for the builders' helpers that take one). */
function mediaInfoOf(state: Streams): MediaInfo {
  const { duration, video, audio } = state;
  return {
    formatName: INTERMEDIATE_FORMAT,
    duration,
    sizeBytes: null,
    bitrate: null,
    video: video && {
      index: video.index,
      codec: video.codec,
      width: video.size.width,
      height: video.size.height,
      fps: video.fps,
      end: video.end,
    },
    audio,
    subtitles: [],
  };
}

/**
 * The steps one ffmpeg run does. Trims (and a gif's clip) fold into the
 * input window — `-ss`/`-t` on the input, in input seconds, mapped through
 * the speed changes before them — and speed and filters into one video chain
 * and one audio chain, in step order. That is the same media as running the
 * steps one by one because everything in the chains is time-invariant, except
 * loudnorm (it adapts over time): a trim after `normalize` starts a new run,
 * and so does anything that re-encodes next to a stream-copy trim (a
 * keyframe cut cannot be expressed as input seeking).
 */
class Segment {
  /** The window read from the input, in its seconds. */
  start = 0;
  end: number | null = null;
  windowed = false;
  /** Input seconds per output second (the speed factors so far, multiplied). */
  factor = 1;
  readonly videoFilters: string[] = [];
  readonly audioFilters: string[] = [];
  encodeVideo = false;
  encodeAudio = false;
  copyTrim = false;
  normalized = false;
  /** Operations of the steps in this run, in order. */
  readonly operations: PipelineStep['operation'][] = [];
  state: Streams;

  constructor(
    readonly input: string,
    /** The input's container (ffprobe's format_name): how a window is entered depends on it (seekArgs). */
    readonly formatName: string,
    source: Streams,
  ) {
    this.state = structuredClone(source);
  }

  get encodes(): boolean {
    return this.encodeVideo || this.encodeAudio;
  }

  /**
   * `-ss`/`-t` of the window, the input, and (for a run that copies no video, from a container whose seek
   * lands past the time) the output `-ss` that decodes up to the window's start. A run that copies the video
   * cuts at a keyframe by input seeking, as trim's stream_copy does.
   */
  inputArgs(copiesVideo: boolean): string[] {
    if (!this.windowed) return ['-i', this.input]; // narrow() sets the end and the window together
    const seek = this.enter(this.start, copiesVideo);
    return [...seek.input, ...(this.end !== null ? ['-t', fmt(this.end - seek.entry)] : []), '-i', this.input, ...seek.output];
  }

  /**
   * How a read reaches input second `t` (seekArgs): the input entered at `entry`, and the output `-ss` that
   * drops what comes before `t`, in output seconds, since it applies after the chain (a speed step's setpts).
   */
  enter(t: number, copiesVideo: boolean): { input: string[]; output: string[]; entry: number } {
    if (copiesVideo) return { input: ['-ss', fmt(t)], output: [], entry: t };
    const seek = seekArgs(this.formatName, t);
    return { input: seek.input, output: seek.preRoll > 0 ? ['-ss', fmt(seek.preRoll / this.factor)] : [], entry: t - seek.preRoll };
  }

  /** Whether the run's default streams (defaultStreamArgs) copy the video as it is. */
  copiesVideo(fits: Fits): boolean {
    const video = this.state.video;
    return video !== null && !this.encodeVideo && fits('video', video.codec, null);
  }

  /**
   * Narrows the window to `from`–`to` seconds of the current timeline
   * (`clampEnd`: an end past the duration is cut to it, as a gif's is);
   * `what` names the step in errors.
   */
  narrow(from: number, to: number | undefined, what: { step: number; label: string; clampEnd: boolean }): void {
    const d = this.state.duration;
    let end = to;
    if (d !== null) {
      if (from >= d)
        throw errors.jobFailed(
          `${what.label} start is past the end of the input`,
          `steps[${what.step}]: start_time ${from}s, the steps before leave ${fmt(d)}s`,
        );
      if (end !== undefined && end > d) {
        if (!what.clampEnd && end > d + TRIM_END_TOLERANCE_SECONDS)
          throw errors.jobFailed(
            `${what.label} end is past the end of the input`,
            `steps[${what.step}]: end_time ${end}s, the steps before leave ${fmt(d)}s`,
          );
        end = d;
      }
    }
    const base = this.start;
    this.start = base + from * this.factor;
    if (end !== undefined) this.end = base + end * this.factor;
    this.windowed = true;
    this.state.duration = end !== undefined ? end - from : d !== null ? d - from : null;
    const video = this.state.video;
    if (video && video.end !== null) video.end = Math.max(0, Math.min(video.end, end ?? Infinity) - from);
  }
}

function needVideo(state: Streams, step: number, operation: string): NonNullable<Streams['video']> {
  if (!state.video) throw errors.jobFailed('Input has no video stream', `steps[${step}] (${operation}): there is no video at that step`);
  return state.video;
}

/** Where a text watermark step's text is written (one file per step, in the job's temp dir). */
export function watermarkTextPath(ctx: MultiInputContext, step: number): string {
  return `${ctx.workDir}/watermark-step${step}.txt`;
}

/**
 * Adds a transform step to the run, or returns false when it cannot share
 * the run (the caller ends the run there and starts the next one). A new
 * transform is one more case: its filters appended to `videoFilters`,
 * `encodeVideo` set, the tracked size updated if it changes.
 */
function addTransform(seg: Segment, step: PipelineStep, i: number, ctx: MultiInputContext): boolean {
  const { state } = seg;
  switch (step.operation) {
    case 'trim': {
      const o = step.options;
      if (o.stream_copy ? seg.encodes : seg.copyTrim || seg.normalized) return false;
      if (!state.video && !state.audio) throw errors.jobFailed('Input has neither video nor audio', `steps[${i}] (trim)`);
      seg.narrow(o.start_time, o.end_time, { step: i, label: 'Trim', clampEnd: false });
      if (o.stream_copy) seg.copyTrim = true;
      else {
        seg.encodeVideo = state.video !== null;
        seg.encodeAudio = state.audio !== null;
      }
      return true;
    }
    case 'speed': {
      if (seg.copyTrim) return false;
      const f = step.options.speed_factor;
      if (!state.video && !state.audio) throw errors.jobFailed('Input has neither video nor audio', `steps[${i}] (speed)`);
      if (state.video) {
        seg.videoFilters.push(`setpts=PTS/${fmt(f)}`);
        seg.encodeVideo = true;
      }
      if (state.audio) {
        seg.audioFilters.push(speedAudioFilter(f, step.options.maintain_pitch, state.audio.sampleRate ?? 44100));
        seg.encodeAudio = true;
      }
      seg.factor *= f;
      if (state.duration !== null) state.duration /= f;
      if (state.video && state.video.end !== null) state.video.end /= f;
      return true;
    }
    case 'filter': {
      if (seg.copyTrim) return false;
      const filters = step.options.filters;
      // loudnorm adapts to what it hears: a window entered early (seekArgs) would let it hear the pre-roll too
      if (state.audio && seg.windowed && filters.some((f) => f.type === 'normalize') && seekArgs(seg.formatName, seg.start).preRoll > 0)
        return false;
      filters.forEach((filter, j) => {
        const audio = isAudioStep(filter);
        if (audio ? !state.audio : !state.video)
          throw errors.jobFailed(
            `${audio ? 'Audio' : 'Video'} filter needs ${audio ? 'an audio' : 'a video'} stream`,
            `steps[${i}].options.filters[${j}] (${filter.type}): there is no ${audio ? 'audio' : 'video'} at that step`,
          );
      });
      if (state.video) {
        const chain = videoChain(filters, state.video.size);
        if (chain.filters.length > 0) {
          seg.videoFilters.push(...chain.filters);
          seg.encodeVideo = true;
          state.video.size = chain.size;
          const fps = filters.findLast((f) => f.type === 'fps');
          if (fps) state.video.fps = fps.fps;
        }
      }
      if (state.audio) {
        const chain = audioChain(filters, state.audio.sampleRate ?? 48000);
        if (chain.length > 0) {
          seg.audioFilters.push(...chain);
          seg.encodeAudio = true;
          if (filters.some((f) => f.type === 'normalize')) seg.normalized = true;
        }
      }
      return true;
    }
    case 'remove_audio':
      needVideo(state, i, 'remove_audio');
      if (!step.options.keep_video_quality) {
        if (seg.copyTrim) return false;
        seg.encodeVideo = true;
      }
      state.audio = null;
      seg.encodeAudio = false;
      seg.audioFilters.length = 0;
      return true;
    case 'watermark': {
      const o = step.options;
      // the schema refuses it already (pipelineChainProblems): the image would be a second input
      if (o.type === 'image') throw errors.validation(`steps[${i}]: image watermarks are not supported as pipeline steps`);
      if (seg.copyTrim) return false;
      // drawn at the frame size the steps before leave, as a watermark job on their output would
      const video = needVideo(state, i, 'watermark');
      seg.videoFilters.push(textWatermarkFilter(o, video.size, watermarkTextPath(ctx, i), ctx.fontFile ?? DEFAULT_WATERMARK_FONT_FILE));
      seg.encodeVideo = true;
      return true;
    }
    default:
      throw new Error(`${step.operation} is an output step`);
  }
}

/** What the output steps need of a run: may it join the run, given what the run has done? */
function outputJoins(seg: Segment, step: PipelineStep): boolean {
  if (!seg.copyTrim) return true;
  // next to a keyframe cut only copies fit
  return step.operation === 'convert' && step.options.stream_copy;
}

/** Rounds an odd tracked size to even with a last filter (4:2:0 encoders need even sides). */
function evenVideoFilters(seg: Segment): string[] {
  const video = seg.state.video;
  if (!video || (video.size.width % 2 === 0 && video.size.height % 2 === 0)) return seg.videoFilters;
  video.size = { width: Math.floor(video.size.width / 2) * 2, height: Math.floor(video.size.height / 2) * 2 };
  return [...seg.videoFilters, EVEN_SIZE_FILTER];
}

/** Whether a stream can be copied as it is (its audio at `sampleRate`). */
type Fits = (kind: 'video' | 'audio', codec: string | null, sampleRate: number | null) => boolean;

/** An intermediate file holds any stream as it is. */
const copyAnything: Fits = () => true;

/** What MP4 can hold as it is: what convert's copies check (copyProblem). */
const fitsMp4: Fits = (kind, codec, sampleRate) => !copyProblem('mp4', kind, codec, sampleRate);

/** The H.264/AAC encode (or copy, for a stream no step touched and `fits`) that the transform operations write. */
function defaultStreamArgs(seg: Segment, fits: Fits): string[] {
  const { video, audio } = seg.state;
  const args: string[] = [];
  if (video) {
    args.push('-map', `0:${video.index}`);
    if (seg.encodeVideo || !fits('video', video.codec, null)) {
      const filters = evenVideoFilters(seg);
      if (filters.length > 0) args.push('-vf', filters.join(','));
      args.push(...H264_ARGS);
    } else args.push('-c:v', 'copy');
  } else args.push('-vn');
  if (audio) {
    args.push('-map', `0:${audio.index}`);
    if (seg.encodeAudio || !fits('audio', audio.codec, audio.sampleRate)) {
      if (seg.audioFilters.length > 0) args.push('-af', seg.audioFilters.join(','));
      args.push(...AAC_ARGS);
    } else args.push('-c:a', 'copy');
  } else args.push('-an');
  return args;
}

/** The run that writes an intermediate file (Matroska holds whatever the run copies) and what the next run reads from it. */
function intermediateRun(seg: Segment, path: string, ctx: MultiInputContext): { args: string[]; next: Streams } {
  const copyOnly = !seg.encodes;
  const args = [
    ...seg.inputArgs(seg.copiesVideo(copyAnything)),
    ...defaultStreamArgs(seg, copyAnything),
    ...(copyOnly && seg.windowed ? ['-avoid_negative_ts', 'make_zero'] : []),
    '-sn',
    '-dn',
    ...threadArgs(ctx),
    path,
  ];
  const { video, audio, duration } = seg.state;
  const next: Streams = {
    duration,
    video: video && { ...video, index: 0, codec: seg.encodeVideo ? 'h264' : video.codec },
    audio: audio && { ...audio, index: video ? 1 : 0, codec: seg.encodeAudio ? 'aac' : audio.codec },
  };
  return { args, next };
}

interface FinalRuns {
  runs: string[][];
  runSeconds: (number | null)[];
  outputs: PlannedOutput[];
}

/** The output when the last step is a transform: what that operation alone would write. */
function transformOutput(seg: Segment, last: PipelineStep['operation'], ctx: MultiInputContext): FinalRuns {
  const { video, duration } = seg.state;
  let output: PlannedOutput;
  let streams: string[];
  let copiesVideo: boolean;
  if (!seg.encodes) {
    // nothing re-encoded: the container the copying operation picks
    const format = last === 'remove_audio' ? copyContainer(video?.codec ?? null) : null;
    output = format
      ? { filename: `output.${CONTAINERS[format].ext}`, contentType: CONTAINERS[format].contentType, format }
      : trimOutput(mediaInfoOf(seg.state), true);
    copiesVideo = seg.copiesVideo(copyAnything);
    streams = [...defaultStreamArgs(seg, copyAnything), ...(seg.windowed ? ['-avoid_negative_ts', 'make_zero'] : [])];
  } else {
    copiesVideo = seg.copiesVideo(fitsMp4);
    output = video
      ? { filename: 'output.mp4', contentType: 'video/mp4', format: 'mp4' }
      : { filename: 'output.m4a', contentType: 'audio/mp4', format: 'm4a' };
    streams = defaultStreamArgs(seg, fitsMp4);
  }
  const faststart = ['mp4', 'm4a', 'mov'].includes(output.format);
  const args = [
    ...seg.inputArgs(copiesVideo),
    ...streams,
    '-sn',
    '-dn',
    ...threadArgs(ctx),
    ...(faststart ? FASTSTART_ARGS : []),
    outputPath(ctx, output.filename),
  ];
  return { runs: [args], runSeconds: [duration], outputs: [output] };
}

/** The final run(s) when the last step decides the output. */
function outputRuns(seg: Segment, step: PipelineStep, i: number, ctx: MultiInputContext): FinalRuns {
  const { state } = seg;
  switch (step.operation) {
    case 'compress': {
      const video = needVideo(state, i, 'compress');
      const { runs, output } = compressRuns(
        step.options,
        {
          inputArgs: seg.inputArgs(false),
          videoIndex: video.index,
          size: video.size,
          fps: video.fps,
          duration: state.duration,
          audio: state.audio,
          videoFilters: seg.videoFilters,
          audioFilters: seg.audioFilters,
        },
        ctx,
      );
      return { runs, runSeconds: runs.map(() => state.duration), outputs: [output] };
    }
    case 'convert': {
      const o = step.options;
      const format = o.target_format;
      const container = CONTAINERS[format];
      if (!state.video && !state.audio) throw errors.jobFailed('Input has neither video nor audio', `steps[${i}] (convert)`);
      const streams: string[] = [];
      for (const kind of ['video', 'audio'] as const) {
        const stream = state[kind];
        if (!stream) {
          streams.push(kind === 'video' ? '-vn' : '-an');
          continue;
        }
        const touched = kind === 'video' ? seg.encodeVideo : seg.encodeAudio;
        // a stream copied as it is takes no filter (ffmpeg refuses both), not even the rounding of an odd size
        const copied = o.stream_copy && !touched;
        const videoFilters = kind === 'video' && !copied ? evenVideoFilters(seg) : [];
        streams.push('-map', `0:${stream.index}`, ...(videoFilters.length > 0 ? ['-vf', videoFilters.join(',')] : []));
        // the audio filters go in with the audio encoder's arguments (audioEncodeArgs)
        const encodeAudio = (encoder: readonly string[]) => audioEncodeArgs(seg.audioFilters, encoder);
        if (o.stream_copy) {
          // the steps before wrote H.264/AAC for a stream they changed: that is what would be copied
          const codec = touched ? (kind === 'video' ? 'h264' : 'aac') : stream.codec;
          const problem = copyProblem(format, kind, codec, kind === 'audio' ? state.audio!.sampleRate : null);
          if (problem) throw errors.jobFailed(problem.message, `steps[${i}]: ${problem.details}; use stream_copy: false to re-encode`);
          if (touched) streams.push(...(kind === 'video' ? H264_ARGS : encodeAudio(AAC_ARGS)));
          else streams.push(`-c:${kind[0]}`, 'copy', ...(kind === 'video' ? copyBitstreamArgs(format, codec) : []));
        } else if (kind === 'video') {
          const codec = o.video_codec ?? CONVERT_DEFAULT_CODECS[format].video;
          streams.push(...VIDEO_ENCODER_ARGS[codec], ...(codec === 'hevc' && container.faststart ? ['-tag:v', 'hvc1'] : []));
        } else {
          const codec = o.audio_codec ?? CONVERT_DEFAULT_CODECS[format].audio;
          streams.push(...encodeAudio(AUDIO_ENCODER_ARGS[codec]), ...containerRateArgs(format, codec, state.audio!.sampleRate));
        }
      }
      const copiedWindow = o.stream_copy && !seg.encodes && seg.windowed;
      const filename = `output.${container.ext}`;
      const args = [
        ...seg.inputArgs(state.video !== null && o.stream_copy && !seg.encodeVideo),
        ...streams,
        ...(copiedWindow ? ['-avoid_negative_ts', 'make_zero'] : []),
        '-sn',
        '-dn',
        ...threadArgs(ctx),
        ...(container.faststart ? FASTSTART_ARGS : []),
        ...(container.muxer ? ['-f', container.muxer] : []),
        outputPath(ctx, filename),
      ];
      return { runs: [args], runSeconds: [state.duration], outputs: [{ filename, contentType: container.contentType, format }] };
    }
    case 'extract_audio': {
      const o = step.options;
      if (!state.audio) throw errors.jobFailed('Input has no audio stream', `steps[${i}] (extract_audio): there is no audio at that step`);
      const target = AUDIO_TARGETS[o.format];
      const filename = `output.${target.ext}`;
      const args = [...seg.inputArgs(false), '-map', `0:${state.audio.index}`, '-vn', '-sn', '-dn'];
      args.push(...audioEncodeArgs(seg.audioFilters, ['-c:a', target.codec]));
      args.push(...audioRateArgs(o.format, o.bitrate_kbps, state.audio.channels));
      if (o.sample_rate !== undefined) args.push('-ar', String(o.sample_rate));
      args.push(...(target.extra ?? []), ...threadArgs(ctx), ...(target.muxer ? ['-f', target.muxer] : []), outputPath(ctx, filename));
      return { runs: [args], runSeconds: [state.duration], outputs: [{ filename, contentType: target.contentType, format: o.format }] };
    }
    case 'gif': {
      const o = step.options;
      const video = needVideo(state, i, 'gif');
      const d = state.duration;
      if (d !== null && o.start_time >= d)
        throw errors.jobFailed(
          'GIF start is past the end of the input',
          `steps[${i}]: start_time ${o.start_time}s, the steps before leave ${fmt(d)}s`,
        );
      // frames per second of this timeline: the seek is on the input, which the speed steps so far run through faster
      const { start, short } = gifClip(
        o.start_time,
        o.duration,
        o.fps,
        { end: video.end, fps: video.fps && video.fps * seg.factor },
        `steps[${i}]: `,
      );
      seg.narrow(start, start + o.duration, { step: i, label: 'GIF', clampEnd: true });
      const width = gifWidth(video.size, o.width, `steps[${i}] (gif) `);
      const filter = gifFilter(video.index, o.fps, width, o.optimize, seg.videoFilters, short);
      const args = [...seg.inputArgs(false), ...gifOutputArgs(video.index, filter, o.optimize, ctx)];
      return { runs: [args], runSeconds: [state.duration], outputs: [{ filename: 'output.gif', contentType: 'image/gif', format: 'gif' }] };
    }
    case 'thumbnail': {
      const o = step.options;
      const video = needVideo(state, i, 'thumbnail');
      const d = state.duration;
      let times: number[];
      if (o.timestamp !== undefined) {
        if (d !== null && o.timestamp >= d)
          throw errors.jobFailed(
            'Thumbnail timestamp is past the end of the input',
            `steps[${i}]: timestamp ${o.timestamp}s, the steps before leave ${fmt(d)}s`,
          );
        times = [o.timestamp];
      } else {
        if (d === null)
          throw errors.jobFailed('Input duration is unknown', 'evenly spaced thumbnails need a duration; pass `timestamp` instead');
        times = evenlySpacedTimestamps(Math.min(d, video.end ?? Infinity), o.count ?? 1);
      }
      // a time past the last picture would seek past every frame: take one near the end instead (frames: in
      // input seconds, as the seek is on the input)
      const latest = lastSeekable(video.end ?? d, video.fps && video.fps * seg.factor);
      if (latest !== null) times = times.map((t) => Math.min(t, latest));
      const ext = o.format;
      const scale = scaleFilter(o.width, o.height);
      if (scale) scaledSize(video.size, o.width, o.height, `steps[${i}] (thumbnail) ${scaling(video.size, o)}`);
      const filters = [...seg.videoFilters, ...(scale ? [scale] : [])];
      const names = times.length === 1 ? [`thumbnail.${ext}`] : times.map((_, n) => `thumbnail_${String(n + 1).padStart(3, '0')}.${ext}`);
      const runs = times.map((t, n) => {
        const seek = seg.enter(seg.start + t * seg.factor, false);
        return [
          ...seek.input,
          '-i',
          seg.input,
          ...seek.output,
          '-map',
          `0:${video.index}`,
          '-frames:v',
          '1',
          ...(filters.length > 0 ? ['-vf', filters.join(',')] : []),
          ...(ext === 'png' ? [] : ['-q:v', '2']),
          ...threadArgs(ctx),
          '-update',
          '1',
          outputPath(ctx, names[n]!),
        ];
      });
      const contentType = ext === 'png' ? 'image/png' : 'image/jpeg';
      return {
        runs,
        runSeconds: runs.map(() => null),
        outputs: names.map((filename) => ({ filename, contentType, format: ext === 'png' ? 'png' : 'jpeg' })),
      };
    }
    default:
      throw new Error(`${step.operation} is not an output step`);
  }
}

const OUTPUT_OPERATIONS = new Set<PipelineStep['operation']>(['compress', 'convert', 'extract_audio', 'gif', 'thumbnail']);

/**
 * `pipeline`: the steps as few ffmpeg runs as they allow — usually one: the
 * trims as input seeking, speed and filters as one video and one audio
 * chain, the last step's encoders and container. Steps that cannot share a
 * run (see {@link Segment}) run one after another, each writing a file in the
 * job's temp dir for the next, never through storage. Progress is weighted
 * by the seconds each run writes.
 */
export function buildPipeline(options: PipelineOptions, info: MediaInfo, ctx: MultiInputContext): FfmpegPlan {
  const runs: string[][] = [];
  const runSeconds: (number | null)[] = [];
  let seg = new Segment(ctx.inputPath, info.formatName, streamsOf(info));
  const steps = options.steps;
  const last = steps.length - 1;
  const split = () => {
    const path = `${ctx.workDir}/pipeline-${runs.length + 1}.mkv`;
    const { args, next } = intermediateRun(seg, path, ctx);
    runs.push(args);
    runSeconds.push(seg.state.duration);
    seg = new Segment(path, INTERMEDIATE_FORMAT, next);
  };
  let final: FinalRuns | null = null;
  steps.forEach((step, i) => {
    if (OUTPUT_OPERATIONS.has(step.operation)) {
      if (i !== last) throw errors.validation(`steps[${i}]: ${step.operation} decides the output and must be the last step`);
      if (!outputJoins(seg, step)) split();
      seg.operations.push(step.operation);
      final = outputRuns(seg, step, i, ctx);
      return;
    }
    if (!addTransform(seg, step, i, ctx)) {
      split();
      if (!addTransform(seg, step, i, ctx)) throw new Error(`steps[${i}] fits no run`);
    }
    seg.operations.push(step.operation);
  });
  const done: FinalRuns = final ?? transformOutput(seg, steps[last]!.operation, ctx);
  runs.push(...done.runs);
  runSeconds.push(...done.runSeconds);
  // a text watermark's text never enters the graph: drawtext reads it from this file
  const files = steps.flatMap((step, i) =>
    step.operation === 'watermark' && step.options.type === 'text' ? [{ path: watermarkTextPath(ctx, i), content: step.options.text }] : [],
  );
  return {
    runs,
    outputs: done.outputs,
    expectedSeconds: runSeconds[runSeconds.length - 1] ?? null,
    runSeconds,
    ...(files.length > 0 ? { files } : {}),
  };
}
