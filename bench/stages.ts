/**
 * Measure 6, where a tiny job's time goes: the worker's
 * `mf_worker_stage_seconds{operation,stage}` histogram (on its /metrics,
 * HEALTH_PORT) scraped before and after N tiny jobs (measure 1's), each
 * stage's mean = Δsum ÷ Δcount; next to the end-to-end time the client saw,
 * and the remainder (gateway, RabbitMQ and WebSocket transport, and worker
 * time outside the stages). A stage the worker does not report is "n/a".
 * Then CPU per job and process, and what each process spends idle.
 *
 *   tsc -b bench && node bench/dist/stages.js [--runs N] [--quick] [--storage s3|fs] [--json]
 */
import { sleep } from '@media-foundry/shared';
import { runMain } from './lib/cleanup.js';
import { liveChildren, localBrokerPid, processCpu, processTreeCpu } from './lib/cpu.js';
import { clip } from './lib/fixtures.js';
import { measureOptions, setUpMeasure } from './lib/measure.js';
import { formatValue, ratioOf, reportResult } from './lib/result.js';
import { runJob, type JobRequest } from './lib/service.js';
import { histogramTotals, means, STAGE_METRIC, STAGES } from './lib/stage-metrics.js';
import { runFfmpeg } from './lib/reference.js';
import { mean, median, timed } from './lib/stats.js';

/** Runs of `ffmpeg -version` whose median is ffmpeg's own start-up. */
const STARTUP_RUNS = 9;
/** Seconds the service is left idle after the jobs, to read what its processes spend doing nothing. */
const IDLE_SECONDS = 10;
/**
 * Seconds waited before that: V8 goes on collecting for several seconds after work stops (measured from 5 s
 * after the jobs, the gateway read 24 ms a second, from 20 s after 3).
 */
const IDLE_SETTLE_SECONDS = 20;

