/**
 * Upload throughput: a file sent through the gateway (chunked WebSocket
 * upload, streamed by the gateway into S3 with lib-storage) against the same
 * file sent straight to the same S3 server with lib-storage and the gateway's
 * own settings. Both sides run alternately in one process run; the ratio of
 * their medians is the gateway's cost.
 *
 *   tsc -b bench && node bench/dist/upload-throughput.js [--mb 100] [--chunk-kb 1024] [--window-mb 8] [--runs 3]
 *
 * Needs RabbitMQ (AMQP_URL, default amqp://guest:guest@127.0.0.1:5672) and a
 * build (`tsc -b bench` builds the gateway and the test helpers it uses).
 * A benchmark, not a test: it prints figures and asserts no targets.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { MiB } from '@media-foundry/shared';
import { runMain } from './lib/cleanup.js';
import { ownOptions } from './lib/cli.js';
import { processCpu } from './lib/cpu.js';
import { loadTestHelpers } from './lib/helpers.js';
import { startS3rverProcess } from './lib/s3rver-process.js';
import { median } from './lib/stats.js';

/** The gateway's S3 driver settings (shared/src/node/storage/s3-storage.ts), used for the baseline too. */
const PART_SIZE = 8 * MiB;
const QUEUE_SIZE = 2;
/** Untimed run per side before the measured ones: process start-up, JIT and connection set-up out of the figures. */
const WARM_UP_BYTES = 16 * MiB;

interface BenchOptions {
  /** File size, bytes. */
  sizeBytes: number;
  chunkBytes: number;
  windowBytes: number;
  runs: number;
}

/** Command line first, then BENCH_* variables, then defaults. */
function parseOptions(argv: string[]): BenchOptions {
  const { number } = ownOptions(argv, ['mb', 'chunk-kb', 'window-mb', 'runs']);
  const options = {
    sizeBytes: Math.round(number('mb', 100) * MiB),
    chunkBytes: Math.round(number('chunk-kb', 1024) * 1024),
    windowBytes: Math.round(number('window-mb', 8) * MiB),
    runs: Math.round(number('runs', 3)),
  };
  if (options.chunkBytes > options.windowBytes) throw new Error('--chunk-kb must not exceed --window-mb');
  return options;
}

/** Random (incompressible) bytes into a file, written in pieces so no buffer holds the whole file. */
async function writeRandomFile(path: string, sizeBytes: number): Promise<void> {
  async function* pieces() {
    for (let left = sizeBytes; left > 0; left -= 8 * MiB) yield randomBytes(Math.min(8 * MiB, left));
  }
  await pipeline(Readable.from(pieces()), createWriteStream(path));
}

/** CPU seconds (user + system) another process has used so far; null without /proc. */
function processCpuSeconds(pid: number): Promise<number | null> {
  return processCpu(pid).then(
    (cpu) => cpu.own,
    () => null,
  );
}

/** CPU seconds this process has used so far. */
function ownCpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

/** The processes that can spend CPU on an upload. */
type Processes = { gateway: number; s3rver: number };
type CpuSeconds = { gateway: number | null; bench: number; s3rver: number | null };

interface RunResult {
  seconds: number;
  /** CPU seconds each process spent during the run (null: not measurable here). */
  cpu: CpuSeconds;
}

async function cpuNow(pids: Processes): Promise<CpuSeconds> {
  return { gateway: await processCpuSeconds(pids.gateway), bench: ownCpuSeconds(), s3rver: await processCpuSeconds(pids.s3rver) };
}

/** Times `run`, with the CPU the gateway, this process and s3rver spend meanwhile. */
async function measure(pids: Processes, run: () => Promise<void>): Promise<RunResult> {
  const before = await cpuNow(pids);
  const started = performance.now();
  await run();
  const seconds = (performance.now() - started) / 1000;
  const after = await cpuNow(pids);
  const delta = (a: number | null, b: number | null) => (a === null || b === null ? null : b - a);
  return {
    seconds,
    cpu: { gateway: delta(before.gateway, after.gateway), bench: after.bench - before.bench, s3rver: delta(before.s3rver, after.s3rver) },
  };
}

