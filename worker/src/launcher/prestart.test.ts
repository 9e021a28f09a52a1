/**
 * Pre-started processes (FFMPEG_PRESTART) with real processes and the built
 * wait-for-argv.so: a run is handed to a process started before it, which
 * gets exactly the run's arguments and behaves as one started for it (output,
 * exit code, timeout, cancel); a program that does not wait is started cold
 * from then on; one killed while it waits, or left by a dead launcher, does not
 * linger. `sh` stands in for ffmpeg where a test needs a process to say who it
 * is; the last test runs the real ffmpeg both ways and compares the pictures.
 */
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { createLogger, waitFor } from '@media-foundry/shared/node';
import { useTempDir } from '@media-foundry/test-support';
import { Launcher } from './launcher.js';
import { builtLibrary, encodeArgv, WAIT_MARK } from './prestart.js';
import type { RunRequest } from './process-runner.js';

const quiet = createLogger('worker', 'silent');
const library = builtLibrary();

function request(file: string, lateArgs: string[], timeoutMs = 30_000): RunRequest {
  return {
    file,
    args: [],
    lateArgs,
    env: { PATH: process.env.PATH },
    timeoutMs,
    killGraceMs: 300,
    output: { mode: 'stream', stderrTailChars: 200 },
  };
}

/** The pid of the next process the launcher has ready for a run. */
function nextPrestarted(launcher: Launcher): Promise<number> {
  return new Promise((resolve) => (launcher.onPrestarted = resolve));
}

/** A process's command line, arguments split. */
async function commandLine(pid: number): Promise<string[]> {
  return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').slice(0, -1);
}

async function alive(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
  return stat !== null && stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
}

async function output(launcher: Launcher, req: RunRequest): Promise<{ stdout: string; exitCode: number | null }> {
  let stdout = '';
  const result = await launcher.run(req, (chunk) => (stdout += chunk));
  return { stdout, exitCode: result.exitCode };
}

describe('encodeArgv', () => {
  it('writes a big-endian length, then each argument ended by a NUL', () => {
    expect(encodeArgv(['-i', '', 'é'])).toEqual(Buffer.from([0, 0, 0, 7, 0x2d, 0x69, 0, 0, 0xc3, 0xa9, 0]));
    expect(encodeArgv([])).toEqual(Buffer.from([0, 0, 0, 0]));
  });
});

