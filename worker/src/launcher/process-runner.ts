/**
 * How the worker runs ffmpeg and ffprobe: a request in, a result out, with
 * execa's semantics (a timeout, a cancel, SIGKILL after a grace), whichever
 * process does the spawning. `runHere` spawns from the calling process; the
 * worker asks its launcher process to (launcher.ts), since a fork of the
 * worker itself is what a spawn costs most.
 */
import { execa } from 'execa';

export interface RunRequest {
  file: string;
  args: string[];
  env: Record<string, string | undefined>;
  /**
   * More arguments, after `args`: the command is `file ...args ...lateArgs`.
   * Set, they tell the launcher it may start `file ...args` before the run, to
   * wait for them (prestart.ts): `args` then holds what every run of the
   * command shares, these what this run adds.
   */
  lateArgs?: string[];
  /** Killed (SIGTERM, then SIGKILL after the grace) when it runs longer, ms. */
  timeoutMs: number;
  /** How long after a SIGTERM (timeout or cancel) a process that did not end is killed with SIGKILL, ms. */
  killGraceMs: number;
  /**
   * `collect`: stdout and stderr come whole with the result (each at most
   * `maxBytes`). `stream`: stdout goes to `onStdout` as it comes, and the
   * result holds only stderr's last `stderrTailChars` characters.
   */
  output: { mode: 'collect'; maxBytes: number } | { mode: 'stream'; stderrTailChars: number };
}

export interface RunResult {
  /** null when the process did not exit by itself (a signal), or never started. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** Stopped by the caller's signal. */
  isCanceled: boolean;
  /** Collected stdout (`collect` mode only; '' otherwise). */
  stdout: string;
  /** stderr, whole (`collect`) or its tail (`stream`). */
  stderr: string;
  /** Why the process could not be started (the error's code: ENOENT, EACCES); absent when it ran. */
  spawnError?: string;
  /** A launcher's run with late arguments: whether its process was started before it (prestart.ts); absent otherwise. */
  prestarted?: boolean;
}

export interface ProcessRunner {
  /** Runs one process to its end; never rejects for what the process did (see RunResult). */
  run(request: RunRequest, onStdout: (chunk: string) => void, signal?: AbortSignal): Promise<RunResult>;
}

/** Keeps only the last `max` characters of a stream (ffmpeg can print without end on broken input). */
export class TailBuffer {
  private text = '';
  constructor(private readonly max: number) {}
  push(chunk: string): void {
    this.text = (this.text + chunk).slice(-this.max);
  }
  toString(): string {
    return this.text;
  }
}

/** Runs the process as a child of this one (execa). */
export const runHere: ProcessRunner = { run: (request, onStdout, signal) => runProcess(request, onStdout, signal) };

/**
 * `runHere`, with the launcher's extras: `detached` starts the process in a
 * process group of its own (whoever outlives the launcher can kill it and
 * what it started: launcher.ts), and `onSpawn` is told its pid.
 */
export async function runProcess(
  request: RunRequest,
  onStdout: (chunk: string) => void,
  signal?: AbortSignal,
  { detached = false, onSpawn }: { detached?: boolean; onSpawn?: (pid: number) => void } = {},
): Promise<RunResult> {
  const { output } = request;
  const subprocess = execa(request.file, [...request.args, ...(request.lateArgs ?? [])], {
    detached,
    reject: false,
    stdin: 'ignore',
    env: request.env,
    extendEnv: false,
    timeout: request.timeoutMs,
    forceKillAfterDelay: request.killGraceMs,
    ...(output.mode === 'collect' ? { maxBuffer: output.maxBytes } : { buffer: false }),
    ...(signal ? { cancelSignal: signal } : {}),
  });
  if (subprocess.pid !== undefined) onSpawn?.(subprocess.pid);
  const tail = new TailBuffer(output.mode === 'stream' ? output.stderrTailChars : 0);
  if (output.mode === 'stream') {
    subprocess.stderr?.setEncoding('utf8').on('data', (chunk: string) => tail.push(chunk));
    subprocess.stdout?.setEncoding('utf8').on('data', onStdout);
  }
  const result = await subprocess;
  const started = result.exitCode !== undefined || result.signal !== undefined;
  return {
    exitCode: result.exitCode ?? null,
    signal: result.signal ?? null,
    timedOut: result.timedOut,
    isCanceled: result.isCanceled,
    stdout: output.mode === 'collect' ? String(result.stdout ?? '') : '',
    stderr: output.mode === 'collect' ? String(result.stderr ?? '') : tail.toString(),
    // the code alone: execa's message repeats the whole command line, inputs' paths and URLs included
    ...(started ? {} : { spawnError: result.code ?? 'spawn failed' }),
  };
}
