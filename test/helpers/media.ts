import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import { execa } from 'execa';

export interface TestVideoOptions {
  seconds?: number;
  width?: number;
  height?: number;
  fps?: number;
  audio?: boolean;
  /** The tone's sample rate (default 44100). */
  sampleRate?: number;
  /** The encoders, instead of x264 ultrafast (yuv420p) and AAC 96k. */
  codecArgs?: string[];
  /** More encoder options, e.g. a keyframe interval (`-g 25`), a bitrate, `-movflags +faststart`. */
  outputArgs?: string[];
  /** Container by extension: .mp4, .mkv, .webm … */
}

/** Generates a test video with ffmpeg's lavfi sources (nothing is committed). */
export async function makeTestVideo(path: string, o: TestVideoOptions = {}): Promise<void> {
  const { seconds = 4, width = 320, height = 240, fps = 25, audio = true, sampleRate = 44100 } = o;
  const args = [
    '-hide_banner',
    '-loglevel',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=${width}x${height}:rate=${fps}:duration=${seconds}`,
  ];
  if (audio) args.push('-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=${sampleRate}:duration=${seconds}`);
  if (o.codecArgs) args.push(...o.codecArgs);
  else {
    args.push('-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p');
    if (audio) args.push('-c:a', 'aac', '-b:a', '96k');
  }
  args.push(...(o.outputArgs ?? []), '-shortest', path);
  await execa('ffmpeg', args);
}

/** A video's length and frame size, e.g. `video(3, '320x240')`, with any further options. */
export function video(seconds: number, size: `${number}x${number}`, more: TestVideoOptions = {}): TestVideoOptions {
  const [width, height] = size.split('x').map(Number);
  return { seconds, width, height, ...more };
}

/** Generates a suite's videos into `dir`, a file name to its options, in parallel. */
export async function makeTestVideos(dir: string, videos: Record<string, TestVideoOptions>): Promise<void> {
  await Promise.all(Object.entries(videos).map(([name, options]) => makeTestVideo(join(dir, name), options)));
}

/**
 * A flat dark-grey H.264 video with a 440 Hz AAC tone: any watermark shows as
 * many changed pixels, and nothing else changes.
 */
export async function makeGreyVideo(path: string, o: { seconds: number; width: number; height: number }): Promise<void> {
  await execa('ffmpeg', [
    ...['-hide_banner', '-loglevel', 'error', '-y'],
    ...['-f', 'lavfi', '-i', `color=c=0x303030:size=${o.width}x${o.height}:rate=25:duration=${o.seconds}`],
    ...['-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=44100:duration=${o.seconds}`],
    ...['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '96k', '-shortest'],
    path,
  ]);
}

/** Renders one lavfi source graph (`testsrc2=…`, `nullsrc=…,geq=…`) to `path` with `outputArgs` (codec, pixel format). */
export async function renderLavfi(path: string, source: string, outputArgs: string[]): Promise<void> {
  await execa('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', source, ...outputArgs, path]);
}

/** Generates a tone-only audio file. */
export async function makeTestAudio(path: string, seconds = 3): Promise<void> {
  await execa('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', `sine=frequency=660:duration=${seconds}`, path]);
}

export interface ProbedStream {
  codec_type: string;
  codec_name: string;
  width?: number;
  height?: number;
  sample_rate?: string;
}
export interface Probed {
  format: { format_name: string; duration?: string };
  streams: ProbedStream[];
}

/** ffprobe of a file or of bytes (written to `path` first). */
export async function ffprobe(path: string): Promise<Probed & { duration: number; video?: ProbedStream; audio?: ProbedStream }> {
  const { stdout } = await execa('ffprobe', ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', path]);
  const probed = JSON.parse(stdout) as Probed;
  return {
    ...probed,
    duration: Number(probed.format.duration ?? NaN),
    video: probed.streams.find((s) => s.codec_type === 'video'),
    audio: probed.streams.find((s) => s.codec_type === 'audio'),
  };
}

/** A video with an embedded SRT subtitle stream (Matroska), built from `video` and the cues given. */
export async function muxSubtitles(video: string, srtPath: string, out: string): Promise<void> {
  await execa('ffmpeg', [
    '-hide_banner',
    '-loglevel',
    'error',
    '-y',
    '-i',
    video,
    '-i',
    srtPath,
    '-map',
    '0',
    '-map',
    '1',
    '-c',
    'copy',
    '-c:s',
    'srt',
    out,
  ]);
}

/** One frame at `seconds` as raw 8-bit grey pixels (for comparing pictures). */
export async function grayFrame(path: string, seconds: number): Promise<Buffer> {
  const { stdout } = await execa(
    'ffmpeg',
    ['-hide_banner', '-loglevel', 'error', '-ss', String(seconds), '-i', path, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'gray', '-'],
    {
      encoding: 'buffer',
    },
  );
  return Buffer.from(stdout);
}

/** How many pixels of two equally sized grey frames differ by more than `threshold`. */
export function differingPixels(a: Buffer, b: Buffer, threshold = 64): number {
  let n = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (Math.abs(a[i]! - b[i]!) > threshold) n++;
  return n;
}

/**
 * A PNG declaring `width`×`height` 16-bit RGBA (8 bytes a pixel) with only its
 * first rows of image data: a decoder allocates the whole frame from the
 * header before it inflates a byte, so this few-KB file costs as much to
 * decode as a complete 2 MB one (16000×16000: 2 GB).
 */
/**
 * A GIF whose logical screen declares `width`×`height` (what ffprobe and the
 * worker report as its size) around three 1×1 frames: a few dozen bytes.
 */
export function gifBomb(width: number, height: number): Buffer {
  const screen = Buffer.alloc(13);
  screen.write('GIF89a', 0, 'latin1');
  screen.writeUInt16LE(width, 6);
  screen.writeUInt16LE(height, 8);
  // per frame: a graphic control (0.1 s), then a 1×1 image (LZW code size 2, one data sub-block)
  const frame = Buffer.from([0x21, 0xf9, 4, 0, 10, 0, 0, 0, 0x2c, 0, 0, 0, 0, 1, 0, 1, 0, 0, 2, 2, 0x4c, 0x01, 0]);
  return Buffer.concat([screen, frame, frame, frame, Buffer.from([0x3b])]);
}

export function pngBomb(width: number, height: number, rows = 16): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const out = Buffer.alloc(body.length + 8);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), body.length + 4);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([16, 6, 0, 0, 0], 8); // 16-bit, RGBA, deflate, no filter method, not interlaced
  const idat = deflateSync(Buffer.alloc(rows * (1 + width * 8)));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', idat),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A tiny SVG declaring `width`×`height` (librsvg renders the whole canvas). */
export function svgBomb(width: number, height: number): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="${width}" height="${height}" fill="red"/></svg>`;
}
