/**
 * An animated GIF described in-process: an output ffmpeg just wrote (the
 * `gif` operation's, a pipeline's last step) for `output_metadata`, or an
 * input (a GIF to convert to MP4) for the plan. ffprobe costs a process
 * start (~50 ms here, a fifth of a short GIF job) to read a file whose block
 * structure says it all.
 *
 * The answer is ffprobe's, number for number. Its duration is the sum of the
 * frame delays; its frame rate is not the one asked for but libavformat's
 * estimate from the first packets it analyses (avformat_find_stream_info,
 * FFmpeg 5.1), reproduced here: the delays of packets 2 to 49, stopping once
 * they add up to five seconds, rounded to the nearest "standard" rate within
 * 1 %. gif-info.test.ts checks it against ffprobe over the option ranges.
 * Anything outside what that covers (fewer than three frames, a file past
 * ffprobe's 5 MB probe size, an unexpected block) is left to ffprobe (null).
 */
import { type MediaInfo, parseFrameRate, secondsOfUs } from './media-info.js';
import type { ReadBytes } from './mp4-info.js';

/** ffprobe's format name for GIF. */
const GIF_FORMAT_NAME = 'gif';

/**
 * Files from this size on go to ffprobe: libavformat stops analysing after
 * this many bytes of packets (probesize's default), which changes its frame
 * rate estimate in ways the delays alone do not tell.
 */
export const GIF_MAX_DESCRIBED_BYTES = 5_000_000;

/** The gif demuxer's `min_delay` and `default_delay` (hundredths of a second): a shorter delay is read as the default. */
const MIN_DELAY = 2;
const DEFAULT_DELAY = 10;
/** avformat_find_stream_info reads this many packets of a GIF at most… */
const ANALYSED_PACKETS = 50;
/** …and stops adding their durations at max_analyze_duration's default (5 s, in hundredths). */
const ANALYSED_HUNDREDTHS = 500;

export interface GifFrames {
  /** The logical screen, which ffprobe reports as the stream's size. */
  width: number;
  height: number;
  /** Each frame's delay as written, in hundredths of a second. */
  delays: number[];
}

/**
 * Walks the blocks of a GIF: the header and logical screen, then
 * extensions and images to the trailer. Every image must follow a graphic
 * control extension, and every such extension be followed by its image
 * (ffmpeg writes one pair per frame; libavformat counts the delay of every
 * extension, even one without an image). Null when the bytes are not such a
 * GIF, or are cut short.
 */
export function readGifFrames(bytes: Buffer): GifFrames | null {
  if (bytes.length < 13) return null;
  const signature = bytes.toString('latin1', 0, 6);
  if (signature !== 'GIF89a' && signature !== 'GIF87a') return null;
  const width = bytes.readUInt16LE(6);
  const height = bytes.readUInt16LE(8);
  const colorTableBytes = (packed: number) => (packed & 0x80 ? 3 * (2 << (packed & 0x07)) : 0);
  let at = 13 + colorTableBytes(bytes[10]!);
  /** Past a run of data sub-blocks (length byte, data) ending with an empty one; false when it runs off the end. */
  const skipSubBlocks = (): boolean => {
    while (at < bytes.length) {
      const length = bytes[at++]!;
      if (length === 0) return true;
      at += length;
    }
    return false;
  };
  const delays: number[] = [];
  let delay: number | null = null;
  for (;;) {
    if (at >= bytes.length) return null;
    const block = bytes[at++]!;
    if (block === 0x3b) {
      if (delay !== null) return null; // a delay with no image after it
      break; // trailer
    }
    if (block === 0x21) {
      const label = bytes[at++];
      if (label === 0xf9) {
        // graphic control: size 4, flags, delay, transparent index, terminator
        if (at + 6 > bytes.length || bytes[at] !== 4 || bytes[at + 5] !== 0 || delay !== null) return null;
        delay = bytes.readUInt16LE(at + 2);
        at += 6;
      } else if (!skipSubBlocks()) return null;
    } else if (block === 0x2c) {
      // image descriptor: position, size, flags; a local colour table; the LZW code size; the data
      if (at + 10 > bytes.length || delay === null) return null;
      at += 9 + colorTableBytes(bytes[at + 8]!) + 1;
      if (!skipSubBlocks()) return null;
      delays.push(delay);
      delay = null;
    } else return null;
  }
  return width > 0 && height > 0 && delays.length > 0 ? { width, height, delays } : null;
}

