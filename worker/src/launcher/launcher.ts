/**
 * The worker's launcher: a small helper process (main.ts here) that spawns
 * ffmpeg and ffprobe for the worker and hands back what they print and how
 * they ended.
 *
 * Why: Node spawns by fork(), and a fork of the worker (a busy 150 MB
 * process) costs the worker about 30 ms of CPU per job on two cores: copying
 * its page tables, then a copy-on-write fault, with a TLB shootdown on every
 * other core, for each page it writes afterwards (docs/BENCHMARKS.md). The
 * launcher is small and idle, so its forks are cheap, and the worker never
 * forks after start-up.
 *
 * The launcher runs each request with execa (`runProcess`), so timeouts,
 * cancels and the forced kill behave as in-process, each run in a process
 * group of its own. When the worker goes away (even by SIGKILL) the launcher
 * stops its processes and exits. When the launcher dies, or lets a run's
 * answer go SLACK_MS past due (it is then killed), the worker kills the
 * process groups it ran, their runs fail as transient (the job is retried),
 * and the next run starts a new launcher.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { errors } from '@media-foundry/shared';
import type { Logger } from '@media-foundry/shared/node';
import type { ProcessRunner, RunRequest, RunResult } from './process-runner.js';

/** What the worker tells the launcher. */
export type LauncherRequest = { type: 'run'; id: number; request: RunRequest } | { type: 'cancel'; id: number };

/** What the launcher tells the worker. */
export type LauncherEvent =
  | { type: 'ready' }
  | { type: 'spawned'; id: number; pid: number }
  | { type: 'stdout'; id: number; chunk: string }
  | { type: 'done'; id: number; result: RunResult }
  /** A pre-started process waits for a run (prestart.ts). */
  | { type: 'prestarted'; pid: number }
  /** The processes pre-started for a command end before they are ready: it is started cold from now on (prestart.ts). */
  | { type: 'prestart_given_up'; file: string; stderr: string };

interface Pending {
  onStdout: (chunk: string) => void;
  resolve: (result: RunResult) => void;
  reject: (err: unknown) => void;
  /** The run's process (and process group), once spawned. */
  pid: number | null;
  /** The worker's own deadline for the launcher's answer (see SLACK_MS). */
  timer: NodeJS.Timeout | null;
}

/** How long a closing worker waits for the launcher to stop its processes and exit, ms (past the kill grace). */
const CLOSE_WAIT_MS = 10_000;
/** How long the worker waits for a new launcher to say it is ready, ms. */
const READY_WAIT_MS = 15_000;
/**
 * A run's answer is due by its timeout and kill grace (after a cancel: by the
 * grace); a launcher that lets this much more go by is taken for wedged, and
 * replaced: the worker's timers, not only the launcher's, bound every run.
 */
const SLACK_MS = 10_000;

export class Launcher implements ProcessRunner {
  private child: ChildProcess | null = null;
  private starting: Promise<ChildProcess> | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private closed = false;
  /** Told the pid of each pre-started process once it waits for a run (FFMPEG_PRESTART). */
  onPrestarted: ((pid: number) => void) | null = null;
  /** Told, for each run with late arguments (ffmpeg's), whether it ran in a pre-started process (the worker counts them). */
  onStarted: ((prestarted: boolean) => void) | null = null;

  constructor(
    private readonly log: Logger,
    /** SLACK_MS (a test's shorter one). */
    private readonly slackMs = SLACK_MS,
    /** wait-for-argv.so's path: ffmpeg is pre-started (FFMPEG_PRESTART, prestart.ts); null: never. */
    private readonly prestartLibrary: string | null = null,
  ) {}

  /** Starts the launcher process (once it says it is ready); runs start it on demand too. */
  async start(): Promise<void> {
    await this.process();
  }

  /** The launcher's pid, while it runs. */
  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  async run(request: RunRequest, onStdout: (chunk: string) => void, signal?: AbortSignal): Promise<RunResult> {
    if (this.closed) throw errors.transient('The worker is stopping', 'no new process is started');
    const child = await this.process();
    const id = ++this.nextId;
    let pending!: Pending;
    const result = new Promise<RunResult>((resolve, reject) => {
      pending = { onStdout, resolve, reject, pid: null, timer: null };
      this.pending.set(id, pending);
    });
    const due = (ms: number) => {
      if (pending.timer) clearTimeout(pending.timer);
      pending.timer = setTimeout(() => this.wedged(child, id), ms + this.slackMs);
    };
    due(request.timeoutMs + request.killGraceMs);
    const cancel = () => {
      due(request.killGraceMs);
      this.send(child, { type: 'cancel', id });
    };
    this.send(child, { type: 'run', id, request }, (err) => this.settle(id, { err }));
    if (signal?.aborted) cancel();
    else signal?.addEventListener('abort', cancel, { once: true });
    return result.finally(() => {
      signal?.removeEventListener('abort', cancel);
      if (pending.timer) clearTimeout(pending.timer);
    });
  }