runMain(async (cleanup) => {
  const { common, runs: jobs } = measureOptions(20, 5);
  const input = await clip({ seconds: 10, width: 640, height: 360 });
  const { url, service, client } = await setUpMeasure(cleanup, common, { name: 'stages', input });
  const request: JobRequest = { operation: 'thumbnail', options: { timestamp: 1, format: 'png' } };
  const scrape = async () => {
    const text = await (await fetch(service.workerMetricsUrl)).text();
    return {
      stages: histogramTotals(text, STAGE_METRIC, request.operation, 'stage'),
      // the worker's whole time for a job, also there before the stage metric
      job: histogramTotals(text, 'mf_worker_job_duration_seconds', request.operation),
    };
  };
  console.log(`stages: ${jobs} tiny jobs (PNG thumbnail at 1 s of a 10 s 640x360 clip at ${url}), one at a time`);
  console.log(`service: ${service.description}; worker metrics ${service.workerMetricsUrl}`);

  await runJob(client, request, url);
  console.log('warm-up: one job, not counted');
  // CPU per job and process: which of them the fixed cost is spent in
  const { gateway, worker, s3rver } = service.processes;
  // the broker: the whole local RabbitMQ, idle work included (one job's share of its CPU; null when it runs elsewhere)
  const roles = { gateway, worker, s3rver, bench: 'self' as const, rabbitmq: await localBrokerPid() };
  const cpuNow = async () => {
    const out: Record<string, number> = {};
    for (const [role, pid] of Object.entries(roles)) {
      if (pid === null) continue;
      if (role !== 'worker') {
        // a broker restarted meanwhile is left out of the figures rather than failing the measure
        const cpu = await processCpu(pid).catch((err: unknown) => (role === 'rabbitmq' ? null : Promise.reject(err)));
        if (cpu) out[role] = cpu.own;
        continue;
      }
      // the worker's own, and its launcher's (its one live child between jobs, with a pre-started ffmpeg under
      // it); the rest of its tree is the ffmpeg and ffprobe runs the launcher waited for
      const own = (await processCpu(pid)).own;
      let launcher = 0;
      for (const child of await liveChildren(pid)) launcher += (await processCpu(child)).own;
      out.worker = own;
      out.launcher = launcher;
      out['ffmpeg+ffprobe'] = (await processTreeCpu(pid)) - own - launcher;
    }
    return out;
  };
  const before = await scrape();
  const cpuBefore = await cpuNow();
  const endToEnd: number[] = [];
  for (let i = 0; i < jobs; i++) endToEnd.push((await runJob(client, request, url)).seconds);
  const cpuAfter = await cpuNow();
  const after = await scrape();
  // ffmpeg's own start-up (mostly the dynamic linker binding its shared libraries): part of every run, the
  // service's and the reference's alike, and of the ffmpeg stage; no job can be faster than it
  const startupRuns: number[] = [];
  for (let i = 0; i < STARTUP_RUNS; i++) startupRuns.push(await timed(() => runFfmpeg(['-version'])));
  const startup = median(startupRuns);
  const cpuPerJob = Object.fromEntries(Object.entries(cpuAfter).map(([role, s]) => [role, (s - (cpuBefore[role] ?? 0)) / jobs]));
  // what the service's processes spend with nothing to do (timers, heartbeats, metrics sampling): paid all day by
  // every replica, and beside every job; read once the jobs' tails (deletes of delivered files, the next ffmpeg
  // loading, V8's collections) have passed
  await sleep(IDLE_SETTLE_SECONDS * 1000);
  const idleBefore = await cpuNow();
  await sleep(IDLE_SECONDS * 1000);
  const idleAfter = await cpuNow();
  const idleLine = Object.entries(idleAfter)
    .filter(([role]) => role !== 'bench' && role !== 'ffmpeg+ffprobe')
    .map(([role, s]) => `${role} ${(((s - (idleBefore[role] ?? s)) / IDLE_SECONDS) * 1000).toFixed(1)} ms/s`)
    .join(', ');

  const stages = Object.fromEntries(means(before.stages, after.stages, new Set([...STAGES, ...after.stages.keys()])));
  const workerJob = means(before.job, after.job, ['']).get('') ?? null;
  const reported = Object.values(stages).filter((s): s is number => s !== null);
  const e2e = mean(endToEnd);
  const workerTotal = reported.length > 0 ? reported.reduce((x, y) => x + y, 0) : null;
  const rest = workerTotal === null ? null : e2e - workerTotal;
  const ms = (s: number | null) => (s === null ? 'n/a' : `${(s * 1000).toFixed(1)} ms`);
  console.log('stage             mean');
  for (const [stage, seconds] of Object.entries(stages)) console.log(`${stage.padEnd(16)}  ${ms(seconds)}`);
  console.log(`${'worker, sum'.padEnd(16)}  ${ms(workerTotal)}`);
  console.log(`${'worker job time'.padEnd(16)}  ${ms(workerJob)}  (mf_worker_job_duration_seconds: start of work → reply sent)`);
  console.log(`${'rest'.padEnd(16)}  ${ms(rest)}  (end to end − worker stages: gateway, transport, worker outside the stages)`);
  console.log(`${'end to end'.padEnd(16)}  ${ms(e2e)}  (client: start_job → completed + PNG)`);
  console.log(
    `${'ffmpeg start-up'.padEnd(16)}  ${ms(startup)}  (ffmpeg -version, median of ${STARTUP_RUNS}: the process start inside every ffmpeg run, either side's)`,
  );
  const cpuLine = Object.entries(cpuPerJob)
    .map(([role, s]) => `${role} ${ms(s)}`)
    .join(', ');
  console.log(`CPU per job: ${cpuLine} (bench: the WebSocket client and the media server; rabbitmq: the local broker, all of it)`);
  console.log(`CPU idle, over ${IDLE_SECONDS} s from ${IDLE_SETTLE_SECONDS} s after the jobs: ${idleLine}`);
  const ffmpeg = stages.ffmpeg ?? null;
  reportResult(
    {
      name: 'stages',
      service: e2e,
      reference: ffmpeg,
      ratio: ratioOf(e2e, ffmpeg),
      unit: 's',
      target: '—',
      notes:
        `${jobs} tiny jobs one at a time, after a warm-up: service = mean end to end the client saw, reference = mean of the worker's ffmpeg stage; ` +
        (workerTotal === null
          ? `${STAGE_METRIC} absent from the worker's /metrics: no breakdown`
          : `worker stages sum to ${formatValue(workerTotal, 's')}, rest (gateway + transport + untracked worker time) ${formatValue(rest, 's')}`) +
        `; the worker's job time (mf_worker_job_duration_seconds) ${formatValue(workerJob, 's')}; ` +
        `ffmpeg's own start-up (ffmpeg -version) ${formatValue(startup, 's')}; CPU per job: ${cpuLine}; ` +
        `CPU idle (over ${IDLE_SECONDS} s from ${IDLE_SETTLE_SECONDS} s after the jobs): ${idleLine}`,
      stages: { ...stages, worker_total: workerTotal, worker_job: workerJob, end_to_end: e2e, rest, ffmpeg_startup: startup },
    },
    common.json,
  );
});
