/**
 * ffmpeg started before the run that uses it (FFMPEG_PRESTART). Loading
 * Debian's ffmpeg costs about 60 ms before its main() runs (the dynamic linker
 * binds 215 libraries, docs/BENCHMARKS.md), more than a thumbnail's own work.
 * The launcher keeps one process per command ready, started with
 * wait-for-argv.so preloaded (worker/native/wait-for-argv.c): it loads, says it
 * is ready, and waits for the run's arguments on its stdin. A run that finds
 * one hands it the arguments; it then behaves as a process started for it.
 *
 * Each process is started fresh (its own exec and address-space layout, its
 * own prlimit ceilings) and serves one run. The next one is started when a run
 * of the same command starts, so it loads while that run works: started when
 * the run ended instead, it competed with the next job's first steps and was
 * often not ready for it (docs/BENCHMARKS.md). A command whose processes end
 * twice in a row before they are ready (no library, a wrapper that is not
 * ffmpeg) is started cold from then on.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';
import { type RunRequest, type RunResult, TailBuffer } from './process-runner.js';

/** The whole command line of a process that waits for its arguments (wait-for-argv.c). */
export const WAIT_MARK = '--media-foundry-wait-for-argv';
/** What a waiting process prints first on stdout (wait-for-argv.c). */
export const READY_LINE = 'media-foundry-ready\n';
/** A process not ready this long after it started is stopped (and counts as a failure), ms. */
const READY_WAIT_MS = 10_000;
/**
 * How long a run waits for a process still loading (of a command whose processes were ready before) before it
 * starts its own, ms: a load takes 60-300 ms; one slower than this is a machine too busy to wait on.
 */
const LOAD_WAIT_MS = 1000;
/** The most argument bytes a waiting process takes (MAX_ARGV_BYTES in wait-for-argv.c); a run with more starts cold. */
const MAX_ARGV_BYTES = 1 << 20;
/** Failures in a row (ended or stopped before ready) after which a command is always started cold. */
const GIVE_UP_AFTER = 2;

/** wait-for-argv.so where the build puts it (worker/native/build.sh); null when it was not built (no C compiler) or cannot be preloaded. */
export function builtLibrary(): string | null {
  const path = fileURLToPath(new URL('../native/wait-for-argv.so', import.meta.url));
  // LD_PRELOAD splits its list at spaces and colons
  return existsSync(path) && !/[\s:]/.test(path) ? path : null;
}

/** The arguments as a waiting process reads them: a 4-byte big-endian length, then each argument and a NUL. */
export function encodeArgv(args: string[]): Buffer {
  const body = Buffer.from(args.map((arg) => `${arg}\0`).join(''), 'utf8');
  const head = Buffer.alloc(4);
  head.writeUInt32BE(body.length);
  return Buffer.concat([head, body]);
}

/** Whether a request may run in a pre-started process: late arguments, no NUL in one, not too many bytes; streamed output. */
export function prestartable(request: RunRequest): request is RunRequest & { lateArgs: string[] } {
  const args = request.lateArgs;
  return (
    args !== undefined &&
    request.output.mode === 'stream' &&
    !args.some((arg) => arg.includes('\0')) &&
    args.reduce((bytes, arg) => bytes + Buffer.byteLength(arg) + 1, 0) <= MAX_ARGV_BYTES
  );
}

/** One pre-started process. */
export class WarmProcess {
  private readonly controller = new AbortController();
  private readonly subprocess: ResultPromise;
  private readonly stderr = new TailBuffer(8192);
  private stdout: ((chunk: string) => void) | null = null;
  private pendingStdout = '';
  private readyTimer: NodeJS.Timeout;
  /** Resolves true once the process waits for its arguments, false if it ended or was stopped first. */
  readonly ready: Promise<boolean>;
  /** Resolves when the process has ended. */
  readonly exited: Promise<void>;
  isReady = false;
  ended = false;
  /** Stopped by a run that would not wait longer for it to load: not a failure of the command's. */
  abandoned = false;

