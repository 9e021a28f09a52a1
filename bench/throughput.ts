/**
 * Measure 5, throughput: one worker with MAX_CONCURRENT_JOBS=2; 40 tiny
 * jobs (measure 1's: a PNG thumbnail at 1 s of the 10 s 360p clip, by URL)
 * submitted at once by 4 WebSocket clients, 10 each, timed from the first
 * `start_job` to the last output received; against the same 40 ffmpeg
 * commands (the worker's `buildPlan` ones, on the same URL) run two at a
 * time by the benchmark. Medians of alternating runs after a warm-up.
 *
 *   tsc -b bench && node bench/dist/throughput.js [--runs N] [--quick] [--storage s3|fs] [--json]
 */
import { join } from 'node:path';
import { mapLimited } from '@media-foundry/worker/lib';
import { runMain } from './lib/cleanup.js';
import { clip } from './lib/fixtures.js';
import { measureOptions, setUpMeasure } from './lib/measure.js';
import { probeLike, referenceRuns, runPlan } from './lib/reference.js';
import { cpuNote, reportResult, timingResult } from './lib/result.js';
import { awaitResult, forget, runJob, submit, type JobRequest } from './lib/service.js';
import { alternate, summarise, timed } from './lib/stats.js';

const CLIENTS = 4;
const JOBS_PER_CLIENT = 10;
const CONCURRENCY = 2;

runMain(async (cleanup) => {
  const { common, runs } = measureOptions(3, 1);
  const input = await clip({ seconds: 10, width: 640, height: 360 });
  const { url, dir, service, clients } = await setUpMeasure(cleanup, common, {
    name: 'throughput',
    input,
    clients: CLIENTS,
    workerEnv: { MAX_CONCURRENT_JOBS: String(CONCURRENCY) },
  });

  const total = CLIENTS * JOBS_PER_CLIENT;
  const info = await probeLike(input);
  // measure 1's tiny job, 40 times
  const requests: JobRequest[] = Array.from({ length: total }, () => ({
    operation: 'thumbnail',
    options: { timestamp: 1, format: 'png' },
  }));
  const plans = await Promise.all(requests.map((r, i) => referenceRuns(r, info, url, join(dir, `job-${i}`))));
  console.log(
    `throughput: ${total} PNG thumbnails at 1 s of a 10 s 640x360 clip at ${url}, ${CLIENTS} clients × ${JOBS_PER_CLIENT} jobs at once`,
  );
  console.log(`service: ${service.description}; reference: the same ${total} ffmpeg commands, ${CONCURRENCY} at a time`);

  const viaService = async () => {
    const started = performance.now();
    const submitted = clients.map((client, c) =>
      requests.slice(c * JOBS_PER_CLIENT, (c + 1) * JOBS_PER_CLIENT).map((request) => submit(client, request, url)),
    );
    await Promise.all(clients.flatMap((client, c) => submitted[c]!.map((jobId) => awaitResult(client, jobId))));
    const seconds = (performance.now() - started) / 1000;
    clients.forEach(forget);
    return seconds;
  };
  const reference = () => timed(() => mapLimited(plans, CONCURRENCY, (plan) => runPlan(plan)));
  await runJob(clients[0]!, requests[0]!, url);
  await runPlan(plans[0]!);
  console.log(`warm-up: one job per side, not counted; ${runs} timed runs per side, alternating`);
  const medians = summarise(await alternate(runs, viaService, reference, service.cpu));

  reportResult(
    timingResult(
      'throughput',
      medians,
      '≤ 1.3',
      `${total} PNG thumbnails at 1 s of a 10 s 360p clip (${CLIENTS} clients × ${JOBS_PER_CLIENT}, submitted at once) on one worker with MAX_CONCURRENT_JOBS=${CONCURRENCY}, ` +
        `first start_job → last output received (${(total / medians.service).toFixed(1)} jobs/s); ` +
        `reference: the same ${total} ffmpeg commands (worker's buildPlan, same URL), ${CONCURRENCY} at a time (${(total / medians.reference).toFixed(1)} jobs/s); ` +
        `median of ${runs} alternating runs per side after a warm-up; ${cpuNote(medians.cpu)}`,
    ),
    common.json,
  );
});
