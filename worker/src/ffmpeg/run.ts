import { availableParallelism } from 'node:os';
import { errors, MiB } from '@media-foundry/shared';
import { type ProcessRunner, runHere } from '../launcher/process-runner.js';
import { ffmpegEnvironment, guardInputs, oversizePicture, resolutionTooLarge } from './hardening.js';
import { ProgressParser, type ProgressBlock } from './progress.js';

/**
 * Flags every run gets: no prompts, machine-readable progress on stdout, only
 * errors on stderr. A progress block every 0.25 s (ffmpeg's default is 0.5 s)
 * matches the 4 progress replies a second a client may get, so a run of a
 * second or two (a GIF, a few thumbnails) still shows steps, not a jump.
 */
export const GLOBAL_ARGS = [
  '-hide_banner',
  '-nostdin',
  '-nostats',
  '-loglevel',
  'error',
  '-stats_period',
  '0.25',
  '-progress',
  'pipe:1',
  '-y',
];

export interface RunOptions {
  ffmpegPath: string;
  /** Who spawns ffmpeg: the worker's launcher process; absent: this process. */
  runner?: ProcessRunner;
  /**
   * The run's arguments go as late arguments (RunRequest.lateArgs), so a
   * launcher that pre-starts ffmpeg (FFMPEG_PRESTART) can use a process it
   * started before the job; its CPU-seconds ceiling then follows the whole
   * job's budget (`jobTimeoutMs`), the same for every run, not what is left of it.
   */
  prestart?: boolean;
  /** Address-space ceiling in bytes, enforced with prlimit; 0 or absent: none. */
  maxMemoryBytes?: number | undefined;
  /** Largest file ffmpeg may write, bytes (prlimit --fsize, MAX_OUTPUT_MB); absent: none. */
  maxOutputBytes?: number | undefined;
  /** Decoders of every input refuse pictures larger than this (`-max_pixels`, MAX_INPUT_PIXELS); absent: none. */
  maxPixels?: number;
  /** What is left of the job's time budget for this run. */
  timeoutMs: number;
  /** FFMPEG_TIMEOUT_SECONDS, ms, for the message when the budget runs out. */
  jobTimeoutMs?: number;
  /**
   * The longest any run may take, ms, for the CPU-seconds ceiling of a process started before its job (the same
   * for every run, so that a pre-started process fits the next job); absent: `jobTimeoutMs`.
   */
  prestartCeilingMs?: number;
  /** Aborts when the job's time is up before `timeoutMs` (RunDeadline: a download ffmpeg waited for ended late): a timeout, not a cancel. */
  deadline?: AbortSignal;
  /** Aborting kills ffmpeg (SIGTERM, then SIGKILL after `killGraceMs`). */
  signal?: AbortSignal;
  /** ffmpeg is killed when its progress does not advance for this long, ms (FFMPEG_STALL_SECONDS). */
  stallMs?: number;
  killGraceMs?: number;
  onProgress?: (block: ProgressBlock) => void;
}

/** The last few lines of a tool's stderr: what the client gets as `details`. */
export function lastLines(text: string, lines = 5, maxChars = 2000): string {
  const tail = text.trim().split('\n').slice(-lines).join('\n');
  return tail.length > maxChars ? tail.slice(-maxChars) : tail;
}

/**
 * The command line with resource ceilings: prlimit caps the address space
 * (a decoder bomb fails instead of eating the node) and CPU seconds (the
 * wall-clock timeout × cores bounds a runaway even if the timer failed).
 */
export function limitedCommand(
  ffmpegPath: string,
  argv: string[],
  options: Pick<RunOptions, 'maxMemoryBytes' | 'maxOutputBytes' | 'timeoutMs'>,
): [string, string[]] {
  const limits = [
    ...(options.maxMemoryBytes
      ? [`--as=${options.maxMemoryBytes}`, `--cpu=${Math.ceil(options.timeoutMs / 1000) * availableParallelism()}`]
      : []),
    ...(options.maxOutputBytes ? [`--fsize=${options.maxOutputBytes}`] : []),
  ];
  if (limits.length === 0) return [ffmpegPath, argv];
  // no core file: one written by an ffmpeg stopped for its size (SIGXFSZ dumps core) would fill the disk it protects
  return ['prlimit', [...limits, '--core=0', '--', ffmpegPath, ...argv]];
}

/**
 * Notices a run that stopped moving: ffmpeg writes a progress block every
 * half second, and a block that reports no new output time, frame or byte is
 * no progress. (A hung decoder or a blocked read prints nothing at all.)
 */