  constructor(request: RunRequest, library: string) {
    this.subprocess = execa(request.file, [...request.args, WAIT_MARK], {
      detached: true,
      reject: false,
      stdin: 'pipe',
      env: { ...request.env, LD_PRELOAD: library },
      extendEnv: false,
      forceKillAfterDelay: request.killGraceMs,
      buffer: false,
      cancelSignal: this.controller.signal,
    });
    // a process gone before its arguments were written: its end tells
    this.subprocess.stdin?.on('error', () => {});
    let settle!: (ready: boolean) => void;
    this.ready = new Promise((resolve) => (settle = resolve));
    this.readyTimer = setTimeout(() => this.stop(), READY_WAIT_MS);
    this.subprocess.stderr?.setEncoding('utf8').on('data', (chunk: string) => this.stderr.push(chunk));
    this.subprocess.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      if (this.stdout) return this.stdout(chunk);
      this.pendingStdout += chunk;
      // one stopped meanwhile (not ready in time, closing) is not handed a run, though its line came
      if (!this.isReady && !this.stopped && this.pendingStdout.startsWith(READY_LINE)) {
        this.isReady = true;
        this.pendingStdout = this.pendingStdout.slice(READY_LINE.length);
        clearTimeout(this.readyTimer);
        settle(true);
      } else if (!this.isReady && !READY_LINE.startsWith(this.pendingStdout)) {
        // not ours: a program that ignored the library
        this.stop();
      }
    });
    this.exited = this.subprocess.then(() => {
      this.ended = true;
      clearTimeout(this.readyTimer);
      settle(false);
    });
  }

  get pid(): number | undefined {
    return this.subprocess.pid;
  }

  /** What the process printed on stderr so far (why one that was not ready ended). */
  get stderrTail(): string {
    return this.stderr.toString();
  }

  /** Stops the process (SIGTERM, SIGKILL after the kill grace). */
  stop(): void {
    this.controller.abort();
  }

  /** Whether `stop` was called. */
  get stopped(): boolean {
    return this.controller.signal.aborted;
  }

  /** Whether the process is ready within `ms`; false too when `signal` aborts first. */
  private readyWithin(ms: number, signal?: AbortSignal): Promise<boolean> {
    return new Promise((resolve) => {
      const done = (ready: boolean) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', aborted);
        resolve(ready);
      };
      const aborted = () => done(false);
      const timer = setTimeout(() => done(false), ms);
      signal?.addEventListener('abort', aborted, { once: true });
      void this.ready.then(done);
    });
  }

  /**
   * Runs `request` in this process: as `runProcess` would, with the process
   * already started. One still loading is waited for up to LOAD_WAIT_MS, and
   * its wait counts against the run's timeout. null: it did not load in that
   * time, or was gone before it took the arguments (killed while it waited);
   * the run is the caller's to start. A run cancelled meanwhile ends here,
   * with nothing started.
   */
  async run(
    request: RunRequest & { lateArgs: string[] },
    onStdout: (chunk: string) => void,
    signal?: AbortSignal,
    onSpawn?: (pid: number) => void,
  ): Promise<RunResult | null> {
    const began = Date.now();
    const ready = this.isReady || (await this.readyWithin(LOAD_WAIT_MS, signal));
    if (signal?.aborted) {
      this.stop();
      return { exitCode: null, signal: null, timedOut: false, isCanceled: true, stdout: '', stderr: '' };
    }
    if (!ready || this.stopped) {
      this.abandoned = !ready;
      this.stop();
      return null;
    }
    const stdin = this.subprocess.stdin;
    const taken = await new Promise<boolean>((resolve) => {
      if (this.ended || !stdin) return resolve(false);
      stdin.write(encodeArgv(request.lateArgs), (err) => resolve(!err));
      stdin.end();
    });
    if (!taken) {
      this.stop();
      return null;
    }
    if (this.pid !== undefined) onSpawn?.(this.pid);
    const tail = new TailBuffer(request.output.mode === 'stream' ? request.output.stderrTailChars : 0);
    tail.push(this.stderr.toString());
    this.subprocess.stderr?.on('data', (chunk: string) => tail.push(chunk));
    this.stdout = onStdout;
    if (this.pendingStdout) onStdout(this.pendingStdout);
    let timedOut = false;
    const timer = setTimeout(
      () => {
        // stopped already (a cancel, a stall) and in its kill grace: that is why it ends
        if (this.stopped) return;
        timedOut = true;
        this.stop();
      },
      Math.max(1, request.timeoutMs - (Date.now() - began)),
    );
    const cancel = () => this.stop();
    if (signal?.aborted) cancel();
    else signal?.addEventListener('abort', cancel, { once: true });
    const result = await this.subprocess;
    clearTimeout(timer);
    signal?.removeEventListener('abort', cancel);
    return {
      exitCode: result.exitCode ?? null,
      signal: result.signal ?? null,
      timedOut,
      isCanceled: result.isCanceled && !timedOut,
      stdout: '',
      stderr: tail.toString(),
      prestarted: true,
    };
  }
}

