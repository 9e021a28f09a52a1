/**
 * runFfmpeg against a stand-in ffmpeg (a shell script) that reports progress
 * for a moment and then hangs, as a decoder stuck on bad input does: the
 * stall watchdog must stop it and say so, long before FFMPEG_TIMEOUT_SECONDS.
 * Then the real ffmpeg under its ceilings: prlimit and `-max_pixels`. Each
 * case runs with ffmpeg spawned here and through the worker's launcher process.
 */
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { MiB } from '@media-foundry/shared';
import { createLogger } from '@media-foundry/shared/node';
import { useTempDir } from '@media-foundry/test-support';
import { Launcher } from '../launcher/launcher.js';
import { builtLibrary } from '../launcher/prestart.js';
import type { ProcessRunner } from '../launcher/process-runner.js';
import { runFfmpeg, type RunOptions } from './run.js';

const quiet = createLogger('worker', 'silent');

/** Each case runs twice: ffmpeg spawned by this process, and by a launcher process as the worker spawns it. */
type Runner = { runner: ProcessRunner | undefined; prestart: boolean; close: () => Promise<void> };
const runners: [string, () => Promise<Runner>][] = [
  ['in this process', () => Promise.resolve({ runner: undefined, prestart: false, close: () => Promise.resolve() })],
  [
    'through the launcher',
    async () => {
      const launcher = new Launcher(quiet);
      await launcher.start();
      return { runner: launcher, prestart: false, close: () => launcher.close() };
    },
  ],
  [
    // each case runs twice, so its second run finds the process its first one left loaded
    'through the launcher, pre-started (FFMPEG_PRESTART)',
    async () => {
      const library = builtLibrary();
      if (!library) throw new Error('worker/dist/native/wait-for-argv.so is not built: run npm run build with a C compiler');
      const launcher = new Launcher(quiet, undefined, library);
      await launcher.start();
      return { runner: launcher, prestart: true, close: () => launcher.close() };
    },
  ],
];

