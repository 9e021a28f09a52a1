/**
 * What every measure against the service starts with: its options and runs
 * per side, its input served by URL, a directory for its files, and the
 * service with its clients connected; and the two sides of a one-job
 * comparison. Everything started here is stopped by the measure's cleanup.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { Cleanup } from './cleanup.js';
import { type CommonOptions, parseOptions, runsFor } from './cli.js';
import { warmPageCache } from './fixtures.js';
import type { TestClient } from './helpers.js';
import { type MediaServer, type OriginPace, startMediaServer } from './media-server.js';
import { outputOf, runPlan } from './reference.js';
import { type JobRequest, runJob, type Service, startService } from './service.js';
import { timed } from './stats.js';

/** The command line's options, and the timed runs per side: `--runs`, else `full`, or `quick` with --quick. */
export function measureOptions(full: number, quick: number): { common: CommonOptions; runs: number } {
  const { common } = parseOptions(process.argv.slice(2));
  return { common, runs: runsFor(common, full, quick) };
}

export interface MeasureSetup {
  /** The origin serving the input under its file name (`origin.add` serves more). */
  origin: MediaServer;
  /** The input's name on the origin… */
  inputName: string;
  /** …and its URL. */
  url: string;
  /** A directory for the measure's files (reference outputs, intermediates). */
  dir: string;
  service: Service;
  /** The first of `clients`. */
  client: TestClient;
  clients: TestClient[];
}

export interface SetupOptions {
  /** The measure's name, in its directory's. */
  name: string;
  /** The input file, served by URL (read once first, so that neither side pays for reading it from disk). */
  input: string;
  /** WebSocket clients to connect (default 1). */
  clients?: number;
  /** Extra environment for the worker (e.g. MAX_CONCURRENT_JOBS). */
  workerEnv?: Record<string, string>;
  /** The origin as across a network (default: local, as fast as it can). */
  originPace?: OriginPace;
}

/** Serves the input, makes the measure's directory and starts the service as `common` says. */
export async function setUpMeasure(cleanup: Cleanup, common: CommonOptions, options: SetupOptions): Promise<MeasureSetup> {
  await warmPageCache(options.input);
  const inputName = basename(options.input);
  const origin = await startMediaServer({ [inputName]: options.input }, options.originPace);
  cleanup.add('stop the media server', () => origin.close());
  const dir = await mkdtemp(join(tmpdir(), `mf-bench-${options.name}-`));
  cleanup.add("remove the measure's files", () => rm(dir, { recursive: true, force: true }));
  const service = await startService(cleanup, {
    storage: common.storage,
    inputProbe: common.inputProbe,
    ffmpegPrestart: common.ffmpegPrestart,
    workerEnv: options.workerEnv,
  });
  const clients = await Promise.all(Array.from({ length: options.clients ?? 1 }, () => service.connect()));
  return { origin, inputName, url: origin.url(inputName), dir, service, client: clients[0]!, clients };
}

/**
 * The two sides of a one-job comparison: `request` on `url` through the
 * service, and the reference plan; `outputs()` then sets the file named
 * `output` the service delivered last beside the one the reference wrote.
 */
export function jobAgainstPlan(client: TestClient, request: JobRequest, url: string, plan: string[][], output: string) {
  let delivered: Buffer | undefined;
  return {
    viaService: async (): Promise<number> => {
      const run = await runJob(client, request, url);
      delivered = run.files.get(output);
      return run.seconds;
    },
    reference: (): Promise<number> => timed(() => runPlan(plan)),
    outputs: async (): Promise<{ service: Buffer | undefined; reference: Buffer; same: boolean }> => {
      const reference = await readFile(outputOf(plan));
      return { service: delivered, reference, same: delivered !== undefined && delivered.equals(reference) };
    },
  };
}
