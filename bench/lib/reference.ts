/**
 * The reference side: the ffmpeg command the worker would run for the same
 * request, built by the worker's own pure builder (`buildPlan`) from the
 * worker's own probe of the same file, with the input given as the URL
 * (what someone running ffmpeg by hand on that URL types), run as a plain
 * `ffmpeg` with only the flags a person adds (no banner, no prompts, errors
 * only, overwrite). Not added: the worker's `-progress pipe:1`, its input
 * whitelists and `-max_pixels`, and its prlimit wrapper — those are the
 * service's cost.
 */
import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { operationOptions } from '@media-foundry/shared';
import { loadWorkerBuilders } from './helpers.js';
import type { JobRequest } from './service.js';

/** What a person running ffmpeg by hand adds to the operation's arguments. */
export const BY_HAND_FLAGS = ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y'];

type MediaInfo = Awaited<ReturnType<Awaited<ReturnType<typeof loadWorkerBuilders>>['probe']['probe']>>;

/** The worker's probe of a local copy of the input (the same bytes the URL serves); done once per file, untimed. */
export async function probeLike(path: string): Promise<MediaInfo> {
  const { probe } = await loadWorkerBuilders();
  return probe.probe('ffprobe', path, {});
}

/**
 * The ffmpeg runs (argument lists, without the binary) the worker's builder
 * makes for `request` on `info`, reading `inputUrl` and writing into `outputDir`.
 */
export async function referenceRuns(request: JobRequest, info: MediaInfo, inputUrl: string, outputDir: string): Promise<string[][]> {
  const { operations } = await loadWorkerBuilders();
  // the options as the gateway parses them: defaults filled in
  const schema = operationOptions[request.operation as keyof typeof operationOptions];
  if (!schema) throw new Error(`unknown operation ${request.operation}`);
  const parsed = { operation: request.operation, options: schema.parse(request.options) } as Parameters<typeof operations.buildPlan>[0];
  await mkdir(outputDir, { recursive: true });
  const plan = operations.buildPlan(parsed, [info], {
    inputPath: inputUrl,
    inputPaths: [inputUrl],
    workDir: outputDir,
    outputDir,
    // FFMPEG_THREADS' default (0): no -threads flag, as the worker runs it
    threads: 0,
  });
  if (plan.files?.length) throw new Error(`${request.operation} needs generated files; the reference does not write them`);
  return plan.runs;
}

/** Runs `ffmpeg` with BY_HAND_FLAGS and `args`; rejects with its stderr on failure. */
export function runFfmpeg(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('ffmpeg', [...BY_HAND_FLAGS, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4000)));
    child.once('error', reject);
    child.once('exit', (code, signal) =>
      code === 0 ? resolve() : reject(new Error(`ffmpeg exited with ${code ?? signal}: ${stderr.trim()}\nargs: ${args.join(' ')}`)),
    );
  });
}

/** Runs a plan's ffmpeg runs one after another. */
export async function runPlan(runs: string[][]): Promise<void> {
  for (const args of runs) await runFfmpeg(args);
}

/** A plan as one line of shell, for the output: `ffmpeg <run 1> && <run 2> …`. */
export function planCommand(runs: string[][]): string {
  return `ffmpeg ${runs.map((r) => r.join(' ')).join(' && ')}`;
}

/** The file a single-output plan writes (its last argument). */
export function outputOf(runs: string[][]): string {
  const last = runs.at(-1)?.at(-1);
  if (last === undefined) throw new Error('empty plan');
  return last;
}

/** A fresh output directory per reference job, under `dir`. */
export const outputDirFor = (dir: string, name: string) => join(dir, name);