describe.each(runners)('runFfmpeg, %s', (_name, makeRunner) => {
  let runner: ProcessRunner | undefined;
  let prestart: boolean;
  let close: () => Promise<void>;
  beforeAll(async () => ({ runner, prestart, close } = await makeRunner()));
  afterAll(() => close());
  const run = async (args: string[], options: RunOptions) => {
    const once = () => runFfmpeg(args, { ...options, runner, prestart });
    if (!prestart) return once();
    // the first run leaves a process loaded for the command; the second takes it (or is started cold
    // when the program is a stand-in that does not wait): both must end alike
    const first = await once().then(
      () => null,
      (err: unknown) => err,
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    const second = await once().then(
      () => null,
      (err: unknown) => err,
    );
    expect(second).toEqual(first);
    if (second) throw second;
  };

  describe('stall detection', () => {
    const dir = useTempDir('stall-');

    async function fakeFfmpeg(name: string, script: string): Promise<string> {
      const path = join(dir(), name);
      await writeFile(path, `#!/bin/sh\n${script}\n`);
      await chmod(path, 0o755);
      return path;
    }

    it('stops an ffmpeg whose progress stops moving, and says it stalled', async () => {
      // two blocks that advance, then the same block again and again, then nothing
      const ffmpeg = await fakeFfmpeg(
        'stuck',
        [
          'printf "out_time_us=500000\\nframe=12\\ntotal_size=1000\\nprogress=continue\\n"',
          'printf "out_time_us=1000000\\nframe=25\\ntotal_size=2000\\nprogress=continue\\n"',
          'i=0; while [ $i -lt 3 ]; do printf "out_time_us=1000000\\nframe=25\\ntotal_size=2000\\nprogress=continue\\n"; sleep 0.3; i=$((i+1)); done',
          'exec sleep 60',
        ].join('\n'),
      );
      const started = Date.now();
      await expect(run(['-i', 'x', 'y'], { ffmpegPath: ffmpeg, timeoutMs: 60_000, stallMs: 1000, killGraceMs: 200 })).rejects.toMatchObject(
        {
          code: 'JOB_FAILED',
          message: 'Job stalled',
          details: expect.stringContaining('no progress for 1s'),
        },
      );
      expect(Date.now() - started).toBeLessThan(10_000);
    });

    it('stops a run whose job is out of time (its deadline) and says it timed out, though it stalled while it was killed', async () => {
      // deaf to SIGTERM: its kill takes the grace, during which it also passes the stall limit
      const ffmpeg = await fakeFfmpeg(
        'waits',
        'trap "" TERM; printf "out_time_us=500000\\nframe=12\\nprogress=continue\\n"; exec sleep 60',
      );
      const started = Date.now();
      await expect(
        run(['-i', 'x', 'y'], {
          ffmpegPath: ffmpeg,
          timeoutMs: 60_000,
          jobTimeoutMs: 2000,
          deadline: AbortSignal.timeout(300),
          stallMs: 600,
          killGraceMs: 1000,
        }),
      ).rejects.toMatchObject({
        code: 'JOB_FAILED',
        message: 'FFmpeg timed out',
        details: expect.stringContaining('FFMPEG_TIMEOUT_SECONDS (2s)'),
      });
      expect(Date.now() - started).toBeLessThan(10_000);
    });

    it('says cancelled when the job was cancelled, even with its time up too', async () => {
      const ffmpeg = await fakeFfmpeg('waits-too', 'exec sleep 60');
      await expect(
        run(['-i', 'x', 'y'], {
          ffmpegPath: ffmpeg,
          timeoutMs: 60_000,
          signal: AbortSignal.abort(),
          deadline: AbortSignal.abort(),
          killGraceMs: 200,
        }),
      ).rejects.toMatchObject({ code: 'JOB_CANCELLED' });
    });

    it('lets a run that keeps moving finish, however long each block takes to come', async () => {
      const ffmpeg = await fakeFfmpeg(
        'slow',
        'i=1; while [ $i -le 6 ]; do printf "out_time_us=${i}000000\\nframe=$i\\nprogress=continue\\n"; sleep 0.3; i=$((i+1)); done; printf "progress=end\\n"',
      );
      await expect(run(['-i', 'x', 'y'], { ffmpegPath: ffmpeg, timeoutMs: 60_000, stallMs: 1000 })).resolves.toBeUndefined();
    });

    it("gives ffmpeg none of the worker's credentials or proxy variables", async () => {
      const seen = join(dir(), 'env.txt');
      const ffmpeg = await fakeFfmpeg('env', `env > ${seen}\nprintf "progress=end\\n"`);
      process.env.S3_SECRET_ACCESS_KEY = 'not-for-ffmpeg';
      process.env.http_proxy = 'http://proxy.invalid:3128';
      try {
        await run(['-i', 'x', 'y'], { ffmpegPath: ffmpeg, timeoutMs: 60_000 });
      } finally {
        delete process.env.S3_SECRET_ACCESS_KEY;
        delete process.env.http_proxy;
      }
      const env = await readFile(seen, 'utf8');
      expect(env).toMatch(/^PATH=/m);
      expect(env).not.toContain('not-for-ffmpeg');
      expect(env).not.toContain('proxy.invalid');
    });
  });

  describe('ceilings (the real ffmpeg)', () => {
    const dir = useTempDir('ceilings-');
    let frame: string;
    beforeAll(async () => {
      frame = join(dir(), 'frame.png');
      await execa('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x240', '-frames:v', '1', frame]);
    });

    it('runs ffmpeg under prlimit: too little address space fails the run', async () => {
      const args = ['-i', frame, '-f', 'null', '-'];
      await expect(run(args, { ffmpegPath: 'ffmpeg', timeoutMs: 30_000, maxMemoryBytes: 16 * MiB })).rejects.toMatchObject({
        code: 'JOB_FAILED',
        message: 'FFmpeg process failed',
      });
      await expect(run(args, { ffmpegPath: 'ffmpeg', timeoutMs: 30_000, maxMemoryBytes: 4096 * MiB })).resolves.toBeUndefined();
    });

    it('stops an ffmpeg that writes a file past maxOutputBytes (prlimit --fsize), naming MAX_OUTPUT_MB', async () => {
      // a second of raw frames: about 5.8 MB
      const args = ['-loop', '1', '-i', frame, '-t', '1', '-c:v', 'rawvideo', '-f', 'nut', join(dir(), 'big.nut')];
      await expect(run(args, { ffmpegPath: 'ffmpeg', timeoutMs: 30_000, maxOutputBytes: MiB })).rejects.toMatchObject({
        code: 'JOB_FAILED',
        message: 'Output is too large',
        details: 'ffmpeg wrote a file past MAX_OUTPUT_MB (1 MiB)',
      });
      await expect(run(args, { ffmpegPath: 'ffmpeg', timeoutMs: 30_000, maxOutputBytes: 20 * MiB })).resolves.toBeUndefined();
    });

    it('refuses an input over maxPixels, naming MAX_INPUT_PIXELS', async () => {
      await expect(
        run(['-i', frame, '-f', 'null', '-'], { ffmpegPath: 'ffmpeg', timeoutMs: 30_000, maxPixels: 320 * 239 }),
      ).rejects.toMatchObject({
        code: 'JOB_FAILED',
        message: 'Input resolution is too large',
        details: `an input is 320x240; MAX_INPUT_PIXELS allows ${320 * 239} pixels`,
      });
    });
  });
});
