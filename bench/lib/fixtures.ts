/**
 * Input media, generated with ffmpeg's lavfi sources at bench time and kept
 * in a cache directory between runs (BENCH_CACHE_DIR, default
 * <tmpdir>/media-foundry-bench): the names carry every parameter, so a
 * changed fixture is a new file.
 */
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MiB } from '@media-foundry/shared';
import { loadTestHelpers } from './helpers.js';

export const CACHE_DIR = process.env.BENCH_CACHE_DIR ?? join(tmpdir(), 'media-foundry-bench');

function ffmpeg(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('ffmpeg', ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y', ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`ffmpeg (fixture) exited with ${code}: ${stderr.trim()}`))));
  });
}

/** `name` in the cache, made by `make(path)` when missing (into a temporary name first, so a cut-off run leaves nothing half-made). */
async function cached(name: string, make: (path: string) => Promise<void>): Promise<string> {
  await mkdir(CACHE_DIR, { recursive: true });
  const path = join(CACHE_DIR, name);
  if (
    await stat(path).then(
      (s) => s.size > 0,
      () => false,
    )
  )
    return path;
  // the extension stays last: ffmpeg picks the container from it
  const partial = join(CACHE_DIR, `partial-${process.pid}-${name}`);
  const started = performance.now();
  try {
    await make(partial);
    await rename(partial, path);
  } finally {
    await rm(partial, { force: true });
  }
  console.log(`generated ${path} in ${((performance.now() - started) / 1000).toFixed(1)} s (cached for later runs)`);
  return path;
}

export interface ClipOptions {
  seconds: number;
  width: number;
  height: number;
  fps?: number;
}

/** A test-pattern clip with a tone, made by the tests' `makeTestVideo` (H.264 ultrafast/AAC in MP4, moov at the end). */
export async function clip(o: ClipOptions): Promise<string> {
  const { media } = await loadTestHelpers();
  const fps = o.fps ?? 25;
  return cached(`clip-${o.width}x${o.height}-${fps}fps-${o.seconds}s.mp4`, (path) => media.makeTestVideo(path, { ...o, fps }));
}

export interface LargeClipOptions extends ClipOptions {
  /** Constant video bitrate, Mbit/s: x264 pads with filler data up to it, so the size is predictable. */
  mbps: number;
  /** Keyframe interval, frames (2 s at 25 fps: what streaming encoders use). */
  gop: number;
}

/**
 * A large high-bitrate clip: constant bitrate (x264 `nal-hrd=cbr` pads the
 * test pattern with filler NAL units to the rate), a keyframe every `gop`
 * frames, and the index (moov) at the front (`+faststart`), as files made
 * for the web are. 1080p, 60 s at 26 Mbit/s: about 197 MB.
 */
export function largeClip(o: LargeClipOptions): Promise<string> {
  const fps = o.fps ?? 25;
  const rate = `${o.mbps}M`;
  return cached(`large-${o.width}x${o.height}-${fps}fps-${o.seconds}s-${o.mbps}M-g${o.gop}.mp4`, (path) =>
    ffmpeg([
      ...['-f', 'lavfi', '-i', `testsrc2=size=${o.width}x${o.height}:rate=${fps}:duration=${o.seconds}`],
      ...['-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${o.seconds}`],
      ...['-c:v', 'libx264', '-preset', 'ultrafast', '-g', String(o.gop), '-pix_fmt', 'yuv420p'],
      ...['-b:v', rate, '-minrate', rate, '-maxrate', rate, '-bufsize', rate, '-x264-params', 'nal-hrd=cbr'],
      ...['-c:a', 'aac', '-b:a', '128k', '-movflags', '+faststart', '-shortest', path],
    ]),
  );
}

/** Reads a file once, so that neither side of a comparison pays for the first read from disk. */
export async function warmPageCache(path: string): Promise<void> {
  for await (const chunk of createReadStream(path, { highWaterMark: MiB })) void chunk;
}
