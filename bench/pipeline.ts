/**
 * Measure 7, pipeline (issue #14): "cut, speed up 1.5×, scale to 640 wide,
 * compress" on a 60 s 720p URL input, as one `pipeline` job (fused into one
 * ffmpeg run) against the same four steps as four jobs in a row through the
 * same service, each job reading the previous one's output by URL — what a
 * client has to do without pipelines. Medians of alternating runs after an
 * untimed warm-up. The ratio is pipeline ÷ four jobs; the target (≥ 2.5×
 * faster) is ≤ 0.4.
 *
 *   tsc -b bench && node bench/dist/pipeline.js [--runs N] [--quick] [--storage s3|fs] [--json]
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runMain } from './lib/cleanup.js';
import { clip } from './lib/fixtures.js';
import { measureOptions, setUpMeasure } from './lib/measure.js';
import { cpuNote, formatRatio, ratioOf, reportResult, timingResult } from './lib/result.js';
import { runJob, type JobRequest } from './lib/service.js';
import { alternate, summarise } from './lib/stats.js';

runMain(async (cleanup) => {
  const { common, runs } = measureOptions(2, 1);
  const seconds = common.quick ? 20 : 60;
  const input = await clip({ seconds, width: 1280, height: 720 });
  const { origin, url, dir, service, client } = await setUpMeasure(cleanup, common, { name: 'pipeline', input });

  const cut = { start_time: 5, end_time: seconds - 5 };
  const steps: JobRequest[] = [
    { operation: 'trim', options: cut },
    { operation: 'speed', options: { speed_factor: 1.5 } },
    { operation: 'filter', options: { filters: [{ type: 'scale', width: 640 }] } },
    { operation: 'compress', options: { preset: 'medium' } },
  ];
  const pipeline: JobRequest = { operation: 'pipeline', options: { steps } };
  console.log(
    `pipeline: trim ${cut.start_time}-${cut.end_time} s → speed 1.5× → scale 640 wide → compress medium, of a ${seconds} s 1280x720 clip`,
  );
  console.log(`service: ${service.description}`);

  const oneJob = async () => (await runJob(client, pipeline, url)).seconds;
  let chained = 0;
  const fourJobs = async () => {
    let total = 0;
    let stepInput = url;
    for (const step of steps) {
      const run = await runJob(client, step, stepInput);
      total += run.seconds;
      const [name, bytes] = [...run.files][0]!;
      const file = join(dir, `${++chained}-${name}`);
      await writeFile(file, bytes);
      // each job's output is the next job's input
      origin.add(`${chained}-${name}`, file);
      stepInput = origin.url(`${chained}-${name}`);
    }
    return total;
  };
  await runJob(client, { operation: 'thumbnail', options: { timestamp: 1, format: 'png' } }, url);
  console.log(
    `warm-up: a thumbnail job, not counted; ${runs} timed runs per side, alternating (one pipeline job, then four jobs in a row)`,
  );
  const medians = summarise(await alternate(runs, oneJob, fourJobs, service.cpu));
  const ratio = ratioOf(medians.service, medians.reference);
  reportResult(
    timingResult(
      'pipeline',
      medians,
      '≤ 0.4',
      `one pipeline job (trim → speed 1.5× → scale 640 → compress medium, fused into one ffmpeg run) vs the same four steps as four jobs in a row ` +
        `through the same service (each reading the previous output by URL), ${seconds} s 720p input; median of ${runs} alternating runs per side; ` +
        `the pipeline is ${ratio ? formatRatio(1 / ratio) : 'n/a'}× faster (target ≥ 2.5×, i.e. ratio ≤ 0.4); ${cpuNote(medians.cpu)}`,
    ),
    common.json,
  );
});