export class StallWatch {
  private last = '';
  private lastMoved: number;

  constructor(private readonly now: () => number = Date.now) {
    this.lastMoved = now();
  }

  /** Feeds a progress block. */
  observe(block: ProgressBlock): void {
    const position = `${block.outTimeSeconds}|${block.frame}|${block.totalSizeBytes}|${block.end}`;
    if (position !== this.last) {
      this.last = position;
      this.lastMoved = this.now();
    }
  }

  /** How long since the run last moved, ms. */
  stillFor(): number {
    return this.now() - this.lastMoved;
  }
}

/** Runs ffmpeg once; resolves on success, throws JOB_FAILED (or JOB_CANCELLED) with stderr's tail otherwise. */
export async function runFfmpeg(args: string[], options: RunOptions): Promise<void> {
  const parser = new ProgressParser();
  const argv = [...GLOBAL_ARGS, ...guardInputs(args, options.maxPixels)];
  const [file, head, lateArgs] = options.prestart
    ? [
        ...limitedCommand(options.ffmpegPath, [], {
          ...options,
          timeoutMs: options.prestartCeilingMs ?? options.jobTimeoutMs ?? options.timeoutMs,
        }),
        argv,
      ]
    : [...limitedCommand(options.ffmpegPath, argv, options), undefined];
  const stall = new AbortController();
  const watch = new StallWatch();
  const stallMs = options.stallMs ?? Infinity;
  // no stall limit, no watchdog
  const watchdog = Number.isFinite(stallMs)
    ? setInterval(
        () => {
          // once the run is being stopped for another reason (a cancel, its time is up), that reason is its end
          if (options.signal?.aborted || options.deadline?.aborted) return;
          if (watch.stillFor() > stallMs) stall.abort();
        },
        Math.min(1000, stallMs / 4),
      )
    : undefined;
  let pending = '';
  const onStdout = (chunk: string) => {
    pending += chunk;
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const block = parser.push(pending.slice(0, nl));
      pending = pending.slice(nl + 1);
      if (!block) continue;
      watch.observe(block);
      options.onProgress?.(block);
    }
  };
  const result = await (options.runner ?? runHere)
    .run(
      {
        file,
        args: head,
        ...(lateArgs ? { lateArgs } : {}),
        env: ffmpegEnvironment(),
        timeoutMs: options.timeoutMs,
        killGraceMs: options.killGraceMs ?? 3000,
        output: { mode: 'stream', stderrTailChars: 8192 },
      },
      onStdout,
      AbortSignal.any([stall.signal, ...(options.signal ? [options.signal] : []), ...(options.deadline ? [options.deadline] : [])]),
    )
    .finally(() => clearInterval(watchdog));
  const stderr = result.stderr;
  if (result.isCanceled && stall.signal.aborted && !options.signal?.aborted)
    throw errors.stalled(`FFmpeg made no progress for ${Math.round(stallMs / 1000)}s (FFMPEG_STALL_SECONDS) and was stopped`);
  // the timer, the deadline, or the CPU-seconds ceiling (prlimit: SIGXCPU) that backs them up
  const outOfTime =
    result.timedOut || result.signal === 'SIGXCPU' || (result.isCanceled && options.deadline?.aborted && !options.signal?.aborted);
  if (result.isCanceled && !outOfTime) throw errors.jobCancelled();
  if (outOfTime)
    throw errors.jobFailed(
      'FFmpeg timed out',
      `the job ran longer than FFMPEG_TIMEOUT_SECONDS (${Math.ceil((options.jobTimeoutMs ?? options.timeoutMs) / 1000)}s) and was killed`,
    );
  // the kernel stops a process that writes past RLIMIT_FSIZE
  if (result.signal === 'SIGXFSZ')
    throw errors.jobFailed(
      'Output is too large',
      options.maxOutputBytes
        ? `ffmpeg wrote a file past MAX_OUTPUT_MB (${Math.round(options.maxOutputBytes / MiB)} MiB)`
        : 'ffmpeg wrote a file past its size limit',
    );
  const oversize = result.exitCode !== 0 ? oversizePicture(stderr) : null;
  // a picture larger than the headers ffprobe saw (a stream that changes size midway)
  if (oversize) throw resolutionTooLarge('an input', oversize.width, oversize.height, oversize.maxPixels);
  if (result.exitCode !== 0)
    throw errors.jobFailed(
      'FFmpeg process failed',
      result.spawnError
        ? `ffmpeg could not be started (${result.spawnError})`
        : lastLines(stderr) || `ffmpeg exited with ${result.exitCode ?? `signal ${result.signal}`}`,
    );
}
