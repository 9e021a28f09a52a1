/**
 * The launcher with real processes: what a run prints and how it ends come
 * back as from an in-process spawn; a cancel, a timeout and a process that
 * cannot start are told apart; a launcher that dies fails its runs as
 * transient and is replaced; a worker that dies takes its runs with it.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { createLogger, waitFor } from '@media-foundry/shared/node';
import { Launcher } from './launcher.js';
import { type RunRequest, runHere } from './process-runner.js';

const quiet = createLogger('worker', 'silent');

function request(file: string, args: string[], output: RunRequest['output'] = { mode: 'stream', stderrTailChars: 100 }): RunRequest {
  return { file, args, env: { PATH: process.env.PATH }, timeoutMs: 30_000, killGraceMs: 500, output };
}

/** Whether a process is still there (a zombie counts as gone). */
async function alive(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
  return stat !== null && stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
}

describe('Launcher', () => {
  let launcher: Launcher;
  beforeEach(async () => {
    launcher = new Launcher(quiet);
    await launcher.start();
  });
  afterEach(() => launcher.close());

  it('streams stdout, keeps the tail of stderr, and reports the exit code, as a run in this process does', async () => {
    const script = 'echo one; echo two; printf "%0300d" 0 >&2; echo last-words >&2; exit 3';
    for (const runner of [launcher, runHere]) {
      const chunks: string[] = [];
      const result = await runner.run(request('sh', ['-c', script]), (c) => chunks.push(c));
      expect(chunks.join('')).toBe('one\ntwo\n');
      expect(result).toMatchObject({ exitCode: 3, signal: null, timedOut: false, isCanceled: false, stdout: '' });
      expect(result.stderr).toHaveLength(100);
      expect(result.stderr.endsWith('last-words\n')).toBe(true);
    }
  });

  it('collects whole outputs when asked', async () => {
    const result = await launcher.run(request('sh', ['-c', 'echo out; echo err >&2'], { mode: 'collect', maxBytes: 1024 }), () => {});
    expect(result).toMatchObject({ exitCode: 0, stdout: 'out', stderr: 'err' });
  });

  it('runs several processes at once, each answered as its own', async () => {
    const results = await Promise.all(
      [1, 2, 3, 4].map((n) =>
        launcher.run(request('sh', ['-c', `sleep 0.${n}; echo ${n}; exit ${n}`], { mode: 'collect', maxBytes: 64 }), () => {}),
      ),
    );
    expect(results.map((r) => [r.stdout, r.exitCode])).toEqual([
      ['1', 1],
      ['2', 2],
      ['3', 3],
      ['4', 4],
    ]);
  });

  it('stops a run when its signal aborts, and one that outlives its timeout, telling which', async () => {
    const controller = new AbortController();
    const cancelled = launcher.run(request('sleep', ['30']), () => {}, controller.signal);
    setTimeout(() => controller.abort(), 200);
    expect(await cancelled).toMatchObject({ isCanceled: true, timedOut: false, exitCode: null, signal: 'SIGTERM' });

    const timedOut = await launcher.run({ ...request('sleep', ['30']), timeoutMs: 200 }, () => {});
    expect(timedOut).toMatchObject({ isCanceled: false, timedOut: true, exitCode: null });
  });

  it('kills a process that ignores SIGTERM once the grace is over', async () => {
    const controller = new AbortController();
    const script = 'trap "" TERM; echo ready; while :; do sleep 0.1; done';
    const run = launcher.run(request('sh', ['-c', script]), () => controller.abort(), controller.signal);
    expect(await run).toMatchObject({ isCanceled: true, signal: 'SIGKILL' });
  });

  it('says a process could not be started, without the command line', async () => {
    const result = await launcher.run(request('/nonexistent/ffmpeg', ['-i', '/secret/input.mp4']), () => {});
    expect(result).toMatchObject({ exitCode: null, spawnError: 'ENOENT' });
  });

  it('fails the runs of a launcher that died as transient, kills what it ran, and starts another for the next run', async () => {
    const first = launcher.pid!;
    let pid = 0;
    const running = launcher.run(request('sh', ['-c', 'echo $$; exec sleep 30']), (c) => (pid = Number(c.trim())));
    await waitFor(async () => pid > 0);
    process.kill(first, 'SIGKILL');
    await expect(running).rejects.toMatchObject({ kind: 'transient', message: 'The process launcher stopped' });
    // no timeout or stall watch of the dead launcher's is left to stop it: the worker kills its process group
    await waitFor(async () => !(await alive(pid)));
    const result = await launcher.run(request('sh', ['-c', 'echo again'], { mode: 'collect', maxBytes: 64 }), () => {});
    expect(result.stdout).toBe('again');
    expect(launcher.pid).not.toBe(first);
  });

  it('replaces a launcher that does not answer a run by its due time, killing what it ran', async () => {
    const impatient = new Launcher(quiet, 300);
    await impatient.start();
    try {
      const wedged = impatient.pid!;
      let pid = 0;
      const controller = new AbortController();
      const running = impatient.run(request('sh', ['-c', 'echo $$; exec sleep 30']), (c) => (pid = Number(c.trim())), controller.signal);
      await waitFor(async () => pid > 0);
      process.kill(wedged, 'SIGSTOP'); // hears nothing, answers nothing
      controller.abort(); // the cancel is due within the kill grace (500 ms) and the slack (300 ms)
      await expect(running).rejects.toMatchObject({ kind: 'transient', message: 'The process launcher stopped' });
      await waitFor(async () => !(await alive(pid)) && !(await alive(wedged)));
      const next = await impatient.run(request('sh', ['-c', 'echo fine'], { mode: 'collect', maxBytes: 64 }), () => {});
      expect(next.stdout).toBe('fine');
    } finally {
      await impatient.close();
    }
  });

  it('stops its processes, then exits, when closed', async () => {
    let pid = 0;
    const running = launcher.run(request('sh', ['-c', 'echo $$; exec sleep 30']), (c) => (pid = Number(c.trim())));
    await waitFor(async () => pid > 0);
    const launcherPid = launcher.pid!;
    await launcher.close();
    await expect(running).rejects.toMatchObject({ kind: 'transient', message: 'The worker is stopping' });
    expect(await alive(pid)).toBe(false);
    expect(await alive(launcherPid)).toBe(false);
  });
});

describe('a worker that dies', () => {
  it('takes the launcher and its processes with it, even when killed with SIGKILL', async () => {
    // a stand-in worker: starts a launcher, runs a long process through it, prints both pids
    const launcherModule = fileURLToPath(new URL('./launcher.js', import.meta.url));
    const owner = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { Launcher } from ${JSON.stringify(launcherModule)};
         const quiet = { debug() {}, warn() {} };
         const launcher = new Launcher(quiet);
         await launcher.start();
         void launcher.run({ file: 'sh', args: ['-c', 'echo $$; exec sleep 60'], env: { PATH: process.env.PATH },
           timeoutMs: 60000, killGraceMs: 500, output: { mode: 'stream', stderrTailChars: 10 } },
           (chunk) => console.log(JSON.stringify({ launcher: launcher.pid, sleep: Number(chunk.trim()) })));`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const line = await new Promise<string>((resolve) => owner.stdout.once('data', (d: Buffer) => resolve(d.toString())));
    const pids = JSON.parse(line) as { launcher: number; sleep: number };
    expect(await alive(pids.launcher)).toBe(true);
    expect(await alive(pids.sleep)).toBe(true);
    owner.kill('SIGKILL');
    await waitFor(async () => !(await alive(pids.sleep)) && !(await alive(pids.launcher)));
  });
});
