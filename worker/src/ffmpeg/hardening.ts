/**
 * Limits on what ffmpeg and ffprobe may open. Uploads are attacker-controlled
 * files: a "video" can be an HLS or concat playlist that makes ffmpeg fetch
 * URLs or read local files (the HLS attacks behind CVE-2016-1897/1898 and
 * CVE-2017-9993). Every input therefore gets
 * - `-protocol_whitelist file,pipe`: no network protocols at all (an input
 *   read by range gets `http,tcp`: its URL is the worker's loopback input
 *   server, never the client's), and
 * - `-format_whitelist <media demuxers>`: playlist demuxers (hls, dash,
 *   concat, …) are refused at probe time, so such an upload fails cleanly.
 * The concat demuxer is allowed only for the list the worker wrote itself.
 *
 * With a pixel ceiling, every input also gets `-max_pixels N`, libavcodec's
 * own check: a decoder refuses a picture larger than N pixels when it reads
 * the dimensions from the headers, before it allocates the frame. A 2 MB PNG
 * or a 122-byte SVG declaring 16000×16000 is refused by ffprobe in
 * milliseconds instead of taking 1–2 GB to decode.
 */

import { type AppError, errors } from '@media-foundry/shared';
import { isServedInputUrl } from '../input-server.js';

/** Demuxers for real media files: containers, elementary streams, still images and subtitle files. */
export const MEDIA_DEMUXERS = [
  // containers
  'mov',
  'mp4',
  'm4a',
  '3gp',
  '3g2',
  'mj2',
  'matroska',
  'webm',
  'avi',
  'flv',
  'mpegts',
  'mpeg',
  'asf',
  'ogg',
  'mxf',
  'nut',
  'wtv',
  'rm',
  'ivf',
  'caf',
  'w64',
  'dv',
  'gif',
  'apng',
  // audio
  'mp3',
  'aac',
  'wav',
  'flac',
  'ac3',
  'eac3',
  'dts',
  'aiff',
  'amr',
  'wv',
  'ape',
  'tta',
  'loas',
  'au',
  'mlp',
  'truehd',
  // elementary video
  'h264',
  'hevc',
  'm4v',
  'mpegvideo',
  'obu',
  'vc1',
  'yuv4mpegpipe',
  'mjpeg',
  // still images
  'image2',
  'png_pipe',
  'jpeg_pipe',
  'webp_pipe',
  'bmp_pipe',
  'tiff_pipe',
  // subtitle files
  'srt',
  'ass',
  'webvtt',
  'subviewer',
  'microdvd',
  'sami',
  'mpl2',
  'jacosub',
  'realtext',
  'stl',
  'vobsub',
  'sup',
] as const;

const MEDIA = MEDIA_DEMUXERS.join(',');

/** The largest value libavcodec's `max_pixels` takes (an `int`). */
const MAX_PIXELS_OPTION = 2_147_483_647;

/**
 * The options placed before an input: local files only — or, for an input
 * the worker's own input server serves by range (input-server.ts), http to
 * that server — media demuxers only (plus concat for our own list), and
 * decoders refusing pictures over `maxPixels` (MAX_INPUT_PIXELS) when given.
 */
export function inputGuards(forcedFormat: string | undefined, maxPixels?: number, input?: string): string[] {
  const formats = forcedFormat === 'concat' ? `concat,${MEDIA}` : MEDIA;
  const pixels = maxPixels ? ['-max_pixels', String(Math.min(maxPixels, MAX_PIXELS_OPTION))] : [];
  const served = input !== undefined && isServedInputUrl(input);
  // the input server answers in windows; ffmpeg asks for the next one at once (input-server.ts). A reconnect
  // that fails is final (the server answers 502 once a read failed, 404 once the job ended): no back-off,
  // which would hold the slot for two minutes of retries
  const network = served ? ['-reconnect', '1', '-reconnect_delay_max', '0'] : [];
  return ['-protocol_whitelist', served ? 'http,tcp' : 'file,pipe', '-format_whitelist', formats, ...network, ...pixels];
}

/** What of the worker's environment ffmpeg and ffprobe get: what a process needs to run (locale: `LC_*` too). */
const FFMPEG_VARIABLES = new Set([
  'PATH',
  'HOME',
  'TMPDIR',
  'TZ',
  'LANG',
  'LANGUAGE',
  'LD_LIBRARY_PATH',
  'FONTCONFIG_FILE',
  'FONTCONFIG_PATH',
  'XDG_CACHE_HOME',
]);

/**
 * The environment ffmpeg and ffprobe run with: only FFMPEG_VARIABLES of the
 * worker's. None of its settings: no storage or RabbitMQ credentials for a
 * decoder's bug to read, no proxy variables (ffmpeg's http protocol would
 * follow them, also to the loopback input server with the job's secret URL).
 */
export function ffmpegEnvironment(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([name]) => FFMPEG_VARIABLES.has(name) || name.startsWith('LC_')));
}

/** What libavutil prints when a decoder meets a picture over `max_pixels`. */
const OVER_MAX_PIXELS = /Picture size (\d+)x(\d+) exceeds specified max pixel count (\d+)/;

/**
 * The declared size of a picture a decoder refused for `-max_pixels`, read
 * from ffmpeg's or ffprobe's stderr; null when there was none. (ffprobe still
 * exits 0 then, reporting the stream with width 0: the refusal is only in its log.)
 */
export function oversizePicture(stderr: string): { width: number; height: number; maxPixels: number } | null {
  const m = OVER_MAX_PIXELS.exec(stderr);
  return m ? { width: Number(m[1]), height: Number(m[2]), maxPixels: Number(m[3]) } : null;
}

/** JOB_FAILED for an input whose pictures are larger than MAX_INPUT_PIXELS; `which` names the input ("input 2"). */
export function resolutionTooLarge(which: string, width: number, height: number, maxPixels: number): AppError {
  return errors.jobFailed('Input resolution is too large', `${which} is ${width}x${height}; MAX_INPUT_PIXELS allows ${maxPixels} pixels`);
}

/** Inserts the input guards before every `-i` of an ffmpeg argument list. */
export function guardInputs(args: readonly string[], maxPixels?: number): string[] {
  const out: string[] = [];
  // the `-f` given since the previous input forces this input's demuxer
  let forced: string | undefined;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '-f') forced = args[i + 1];
    if (args[i] === '-i') {
      out.push(...inputGuards(forced, maxPixels, args[i + 1]));
      forced = undefined;
    }
    out.push(args[i]!);
  }
  return out;
}