describe('pre-started processes', () => {
  // built by `npm run build` (worker/native/build.sh) wherever a C compiler is; CI has one
  if (!library) throw new Error('worker/dist/native/wait-for-argv.so is not built: run npm run build with a C compiler');
  let launcher: Launcher;
  beforeEach(async () => {
    launcher = new Launcher(quiet, undefined, library);
    await launcher.start();
  });
  afterEach(() => launcher.close());

  it('hands the next run to a process started with the last one, with exactly its arguments', async () => {
    const script = 'printf "%s|" "$$" "$0" "$@"';
    const starts: boolean[] = [];
    launcher.onStarted = (prestarted) => starts.push(prestarted);
    let prestarted = nextPrestarted(launcher);
    const first = await output(launcher, request('sh', ['-c', script, 'zero', 'a b', '', 'é']));
    expect(first.exitCode).toBe(0);
    const ready = await prestarted;
    expect(await commandLine(ready)).toEqual(['sh', WAIT_MARK]);
    prestarted = nextPrestarted(launcher);
    const second = await output(launcher, request('sh', ['-c', script, 'zero', 'a b', '', 'é']));
    const [pid, ...rest] = second.stdout.split('|');
    expect(Number(pid)).toBe(ready);
    expect(rest).toEqual(['zero', 'a b', '', 'é', '']);
    // a cold start prints the same (but its own pid)
    expect(first.stdout.split('|').slice(1)).toEqual(rest);
    // and the one after it is loaded again
    expect(await prestarted).not.toBe(ready);
    // what the worker counts (mf_worker_ffmpeg_starts_total)
    expect(starts).toEqual([false, true]);
  });

  it('gives the pre-started process stdin from /dev/null and none of the library in its environment', async () => {
    const script = 'readlink /proc/$$/fd/0; echo "preload=${LD_PRELOAD:-none}"';
    const prestarted = nextPrestarted(launcher);
    await output(launcher, request('sh', ['-c', script]));
    await prestarted;
    const { stdout } = await output(launcher, request('sh', ['-c', script]));
    expect(stdout).toBe('/dev/null\npreload=none\n');
  });

  it('reports the exit code, and stops a pre-started run at its timeout and on a cancel', async () => {
    let prestarted = nextPrestarted(launcher);
    await output(launcher, request('sh', ['-c', 'exit 0']));
    await prestarted;
    prestarted = nextPrestarted(launcher);
    expect((await output(launcher, request('sh', ['-c', 'exit 7']))).exitCode).toBe(7);

    await prestarted;
    prestarted = nextPrestarted(launcher);
    const timedOut = await launcher.run(request('sh', ['-c', 'exec sleep 30'], 300), () => {});
    expect(timedOut).toMatchObject({ timedOut: true, isCanceled: false, exitCode: null, signal: 'SIGTERM' });

    await prestarted;
    const controller = new AbortController();
    const trapped = launcher.run(
      request('sh', ['-c', 'trap "" TERM; echo go; while :; do sleep 0.1; done']),
      () => controller.abort(),
      controller.signal,
    );
    // SIGTERM ignored: SIGKILL after the grace
    expect(await trapped).toMatchObject({ isCanceled: true, timedOut: false, signal: 'SIGKILL' });
  });

  it('reports a cancel as a cancel though the timeout falls in its kill grace', async () => {
    const prestarted = nextPrestarted(launcher);
    await output(launcher, request('sh', ['-c', 'true']));
    await prestarted;
    const controller = new AbortController();
    const trapped = { ...request('sh', ['-c', 'trap "" TERM; echo go; while :; do sleep 0.1; done'], 600), killGraceMs: 1500 };
    const result = await launcher.run(trapped, () => controller.abort(), controller.signal);
    expect(result).toMatchObject({ isCanceled: true, timedOut: false, signal: 'SIGKILL' });
  });

  describe('a process that loads slowly', () => {
    const dir = useTempDir('prestart-slow-');

    /** `sh`, behind a script whose pre-started processes after the first take 30 s to load. */
    async function slowAfterFirst(): Promise<string> {
      const script = join(dir(), 'slow-sh');
      const count = join(dir(), 'count');
      await writeFile(
        script,
        [
          '#!/bin/sh',
          `if [ "$1" = "${WAIT_MARK}" ]; then`,
          `  n=$(cat ${count} 2>/dev/null || echo 0); n=$((n + 1)); echo $n > ${count}`,
          '  if [ $n -ge 2 ]; then sleep 30; fi',
          'fi',
          'exec sh "$@"',
          '',
        ].join('\n'),
      );
      await chmod(script, 0o755);
      return script;
    }

    it('is not waited for past a moment: the run starts its own; one cancelled meanwhile starts nothing', async () => {
      const slow = await slowAfterFirst();
      const prestarted = nextPrestarted(launcher);
      await output(launcher, request(slow, ['-c', 'true']));
      // the first loads at once (the command has been ready: later runs may wait for one loading)
      const first = await prestarted;
      // this run takes it, and the next one (30 s to load) starts
      expect(await output(launcher, request(slow, ['-c', 'echo $$']))).toEqual({ stdout: `${first}\n`, exitCode: 0 });
      // the next run does not wait 30 s for it (the test would time out): it starts its own
      expect(await output(launcher, request(slow, ['-c', 'echo cold']))).toEqual({ stdout: 'cold\n', exitCode: 0 });

      const marker = join(dir(), 'ran');
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 300);
      const cancelled = await launcher.run(request(slow, ['-c', `touch ${marker}`]), () => {}, controller.signal);
      expect(cancelled).toMatchObject({ isCanceled: true, timedOut: false, exitCode: null });
      await new Promise((resolve) => setTimeout(resolve, 1500));
      await expect(readFile(marker)).rejects.toMatchObject({ code: 'ENOENT' });
    }, 20_000);
  });

  it('starts a command cold from then on when its processes do not wait, and says why', async () => {
    const warnings: string[] = [];
    const log = { ...quiet, warn: (_: unknown, message: string) => warnings.push(message) } as unknown as typeof quiet;
    const broken = new Launcher(log, undefined, '/nonexistent/wait-for-argv.so');
    await broken.start();
    try {
      for (let i = 0; i < 4; i++) {
        const { stdout, exitCode } = await output(broken, request('sh', ['-c', 'echo cold']));
        expect([stdout, exitCode]).toEqual(['cold\n', 0]);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      await waitFor(() => warnings.length > 0, 10_000, 'the warning');
      expect(warnings).toEqual(['ffmpeg could not be pre-started (FFMPEG_PRESTART): it is started when a job needs it']);
    } finally {
      await broken.close();
    }
  });

  it('runs cold when the waiting process was killed, and loads another', async () => {
    let prestarted = nextPrestarted(launcher);
    await output(launcher, request('sh', ['-c', 'true']));
    const killed = await prestarted;
    process.kill(killed, 'SIGKILL');
    await waitFor(async () => !(await alive(killed)), 10_000, 'the kill');
    prestarted = nextPrestarted(launcher);
    expect(await output(launcher, request('sh', ['-c', 'echo fine']))).toEqual({ stdout: 'fine\n', exitCode: 0 });
    expect(await prestarted).not.toBe(killed);
  });

  it('leaves no waiting process behind a launcher that is closed, or that dies', async () => {
    let prestarted = nextPrestarted(launcher);
    await output(launcher, request('sh', ['-c', 'true']));
    const first = await prestarted;
    await launcher.close();
    await waitFor(async () => !(await alive(first)), 10_000, 'the closed launcher’s process to end');

    launcher = new Launcher(quiet, undefined, library);
    await launcher.start();
    prestarted = nextPrestarted(launcher);
    await output(launcher, request('sh', ['-c', 'true']));
    const second = await prestarted;
    process.kill(launcher.pid!, 'SIGKILL');
    // its stdin closes with the launcher: it reads end-of-file and exits
    await waitFor(async () => !(await alive(second)), 10_000, 'the dead launcher’s process to end');
  });

  describe('the real ffmpeg', () => {
    const dir = useTempDir('prestart-');

    it('makes the same thumbnail pre-started as started cold, under prlimit', async () => {
      const input = join(dir(), 'in.mp4');
      await execa('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=10:duration=2', '-pix_fmt', 'yuv420p', input]);
      const thumbnail = (out: string) => ['-nostdin', '-v', 'error', '-ss', '1', '-i', input, '-frames:v', '1', '-c:v', 'png', '-y', out];
      const run = (out: string) =>
        launcher.run({ ...request('prlimit', thumbnail(out)), args: ['--as=4294967296', '--core=0', '--', 'ffmpeg'] }, () => {});
      const prestarted = nextPrestarted(launcher);
      expect(await run(join(dir(), 'cold.png'))).toMatchObject({ exitCode: 0 });
      const ready = await prestarted;
      expect(await commandLine(ready)).toEqual(['ffmpeg', WAIT_MARK]);
      // the address-space ceiling is on the waiting process already
      expect(await readFile(`/proc/${ready}/limits`, 'utf8')).toMatch(/Max address space\s+4294967296/);
      expect(await run(join(dir(), 'warm.png'))).toMatchObject({ exitCode: 0 });
      expect(await alive(ready)).toBe(false);
      expect(await readFile(join(dir(), 'warm.png'))).toEqual(await readFile(join(dir(), 'cold.png')));
    });
  });
});