  /**
   * Stops the launcher, once the processes it runs are stopped (SIGTERM, then SIGKILL after their grace);
   * their runs fail as transient. (A stopping worker has settled or handed back its jobs before.)
   */
  async close(): Promise<void> {
    this.closed = true;
    const child = this.child ?? (await this.starting?.catch(() => null));
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    if (child.connected) child.disconnect();
    const timer = setTimeout(() => child.kill('SIGKILL'), CLOSE_WAIT_MS);
    await exited;
    clearTimeout(timer);
  }

  /** Sends a message; one the launcher did not take fails its run (`failed`), or is only logged. */
  private send(child: ChildProcess, message: LauncherRequest, failed?: (err: Error) => void): void {
    const notTaken = (err: Error) => {
      this.log.debug({ err }, 'launcher did not take a message');
      failed?.(err);
    };
    // a launcher that died meanwhile fails its runs through its exit
    if (child.connected) child.send(message, (err) => err && notTaken(err));
  }

  /** Ends run `id` with its result, or fails it (transient). */
  private settle(id: number, outcome: { result: RunResult } | { err: Error }): void {
    const pending = this.pending.get(id);
    if (!pending) return;
    this.pending.delete(id);
    if ('result' in outcome) {
      if (outcome.result.prestarted !== undefined) this.onStarted?.(outcome.result.prestarted);
      pending.resolve(outcome.result);
    } else pending.reject(errors.transient('The process launcher did not take a run', outcome.err.message));
  }

  /** The launcher let a run's answer go past due: it is replaced (its exit kills and fails its runs: `lost`). */
  private wedged(child: ChildProcess, id: number): void {
    this.log.warn({ pid: child.pid, run: id }, 'the process launcher did not answer in time; replacing it');
    child.kill('SIGKILL');
  }

  private process(): Promise<ChildProcess> {
    if (this.child) return Promise.resolve(this.child);
    this.starting ??= this.spawnLauncher().finally(() => (this.starting = null));
    return this.starting;
  }

  private spawnLauncher(): Promise<ChildProcess> {
    // no inherited inspector or profiler flags: the launcher is a plain small process
    const child = fork(new URL('./main.js', import.meta.url), this.prestartLibrary ? [this.prestartLibrary] : [], {
      execArgv: [],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    return new Promise((resolve, reject) => {
      const failed = (why: string) => {
        clearTimeout(waiting);
        reject(errors.transient('Could not start the process launcher', why));
      };
      const waiting = setTimeout(() => {
        failed(`it did not say it was ready within ${READY_WAIT_MS / 1000}s`);
        child.kill('SIGKILL');
      }, READY_WAIT_MS);
      child.on('error', (err) => {
        if (this.child === child) this.log.warn({ err }, 'process launcher error');
        else failed(err.message);
      });
      child.once('exit', (code, signal) => {
        if (this.child !== child) failed(`it exited (${code ?? signal}) before it was ready`);
        else this.lost(child, code, signal);
      });
      child.on('message', (message: LauncherEvent) => {
        if (message.type === 'ready') {
          clearTimeout(waiting);
          this.child = child;
          this.log.debug({ pid: child.pid }, 'process launcher ready');
          resolve(child);
        } else this.receive(message);
      });
    });
  }

  private receive(message: LauncherEvent): void {
    if (message.type === 'ready') return;
    if (message.type === 'prestarted') {
      this.log.debug({ pid: message.pid }, 'ffmpeg loaded for the next job');
      this.onPrestarted?.(message.pid);
      return;
    }
    if (message.type === 'prestart_given_up') {
      this.log.warn(
        { file: message.file, stderr: message.stderr.trim().slice(-500) },
        'ffmpeg could not be pre-started (FFMPEG_PRESTART): it is started when a job needs it',
      );
      return;
    }
    const pending = this.pending.get(message.id);
    if (!pending) return;
    if (message.type === 'spawned') pending.pid = message.pid;
    else if (message.type === 'stdout') pending.onStdout(message.chunk);
    else this.settle(message.id, { result: message.result });
  }

  /** The launcher died (or was killed as wedged): what it ran is killed, its runs fail as transient, and the next run starts another. */
  private lost(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    this.child = null;
    if (!this.closed) this.log.warn({ pid: child.pid, code, signal, running: this.pending.size }, 'the process launcher exited');
    const runs = [...this.pending.values()];
    this.pending.clear();
    // no timeout or stall watch is left to stop a hung ffmpeg: each run leads a process group of its own
    for (const run of runs) {
      if (run.pid === null) continue;
      try {
        process.kill(-run.pid, 'SIGKILL');
      } catch {
        // ended already
      }
    }
    const failure = this.closed
      ? errors.transient('The worker is stopping', 'its ffmpeg and ffprobe runs were stopped')
      : errors.transient('The process launcher stopped', `it exited (${code ?? signal}) while ffmpeg ran; the job is tried again`);
    for (const run of runs) run.reject(failure);
  }
}
