/**
 * A one-job measure: one request on one input by URL, end to end through the
 * service (WebSocket client → gateway → RabbitMQ → worker → reply → the file
 * on the socket), against the identical ffmpeg command run by hand on the
 * same URL. Medians of alternating runs after one untimed warm-up run per
 * side. tiny-job and short-video are this with their own job.
 */
import { join } from 'node:path';
import type { Cleanup } from './cleanup.js';
import { clip } from './fixtures.js';
import type { OriginPace } from './media-server.js';
import { jobAgainstPlan, measureOptions, setUpMeasure } from './measure.js';
import { planCommand, probeLike, referenceRuns } from './reference.js';
import { cpuNote, reportResult, timingResult } from './result.js';
import type { JobRequest } from './service.js';
import { alternate, summarise } from './stats.js';

export interface OneJob {
  /** The measure's name (its BENCH_RESULT's). */
  name: string;
  /** The job, and the file of its output compared with the reference's. */
  request: JobRequest;
  output: string;
  /** Makes (or finds cached) the input file, served by URL; called once the command line is read. */
  input: () => Promise<string>;
  /** What the input is, for the printout. */
  inputWhat: string;
  /** The job in words, for the printout and the result's notes. */
  jobWhat: string;
  target: string;
  /** Timed runs per side: full and with --quick. */
  runs: [number, number];
  /** The origin as across a network (default: local). */
  originPace?: OriginPace;
}

/** Measure 1's job: a PNG thumbnail at 1 s of a 10 s 640x360 clip (tiny-job, remote-tiny-job). */
export const TINY_JOB = {
  request: { operation: 'thumbnail', options: { timestamp: 1, format: 'png' } },
  output: 'thumbnail.png',
  input: () => clip({ seconds: 10, width: 640, height: 360 }),
  inputWhat: 'a 10 s 640x360 clip',
  jobWhat: 'PNG thumbnail at 1 s',
  target: '≤ 1.3',
  // a tiny job's median over 7 runs moved by 0.2 between back-to-back runs on a busy 2-core machine; over 15, less
  runs: [15, 3],
} satisfies Omit<OneJob, 'name'>;

export async function measureOneJob(cleanup: Cleanup, job: OneJob): Promise<void> {
  const { common, runs } = measureOptions(...job.runs);
  const input = await job.input();
  const { url, dir, service, client } = await setUpMeasure(cleanup, common, { name: job.name, input, originPace: job.originPace });

  const plan = await referenceRuns(job.request, await probeLike(input), url, join(dir, 'out'));
  console.log(`${job.name}: ${job.jobWhat} of ${job.inputWhat} at ${url}`);
  console.log(`service: ${service.description}; reference: ${planCommand(plan)}`);

  const sides = jobAgainstPlan(client, job.request, url, plan, job.output);
  await sides.viaService();
  await sides.reference();
  console.log(`warm-up: one run per side, not counted; ${runs} timed runs per side, alternating`);
  const medians = summarise(await alternate(runs, sides.viaService, sides.reference, service.cpu));

  const out = await sides.outputs();
  reportResult(
    timingResult(
      job.name,
      medians,
      job.target,
      `${job.jobWhat} of ${job.inputWhat} by URL; median of ${runs} alternating runs per side after a warm-up; ` +
        `service: start_job → completed + ${job.output} on the socket (${service.description}); ` +
        `reference: the worker's buildPlan command, ffmpeg on the same URL; ` +
        `outputs ${out.same ? 'byte-identical' : `differ (service ${out.service?.length ?? 0} B, reference ${out.reference.length} B)`}; ` +
        cpuNote(medians.cpu),
    ),
    common.json,
  );
}
