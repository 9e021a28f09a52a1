/**
 * The launcher process (launcher.ts): runs what the worker asks for with
 * `runProcess`, each in a process group of its own, tells the worker its pid,
 * relays stdout as it comes and the result at the end. When the worker goes
 * away it stops every process it runs and exits; when it fails itself, it
 * kills them first.
 */
import type { LauncherEvent, LauncherRequest } from './launcher.js';
import { Prestarter, prestartable } from './prestart.js';
import { type RunRequest, type RunResult, runProcess } from './process-runner.js';

/** A run under way: how to stop it, its process group once spawned, and its end. */
interface Run {
  controller: AbortController;
  group: number | null;
  done: Promise<void>;
}
const running = new Map<number, Run>();

/** runProcess does not reject for what a process did; anything else is told as a run that never started. */
function notStarted(err: unknown): RunResult {
  const why = err instanceof Error ? err.message : String(err);
  return { exitCode: null, signal: null, timedOut: false, isCanceled: false, stdout: '', stderr: '', spawnError: why };
}

function tell(event: LauncherEvent): void {
  // a worker gone meanwhile: its 'disconnect' follows (without a callback, the failed write would be thrown)
  if (process.connected) process.send!(event, undefined, {}, () => {});
}

// wait-for-argv.so's path, when the worker pre-starts ffmpeg (prestart.ts)
const library = process.argv[2];
const prestarter = library
  ? new Prestarter(
      library,
      ({ file, stderr }) => tell({ type: 'prestart_given_up', file, stderr }),
      (pid) => tell({ type: 'prestarted', pid }),
    )
  : null;

/** Runs a request in a pre-started process when one is ready for it, else in one started now. */
async function start(request: RunRequest, onStdout: (chunk: string) => void, signal: AbortSignal, onSpawn: (pid: number) => void) {
  const warm = prestarter?.take(request) ?? null;
  // the next run of this command finds its process loaded: it loads while this run works
  prestarter?.prepare(request);
  const result = warm && prestartable(request) ? await warm.run(request, onStdout, signal, onSpawn) : null;
  if (result) return result;
  const cold = await runProcess(request, onStdout, signal, { detached: true, onSpawn });
  return request.lateArgs ? { ...cold, prestarted: false } : cold;
}

process.on('message', (message: LauncherRequest) => {
  if (message.type === 'cancel') {
    running.get(message.id)?.controller.abort();
    return;
  }
  const { id, request } = message;
  const controller = new AbortController();
  const entry: Run = { controller, group: null, done: Promise.resolve() };
  running.set(id, entry);
  entry.done = start(
    request,
    (chunk) => tell({ type: 'stdout', id, chunk }),
    controller.signal,
    (pid) => {
      entry.group = pid;
      tell({ type: 'spawned', id, pid });
    },
  )
    .then(
      (result) => tell({ type: 'done', id, result }),
      (err: unknown) => tell({ type: 'done', id, result: notStarted(err) }),
    )
    .finally(() => running.delete(id));
});

// the worker closed the channel or died: stop everything (SIGTERM, SIGKILL after each run's grace), then go
process.on('disconnect', () => {
  prestarter?.close();
  const runs = [...running.values()];
  for (const run of runs) run.controller.abort();
  void Promise.allSettled(runs.map((run) => run.done)).then(() => process.exit(0));
});

// a failure of the launcher's own: nothing it runs may outlive it unwatched
process.on('uncaughtException', (err) => {
  process.stderr.write(`media-foundry launcher failed: ${err.stack ?? String(err)}\n`);
  // pre-started processes read end-of-file on their stdin and exit
  for (const { group } of running.values()) {
    if (group === null) continue;
    try {
      process.kill(-group, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  process.exit(1);
});

// a terminal's Ctrl-C reaches the whole process group: the worker decides when its processes stop (it
// closes the channel), so a draining worker keeps its running jobs
process.on('SIGINT', () => {});
process.on('SIGTERM', () => {});

tell({ type: 'ready' });