/** The launcher's pre-started processes: at most one per command. */
export class Prestarter {
  private readonly warm = new Map<string, WarmProcess>();
  private readonly failures = new Map<string, number>();
  /** Commands whose process was ready once: a run may wait for the next one to load rather than start its own. */
  private readonly proven = new Set<string>();
  private closed = false;

  constructor(
    /** wait-for-argv.so's path. */
    private readonly library: string,
    /** Told when a command is given up on (the launcher passes it to the worker's log). */
    private readonly onGiveUp: (details: { file: string; stderr: string }) => void,
    /** Told when a process is ready for a run. */
    private readonly onReady: (pid: number) => void = () => {},
  ) {}

  /**
   * The process for `request`'s command, or null (the run starts its own).
   * One still loading is taken too when this command's processes have been
   * ready before: it is further along than a process started now would be
   * (WarmProcess.run waits for it, a while).
   */
  take(request: RunRequest): WarmProcess | null {
    if (this.closed || !prestartable(request)) return null;
    const key = keyOf(request);
    const warm = this.warm.get(key);
    if (!warm || warm.ended || warm.stopped || (!warm.isReady && !this.proven.has(key))) return null;
    this.warm.delete(key);
    return warm;
  }

  /** Starts a process for the next run of `request`'s command, unless one is there or the command was given up on. */
  prepare(request: RunRequest): void {
    if (this.closed || !prestartable(request)) return;
    const key = keyOf(request);
    if (this.warm.has(key) || (this.failures.get(key) ?? 0) >= GIVE_UP_AFTER) return;
    const warm = new WarmProcess(request, this.library);
    this.warm.set(key, warm);
    // one that ends while it waits (killed from outside) makes room for the next
    void warm.exited.then(() => this.warm.get(key) === warm && this.warm.delete(key));
    void warm.ready.then((ready) => {
      if (ready) {
        this.failures.set(key, 0);
        this.proven.add(key);
        if (warm.pid !== undefined) this.onReady(warm.pid);
        return;
      }
      // this runs before `exited`'s handler above: the retry below needs the place free now
      if (this.warm.get(key) === warm) this.warm.delete(key);
      if (this.closed || warm.abandoned) return;
      const failures = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, failures);
      if (failures >= GIVE_UP_AFTER) this.onGiveUp({ file: request.file, stderr: warm.stderrTail });
      else this.prepare(request);
    });
  }

  /** Stops every process not yet taken. */
  close(): void {
    this.closed = true;
    for (const warm of this.warm.values()) warm.stop();
    this.warm.clear();
  }
}

function keyOf(request: RunRequest): string {
  return JSON.stringify([request.file, request.args, request.env, request.killGraceMs]);
}