const mibPerSecond = (bytes: number, seconds: number) => bytes / MiB / seconds;
const fmtMiB = (bytes: number) => `${(bytes / MiB).toFixed(0)} MiB`;

runMain(async (cleanup) => {
  const options = parseOptions(process.argv.slice(2));
  const { s3: s3Helpers, stack: stackHelpers, ws } = await loadTestHelpers();
  const { TestClient, uploadInChunks } = ws;

  const dir = await mkdtemp(join(tmpdir(), 'mf-bench-'));
  cleanup.add('remove the temp file', () => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'input.bin');
  await writeRandomFile(file, options.sizeBytes);
  // the WebSocket client sends from memory; the direct upload streams the
  // file, which is in the page cache by now: neither side waits on the disk
  const bytes = await readFile(file);

  const s3rver = await startS3rverProcess();
  cleanup.add('stop s3rver', s3rver.stop);
  const { s3 } = s3rver;

  const stack = await stackHelpers.startStack({
    workers: 0,
    env: {
      ...s3.env,
      MAX_FILE_SIZE_MB: String(Math.max(500, Math.ceil(options.sizeBytes / MiB) + 1)),
      UPLOAD_WINDOW_BYTES: String(options.windowBytes),
      // the stack's default is debug; a benchmark measures the normal level
      LOG_LEVEL: 'info',
    },
  });
  cleanup.add('stop the gateway and delete its queues', () => stack.stop());

  const health = async () =>
    (await (await fetch(stack.healthUrl)).json()) as { memory: { rss_bytes: number; peak_rss_bytes: number | null } };
  const startupRss = (await health()).memory.rss_bytes;

  const client = new S3Client({
    region: 'us-east-1',
    endpoint: s3.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  // for checks and emptying the bucket between runs, outside the timed spans
  const bucket = s3Helpers.testS3Storage(s3);
  cleanup.add('close the S3 clients', async () => {
    client.destroy();
    bucket.client.destroy();
  });

  const pids: Processes = { gateway: stack.gateway.pid, s3rver: s3rver.pid };
  let jobs = 0;
  /** From start_job to `progress {stage:'queued'}`: the file is in storage and the job published. */
  const viaGateway = async (payload: Uint8Array): Promise<RunResult> => {
    const jobId = `bench-${++jobs}`;
    const ws = await TestClient.connect(stack.wsUrl);
    try {
      // the job's next message matching `pred`; an error for the job instead ends the run
      const awaitJobMessage = async (what: string, pred: (m: Record<string, unknown>) => boolean) => {
        const m = await ws.next((m) => m.job_id === jobId && (pred(m) || m.type === 'error'), 120_000);
        if (m.type === 'error') throw new Error(`gateway: ${String(m.code)} while waiting for ${what}: ${String(m.message)}`);
      };
      const result = await measure(pids, async () => {
        ws.send({
          type: 'start_job',
          job_id: jobId,
          operation: 'remove_audio',
          input: { source: 'upload', size_bytes: payload.length },
          options: {},
        });
        await awaitJobMessage('ack', (m) => m.type === 'ack');
        await uploadInChunks(ws, jobId, 'input.bin', payload, options.chunkBytes, options.windowBytes);
        await awaitJobMessage("progress {stage:'queued'}", (m) => m.type === 'progress' && m.stage === 'queued');
      });
      const stored = await bucket.list('jobs/');
      if (!stored.some((o) => o.size === payload.length))
        throw new Error(`gateway reported the upload staged, but no object of ${payload.length} bytes is in the bucket`);
      // no worker runs: withdraw the job (its staged input goes with it)
      ws.send({ type: 'cancel_job', job_id: jobId });
      await ws.next((m) => m.job_id === jobId && m.type === 'error', 30_000);
      await bucket.deletePrefix('');
      return result;
    } finally {
      await ws.close();
    }
  };
  /** lib-storage putting the file from this process, with the gateway's part size and concurrency. */
  const direct = async (path: string, sizeBytes: number): Promise<RunResult> => {
    const key = `direct/run-${++jobs}`;
    const result = await measure(pids, async () => {
      await new Upload({
        client,
        params: { Bucket: s3.bucket, Key: key, Body: createReadStream(path) },
        partSize: PART_SIZE,
        queueSize: QUEUE_SIZE,
        leavePartsOnError: false,
      }).done();
    });
    const head = await client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: key }));
    if (head.ContentLength !== sizeBytes) throw new Error(`direct upload stored ${head.ContentLength} bytes, not ${sizeBytes}`);
    await bucket.deletePrefix('');
    return result;
  };

  console.log(
    `upload throughput: ${fmtMiB(options.sizeBytes)} of random bytes, ${options.chunkBytes / 1024} KiB chunks, ` +
      `window ${fmtMiB(options.windowBytes)}, ${options.runs} runs per side, alternating`,
  );
  console.log(
    `node ${process.version}, ${availableParallelism()} cores; s3rver ${s3.endpoint} (own process); lib-storage partSize ${fmtMiB(PART_SIZE)}, queueSize ${QUEUE_SIZE}`,
  );
  const warmUp = Math.min(WARM_UP_BYTES, options.sizeBytes);
  // a file of its own: lib-storage sizes a file stream by the file on disk, not by a read range
  const warmUpFile = join(dir, 'warm-up.bin');
  await writeFile(warmUpFile, bytes.subarray(0, warmUp));
  await viaGateway(bytes.subarray(0, warmUp));
  await direct(warmUpFile, warmUp);
  console.log(`warm-up: ${fmtMiB(warmUp)} each side, not counted`);

  const cpuColumns = (cpu: { gateway: number | null; bench: number | null; s3rver: number | null }) =>
    cpu.gateway === null || cpu.bench === null || cpu.s3rver === null
      ? ''
      : `  CPU s: gateway ${cpu.gateway.toFixed(2)}, bench ${cpu.bench.toFixed(2)}, s3rver ${cpu.s3rver.toFixed(2)}`;
  const results = { gateway: [] as RunResult[], direct: [] as RunResult[] };
  for (let run = 1; run <= options.runs; run++) {
    for (const side of ['gateway', 'direct'] as const) {
      const r = side === 'gateway' ? await viaGateway(bytes) : await direct(file, options.sizeBytes);
      results[side].push(r);
      const rate = mibPerSecond(options.sizeBytes, r.seconds).toFixed(1).padStart(6);
      console.log(`run ${run}  ${side.padEnd(7)}  ${rate} MiB/s  ${r.seconds.toFixed(2)} s${cpuColumns(r.cpu)}`);
    }
  }
  const medianRate = (side: 'gateway' | 'direct') => median(results[side].map((r) => mibPerSecond(options.sizeBytes, r.seconds)));
  const medianOf = (values: (number | null)[]) => (values.includes(null) ? null : median(values as number[]));
  for (const side of ['gateway', 'direct'] as const) {
    const runs = results[side];
    const cpu = {
      gateway: medianOf(runs.map((r) => r.cpu.gateway)),
      bench: medianOf(runs.map((r) => r.cpu.bench)),
      s3rver: medianOf(runs.map((r) => r.cpu.s3rver)),
    };
    const seconds = median(runs.map((r) => r.seconds));
    console.log(`median   ${side.padEnd(7)}  ${medianRate(side).toFixed(1).padStart(6)} MiB/s  ${seconds.toFixed(2)} s${cpuColumns(cpu)}`);
  }
  console.log(`ratio gateway/direct = ${(medianRate('gateway') / medianRate('direct')).toFixed(2)}`);
  const { memory } = await health();
  const peak = memory.peak_rss_bytes === null ? 'unknown (no /proc)' : fmtMiB(memory.peak_rss_bytes);
  console.log(`gateway RSS: ${fmtMiB(startupRss)} after start-up, peak ${peak}`);
});
