/**
 * The launcher process (launcher.ts): runs what the worker asks for with
 * `runHere`, relays stdout as it comes and the result at the end. When the
 * worker goes away it stops every process it runs and exits.
 */
import type { LauncherEvent, LauncherRequest } from './launcher.js';
import { type RunResult, runHere } from './process-runner.js';

const running = new Map<number, AbortController>();
const settled = new Set<Promise<unknown>>();

/** runHere does not reject for what a process did; anything else is told as a run that never started. */
function notStarted(err: unknown): RunResult {
  const why = err instanceof Error ? err.message : String(err);
  return { exitCode: null, signal: null, timedOut: false, isCanceled: false, stdout: '', stderr: '', spawnError: why };
}

function tell(event: LauncherEvent): void {
  if (process.connected) process.send!(event);
}

process.on('message', (message: LauncherRequest) => {
  if (message.type === 'cancel') {
    running.get(message.id)?.abort();
    return;
  }
  const { id, request } = message;
  const controller = new AbortController();
  running.set(id, controller);
  const run = runHere
    .run(request, (chunk) => tell({ type: 'stdout', id, chunk }), controller.signal)
    .then(
      (result) => tell({ type: 'done', id, result }),
      (err: unknown) => tell({ type: 'done', id, result: notStarted(err) }),
    )
    .finally(() => {
      running.delete(id);
      settled.delete(run);
    });
  settled.add(run);
});

// the worker closed the channel or died: stop everything (SIGTERM, SIGKILL after each run's grace), then go
process.on('disconnect', () => {
  for (const controller of running.values()) controller.abort();
  void Promise.allSettled([...settled]).then(() => process.exit(0));
});

// a terminal's Ctrl-C reaches the whole process group: the worker decides when its processes stop (it
// closes the channel), so a draining worker keeps its running jobs
process.on('SIGINT', () => {});
process.on('SIGTERM', () => {});

tell({ type: 'ready' });
