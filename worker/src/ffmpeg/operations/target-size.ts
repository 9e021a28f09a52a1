import { errors, TARGET_SIZE_BYTES_PER_MB } from '@media-foundry/shared';
import { fmt } from '../plan.js';
import type { Size } from './compress.js';

/**
 * The share of the target the encode aims at: x264's two-pass rate control
 * (with `ratetol=0.2`) lands within a few percent of the bitrate (measured:
 * +2.3 % at 200 kbps, -0.1 % at 3 Mbps for 60 s of 720p; +1.4 % at 650 kbps
 * for 5 s), so aiming 5 % low keeps the file under the target and well above
 * 85 % of it. VP9 undershoots more (measured 88 % of the target for 10 s).
 */
export const TARGET_SIZE_AIM = 0.95;
/** What MP4/Matroska/WebM spend per packet on indexes and headers, measured (~12 B in MP4 with faststart). */
export const MUX_BYTES_PER_PACKET = 12;
/** The least audio bitrate a size target squeezes the audio to (still intelligible AAC/Opus stereo). */
export const MIN_TARGET_AUDIO_KBPS = 32;
/** Audio takes at most this share of the bitrate when the target is tight (unless `audio_bitrate_kbps` is given). */
export const MAX_TARGET_AUDIO_SHARE = 0.2;
/**
 * The floor of an honest size target, per second of output: below this much
 * video (a bits-per-pixel floor, at least {@link MIN_TARGET_VIDEO_KBPS}) the
 * encoder cannot hold the rate (every frame costs a minimum) and the picture
 * is mush anyway.
 */
export const MIN_TARGET_VIDEO_BITS_PER_PIXEL = 0.003;
export const MIN_TARGET_VIDEO_KBPS = 64;

export interface TargetSizeInput {
  targetMb: number;
  /** Seconds of output. */
  duration: number;
  video: { size: Size; fps: number | null };
  /** Null: no audio in the output. */
  audio: {
    /** `audio_bitrate_kbps` when the request gives one: then it is kept as asked. */
    requestedKbps: number | undefined;
    /** The preset's audio bitrate: lowered when the target is tight. */
    presetKbps: number;
    /** Audio packets per second (AAC: sample rate / 1024; Opus: 50). */
    packetsPerSecond: number;
  } | null;
}

export interface TargetRates {
  videoKbps: number;
  audioKbps: number | null;
  /** The target in bytes: the output must not be larger. */
  maxBytes: number;
}

/** The least video bitrate worth encoding `video` at, kbps. */
export function videoFloorKbps(video: TargetSizeInput['video']): number {
  const pixelsPerSecond = video.size.width * video.size.height * (video.fps ?? 25);
  return Math.max(MIN_TARGET_VIDEO_KBPS, Math.ceil((pixelsPerSecond * MIN_TARGET_VIDEO_BITS_PER_PIXEL) / 1000));
}

/**
 * The video and audio bitrates that make a file of at most `targetMb`:
 * the target (aimed {@link TARGET_SIZE_AIM} low) over the duration, less the
 * muxing overhead and the audio. A target below the floor is JOB_FAILED,
 * naming the smallest size that can be reached.
 */
export function targetRates(input: TargetSizeInput): TargetRates {
  const { duration, video, audio } = input;
  const maxBytes = Math.floor(input.targetMb * TARGET_SIZE_BYTES_PER_MB);
  const packetsPerSecond = (video.fps ?? 25) + (audio?.packetsPerSecond ?? 0);
  const overheadKbps = (packetsPerSecond * MUX_BYTES_PER_PACKET * 8) / 1000;
  const totalKbps = (maxBytes * 8 * TARGET_SIZE_AIM) / 1000 / duration - overheadKbps;
  const audioKbps = audio
    ? (audio.requestedKbps ?? Math.min(audio.presetKbps, Math.max(MIN_TARGET_AUDIO_KBPS, Math.floor(totalKbps * MAX_TARGET_AUDIO_SHARE))))
    : null;
  const videoKbps = Math.floor(totalKbps - (audioKbps ?? 0));
  const floor = videoFloorKbps(video);
  if (videoKbps < floor) {
    const leastAudio = audio ? (audio.requestedKbps ?? MIN_TARGET_AUDIO_KBPS) : 0;
    const leastBytes = ((floor + leastAudio + overheadKbps) * 1000 * duration) / 8 / TARGET_SIZE_AIM;
    const leastMb = Math.ceil((leastBytes / TARGET_SIZE_BYTES_PER_MB) * 10) / 10;
    throw errors.jobFailed(
      'Target size is too small',
      `target_size_mb ${input.targetMb} for ${fmt(duration)}s of ${video.size.width}x${video.size.height} output; the smallest reachable size is ${leastMb} MB`,
    );
  }
  return { videoKbps, audioKbps, maxBytes };
}

/**
 * Both passes must hand the encoder the same frames, or x264 stops at the
 * second pass ("Incomplete MB-tree stats file"). ffmpeg's default frame-rate
 * mode follows the muxer: passthrough for pass 1's null output, CFR for MP4
 * (which duplicates frames into a variable-rate input's gaps, and in front of
 * a video that starts after its audio), VFR for Matroska and WebM. So both
 * passes name it: `vfr` keeps a phone video's frame timing, and drops a frame
 * only where two land on the same tick (which passthrough hands on to the
 * muxer, and MP4 refuses). `-fps_mode` is ffmpeg ≥ 5.1's name for `-vsync`.
 */
export const TWO_PASS_FPS_MODE = ['-fps_mode', 'vfr'];

/** The video encoder at a bitrate, for one pass of a two-pass encode (x264, or VP9 for WebM). */
export function twoPassVideoArgs(webm: boolean, x264Preset: string, kbps: number, pass: 1 | 2, passlog: string): string[] {
  const encoder = webm
    ? ['-c:v', 'libvpx-vp9', '-b:v', `${kbps}k`, '-row-mt', '1', '-deadline', 'good', '-cpu-used', '4']
    : // ratetol 0.2 %: x264 holds the average tighter (short clips overshot 5.8 % at the default 1 %, 1.4 % with this)
      ['-c:v', 'libx264', '-preset', x264Preset, '-b:v', `${kbps}k`, '-x264-params', 'ratetol=0.2'];
  return [...encoder, '-pass', String(pass), '-passlogfile', passlog, '-pix_fmt', 'yuv420p', ...TWO_PASS_FPS_MODE];
}

/** Where the first pass goes: only its log matters. */
export const NULL_OUTPUT = ['-f', 'null', '/dev/null'];

/** The pass log's path prefix (x264 and libvpx add `-0.log`) in the job's temp dir. */
export function passlogPath(dir: string): string {
  return `${dir}/passlog`;
}

/** Audio packets per second for AAC (1024 samples a frame) or Opus (20 ms frames). */
export function audioPacketsPerSecond(opus: boolean, sampleRate: number | null): number {
  return opus ? 50 : (sampleRate ?? 48000) / 1024;
}