/** libavformat's "standard" frame rates (get_std_framerate), each × 12 × 1001. */
const STANDARD_RATES: readonly number[] = [
  ...Array.from({ length: 30 * 12 }, (_, i) => (i + 1) * 1001),
  ...Array.from({ length: 30 }, (_, i) => (i + 31) * 1001 * 12),
  ...[80, 120, 240].map((r) => r * 1001 * 12),
  ...[24, 30, 60, 12, 15, 48].map((r) => r * 1000 * 12),
];

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/**
 * ffprobe's `avg_frame_rate` of a GIF with these (demuxed) delays, as
 * `num/den`; null where it has none (0/0: fewer than three frames) or where
 * libavformat would approximate the fraction (reduced within 60000).
 */
export function gifAverageFrameRate(delays: readonly number[]): string | null {
  // packets 0 and 1 only start the clock; a packet is not added once the total reached the limit
  let hundredths = 0;
  let packets = 0;
  for (let i = 2; i < Math.min(delays.length, ANALYSED_PACKETS); i++) {
    if (hundredths >= ANALYSED_HUNDREDTHS) break;
    hundredths += delays[i]!;
    packets++;
  }
  if (packets === 0 || hundredths * 2 > 60_000) return null;
  const estimate = (packets * 100) / hundredths;
  let best = 0;
  let bestError = 0.01;
  for (const rate of STANDARD_RATES) {
    const error = Math.abs(estimate / (rate / (12 * 1001)) - 1);
    if (error < bestError) {
      bestError = error;
      best = rate;
    }
  }
  const [num, den] = best ? [best, 12 * 1001] : [packets * 100, hundredths];
  const d = gcd(num, den);
  return `${num / d}/${den / d}`;
}

/** A GIF's MediaInfo as probe() builds it from ffprobe; null when it is left to ffprobe. */
export function describeGif(bytes: Buffer): MediaInfo | null {
  if (bytes.length >= GIF_MAX_DESCRIBED_BYTES) return null;
  const frames = readGifFrames(bytes);
  if (!frames) return null;
  const delays = frames.delays.map((d) => (d < MIN_DELAY ? DEFAULT_DELAY : d));
  const rate = gifAverageFrameRate(delays);
  if (!rate) return null;
  const durationUs = delays.reduce((sum, d) => sum + d, 0) * 10_000;
  return {
    formatName: GIF_FORMAT_NAME,
    duration: secondsOfUs(durationUs),
    sizeBytes: bytes.length,
    // libavformat: file size × 8 / duration, as a double truncated to an integer
    bitrate: Math.trunc((bytes.length * 8 * 1_000_000) / durationUs),
    // one stream from 0: it ends with the file
    video: {
      index: 0,
      codec: 'gif',
      width: frames.width,
      height: frames.height,
      fps: parseFrameRate(rate),
      end: secondsOfUs(durationUs),
      timeBase: '1/100',
    },
    audio: null,
    subtitles: [],
  };
}

/**
 * An input of `size` bytes described as describeGif does, when it is a GIF
 * (its signature) small enough to be; null otherwise, having read its first
 * six bytes only.
 */
export async function describeGifInput(read: ReadBytes, size: number): Promise<MediaInfo | null> {
  if (size < 6 || size >= GIF_MAX_DESCRIBED_BYTES) return null;
  const signature = (await read(0, 6)).toString('latin1');
  if (signature !== 'GIF89a' && signature !== 'GIF87a') return null;
  const bytes = await read(0, size);
  return bytes.length === size ? describeGif(bytes) : null;
}
