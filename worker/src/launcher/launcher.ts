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
 * The launcher runs each request with `runHere` (execa), so timeouts,
 * cancels and the forced kill behave as in-process. When the worker goes
 * away (even by SIGKILL) the launcher stops its processes and exits; when the
 * launcher dies, the runs it held fail as transient (the job is retried) and
 * the next run starts a new one.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { errors } from '@media-foundry/shared';
import type { Logger } from '@media-foundry/shared/node';
import type { ProcessRunner, RunRequest, RunResult } from './process-runner.js';

/** What the worker tells the launcher. */
export type LauncherRequest = { type: 'run'; id: number; request: RunRequest } | { type: 'cancel'; id: number };

/** What the launcher tells the worker. */
export type LauncherEvent =
  { type: 'ready' } | { type: 'stdout'; id: number; chunk: string } | { type: 'done'; id: number; result: RunResult };

interface Pending {
  onStdout: (chunk: string) => void;
  resolve: (result: RunResult) => void;
  reject: (err: unknown) => void;
}

/** How long a closing worker waits for the launcher to stop its processes and exit, ms (past the kill grace). */
const CLOSE_WAIT_MS = 10_000;

export class Launcher implements ProcessRunner {
  private child: ChildProcess | null = null;
  private starting: Promise<ChildProcess> | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private closed = false;

  constructor(private readonly log: Logger) {}

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
    const result = new Promise<RunResult>((resolve, reject) => this.pending.set(id, { onStdout, resolve, reject }));
    const cancel = () => this.send(child, { type: 'cancel', id });
    this.send(child, { type: 'run', id, request });
    if (signal?.aborted) cancel();
    else signal?.addEventListener('abort', cancel, { once: true });
    return result.finally(() => signal?.removeEventListener('abort', cancel));
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

  private send(child: ChildProcess, message: LauncherRequest): void {
    // a launcher that died meanwhile fails its runs through its exit
    if (child.connected) child.send(message, (err) => err && this.log.debug({ err }, 'launcher did not take a message'));
  }

  private process(): Promise<ChildProcess> {
    if (this.child) return Promise.resolve(this.child);
    this.starting ??= this.spawnLauncher().finally(() => (this.starting = null));
    return this.starting;
  }

  private spawnLauncher(): Promise<ChildProcess> {
    // no inherited inspector or profiler flags: the launcher is a plain small process
    const child = fork(new URL('./main.js', import.meta.url), [], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    return new Promise((resolve, reject) => {
      const failed = (why: string) => reject(errors.transient('Could not start the process launcher', why));
      child.once('error', (err) => failed(err.message));
      child.once('exit', (code, signal) => {
        if (this.child !== child) failed(`it exited (${code ?? signal}) before it was ready`);
        else this.lost(child, code, signal);
      });
      child.on('message', (message: LauncherEvent) => {
        if (message.type === 'ready') {
          this.child = child;
          this.log.debug({ pid: child.pid }, 'process launcher ready');
          resolve(child);
        } else this.receive(message);
      });
    });
  }

  private receive(message: LauncherEvent): void {
    if (message.type === 'ready') return;
    const pending = this.pending.get(message.id);
    if (!pending) return;
    if (message.type === 'stdout') pending.onStdout(message.chunk);
    else {
      this.pending.delete(message.id);
      pending.resolve(message.result);
    }
  }

  /** The launcher died: its runs fail as transient, and the next run starts another. */
  private lost(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    this.child = null;
    if (!this.closed) this.log.warn({ pid: child.pid, code, signal, running: this.pending.size }, 'the process launcher exited');
    const runs = [...this.pending.values()];
    this.pending.clear();
    const failure = this.closed
      ? errors.transient('The worker is stopping', 'its ffmpeg and ffprobe runs were stopped')
      : errors.transient('The process launcher stopped', `it exited (${code ?? signal}) while ffmpeg ran; the job is tried again`);
    for (const run of runs) run.reject(failure);
  }
}
