/**
 * The service as the integration tests start it (test/helpers/stack.ts):
 * a real gateway and worker process on the local RabbitMQ, with a private
 * queue prefix, storage on s3rver in its own process (or a directory), and
 * the production log level.
 */
import { randomBytes } from 'node:crypto';
import type { Cleanup } from './cleanup.js';
import { cpuMeter } from './cpu.js';
import { loadTestHelpers, type Stack, type TestClient } from './helpers.js';
import { startS3rverProcess } from './s3rver-process.js';

export interface ServiceOptions {
  storage: 's3' | 'fs';
  /** The worker's INPUT_PROBE (default: the worker's own, `auto`). */
  inputProbe?: 'auto' | 'ffprobe';
  /** The worker's FFMPEG_PRESTART (default: the worker's own, `true`). */
  ffmpegPrestart?: boolean;
  /** Extra environment for the worker (e.g. MAX_CONCURRENT_JOBS). */
  workerEnv?: Record<string, string>;
}

export interface Service {
  stack: Stack;
  /** The worker's /metrics (on its HEALTH_PORT). */
  workerMetricsUrl: string;
  /** A WebSocket client connected to the gateway, closed at cleanup. */
  connect(): Promise<TestClient>;
  /** CPU seconds used so far by this process, the gateway, the worker (with its ended ffmpeg/ffprobe) and s3rver. */
  cpu: () => Promise<number>;
  /** The service's processes, by role, for a CPU breakdown. */
  processes: { gateway: number; worker: number; s3rver: number | null };
  /** One line on how the service runs, for the output. */
  description: string;
}

/** Starts the service; everything it started is stopped by `cleanup`. */
export async function startService(cleanup: Cleanup, options: ServiceOptions): Promise<Service> {
  const { stack: stackHelpers, ws } = await loadTestHelpers();
  let storageEnv: Record<string, string> = {};
  const pids: number[] = [];
  let s3rverPid: number | null = null;
  if (options.storage === 's3') {
    const s3rver = await startS3rverProcess();
    cleanup.add('stop s3rver', s3rver.stop);
    storageEnv = s3rver.s3.env;
    pids.push(s3rver.pid);
    s3rverPid = s3rver.pid;
  }
  const stack = await stackHelpers.startStack({
    env: {
      ...storageEnv,
      // the stack's default is debug; a benchmark measures the production level
      LOG_LEVEL: 'info',
      // one release throughout, as in a fresh install, which may start with it on (docs/DEPLOYMENT.md)
      SMALL_OUTPUTS_IN_RESULT: 'true',
    },
    workerEnv: {
      ...(options.inputProbe ? { INPUT_PROBE: options.inputProbe } : {}),
      ...(options.ffmpegPrestart === undefined ? {} : { FFMPEG_PRESTART: String(options.ffmpegPrestart) }),
      ...options.workerEnv,
    },
  });
  cleanup.add('stop the gateway and worker and delete their queues', () => stack.stop());
  const ready = await stack.workers[0]!.waitForLog((l) => l.msg === 'worker ready');
  pids.push(stack.gateway.pid, stack.workers[0]!.pid);
  const clients: TestClient[] = [];
  cleanup.add('close the WebSocket clients', () => Promise.all(clients.map((c) => c.close())));
  const concurrency = options.workerEnv?.MAX_CONCURRENT_JOBS ?? 'default';
  return {
    stack,
    workerMetricsUrl: `http://127.0.0.1:${String(ready.health_port)}/metrics`,
    connect: async () => {
      const client = await ws.TestClient.connect(stack.wsUrl);
      clients.push(client);
      return client;
    },
    cpu: cpuMeter(() => pids),
    processes: { gateway: stack.gateway.pid, worker: stack.workers[0]!.pid, s3rver: s3rverPid },
    description:
      `gateway + 1 worker (MAX_CONCURRENT_JOBS ${concurrency}), LOG_LEVEL info, storage ` +
      (options.storage === 's3' ? 's3 (s3rver, own process)' : 'fs') +
      `, INPUT_PROBE ${options.inputProbe ?? 'auto'}, FFMPEG_PRESTART ${String(options.ffmpegPrestart ?? true)}, SMALL_OUTPUTS_IN_RESULT true`,
  };
}

/** An operation and its options, as a client sends them. */
export interface JobRequest {
  operation: string;
  options: Record<string, unknown>;
}

export interface JobRun {
  seconds: number;
  /** Output files delivered on the socket, by name. */
  files: Map<string, Buffer>;
  final: Record<string, unknown>;
}

/** A fresh job id (the protocol's alphabet). */
export function newJobId(): string {
  return `bench-${randomBytes(6).toString('hex')}`;
}

/** Sends `start_job` for a URL input and waits for the job's end (`completed` plus its files, binary delivery). */
export function submit(client: TestClient, request: JobRequest, url: string, jobId = newJobId()): string {
  client.send({ type: 'start_job', job_id: jobId, operation: request.operation, input: { source: 'url', url }, options: request.options });
  return jobId;
}

/** Waits for a submitted job's result; throws on an error reply. */
export async function awaitResult(client: TestClient, jobId: string, timeoutMs = 600_000): Promise<Omit<JobRun, 'seconds'>> {
  const { files, final } = await client.result(jobId, timeoutMs);
  if (final.type !== 'completed')
    throw new Error(`job ${jobId} failed: ${String(final.code)} ${String(final.message)} ${String(final.details ?? '')}`);
  return { files, final };
}

/** One job end to end as the client sees it: from sending `start_job` to having its output file. */
export async function runJob(client: TestClient, request: JobRequest, url: string, timeoutMs?: number): Promise<JobRun> {
  const started = performance.now();
  const jobId = submit(client, request, url);
  const result = await awaitResult(client, jobId, timeoutMs);
  const seconds = (performance.now() - started) / 1000;
  forget(client);
  return { seconds, ...result };
}

/** Drops what a client received so far (outputs included), so long runs do not pile them up. */
export function forget(client: TestClient): void {
  client.received.length = 0;
}
