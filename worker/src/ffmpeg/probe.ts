import { errors, MiB } from '@media-foundry/shared';
import { type ProcessRunner, runHere } from '../launcher/process-runner.js';
import { ffmpegEnvironment, inputGuards, oversizePicture, resolutionTooLarge } from './hardening.js';
import { ffprobeOutput, isAttachedPicture, toMediaInfo, type MediaInfo } from './media-info.js';
import { lastLines, limitedCommand } from './run.js';

export interface ProbeOptions {
  /** Who spawns ffprobe: the worker's launcher process; absent: this process. */
  runner?: ProcessRunner;
  /** ffprobe is killed after this long, ms. */
  timeoutMs?: number;
  /** Address-space ceiling in bytes (prlimit, as for ffmpeg: FFMPEG_MAX_MEMORY_MB); 0 or absent: none. */
  maxMemoryBytes?: number;
  /** Decoders refuse larger pictures before allocating them (MAX_INPUT_PIXELS); absent: no ceiling. */
  maxPixels?: number;
  /** Aborting kills ffprobe (a cancelled job). */
  signal?: AbortSignal;
  /** How messages name the file ("input 2"). */
  which?: string;
}

/**
 * Runs ffprobe on a local file, under the same ceilings as ffmpeg: prlimit
 * (memory, CPU seconds) and `-max_pixels`, so a decompression bomb is refused
 * from its headers instead of being decoded. Unreadable or non-media input is
 * a JOB_FAILED with ffprobe's words; a picture over `maxPixels` is a JOB_FAILED
 * naming MAX_INPUT_PIXELS.
 */
export async function probe(ffprobePath: string, path: string, options: ProbeOptions = {}): Promise<MediaInfo> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const [file, argv] = limitedCommand(
    ffprobePath,
    ['-v', 'error', ...inputGuards(undefined, options.maxPixels, path), '-print_format', 'json', '-show_format', '-show_streams', path],
    { maxMemoryBytes: options.maxMemoryBytes, timeoutMs },
  );
  const result = await (options.runner ?? runHere).run(
    { file, args: argv, env: ffmpegEnvironment(), timeoutMs, killGraceMs: 3000, output: { mode: 'collect', maxBytes: 16 * MiB } },
    () => {},
    options.signal,
  );
  if (result.isCanceled) throw errors.jobCancelled();
  if (result.timedOut) throw errors.jobFailed('Probing the input timed out', `ffprobe ran longer than ${timeoutMs / 1000}s`);
  const stderr = result.stderr;
  const oversize = oversizePicture(stderr);
  const tooLarge = () => resolutionTooLarge(options.which ?? 'the input', oversize!.width, oversize!.height, oversize!.maxPixels);
  // output ffprobe could not give is the refused picture's doing when there was one
  const unreadable = (why: string) => (oversize ? tooLarge() : errors.jobFailed('Input is not a readable media file', why));
  if (result.spawnError) throw errors.jobFailed('Could not probe the input', `ffprobe could not be started (${result.spawnError})`);
  if (result.exitCode !== 0) throw unreadable(lastLines(stderr) || `ffprobe exited with ${result.exitCode ?? `signal ${result.signal}`}`);
  let json: unknown;
  try {
    json = JSON.parse(result.stdout);
  } catch {
    throw unreadable('ffprobe printed no JSON');
  }
  const parsed = ffprobeOutput.safeParse(json);
  if (!parsed.success) throw unreadable('unexpected ffprobe output');
  // the refused picture may be cover art, which no operation decodes as video: only a video track's refusal counts
  if (oversize && parsed.data.streams.some((s) => s.codec_type === 'video' && !isAttachedPicture(s) && !(s.width && s.height)))
    throw tooLarge();
  return toMediaInfo(parsed.data);
}
