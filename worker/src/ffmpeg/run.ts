import { execa } from 'execa';
import { errors } from '@media-foundry/shared';
import { guardInputs } from './hardening.js';
import { lastLines } from './probe.js';
import { ProgressParser, type ProgressBlock } from './progress.js';

/** Flags every run gets: no prompts, machine-readable progress on stdout, only errors on stderr. */
export const GLOBAL_ARGS = ['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'error', '-progress', 'pipe:1', '-y'];

export interface RunOptions {
  ffmpegPath: string;
  timeoutMs: number;
  /** Aborting kills ffmpeg (SIGTERM, then SIGKILL after `killGraceMs`). */
  signal?: AbortSignal;
  killGraceMs?: number;
  onProgress?: (block: ProgressBlock) => void;
}

/** Keeps only the last `max` characters of a stream (ffmpeg can print without end on broken input). */
class TailBuffer {
  private text = '';
  constructor(private readonly max: number) {}
  push(chunk: string): void {
    this.text = (this.text + chunk).slice(-this.max);
  }
  toString(): string {
    return this.text;
  }
}

/** Runs ffmpeg once; resolves on success, throws JOB_FAILED (or JOB_CANCELLED) with stderr's tail otherwise. */
export async function runFfmpeg(args: string[], options: RunOptions): Promise<void> {
  const stderr = new TailBuffer(8192);
  const parser = new ProgressParser();
  const subprocess = execa(options.ffmpegPath, [...GLOBAL_ARGS, ...guardInputs(args)], {
    reject: false,
    stdin: 'ignore',
    buffer: false,
    timeout: options.timeoutMs,
    cancelSignal: options.signal,
    forceKillAfterDelay: options.killGraceMs ?? 3000,
  });
  subprocess.stderr?.setEncoding('utf8').on('data', (chunk: string) => stderr.push(chunk));
  let pending = '';
  subprocess.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    pending += chunk;
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const block = parser.push(pending.slice(0, nl));
      pending = pending.slice(nl + 1);
      if (block) options.onProgress?.(block);
    }
  });
  const result = await subprocess;
  if (result.isCanceled) throw errors.jobCancelled();
  if (result.timedOut)
    throw errors.jobFailed('FFmpeg timed out', `the job ran longer than FFMPEG_TIMEOUT_SECONDS (${options.timeoutMs / 1000}s) and was killed`);
  if (result.exitCode !== 0)
    throw errors.jobFailed(
      'FFmpeg process failed',
      lastLines(stderr.toString()) || `ffmpeg exited with ${result.exitCode ?? `signal ${result.signal}`}`,
    );
}
