/**
 * Measure 3, compress: a `compress` job (default options: preset medium,
 * mp4) of a 60 s 720p clip given as a URL, through the service, against raw
 * ffmpeg with the same arguments on the same URL. "The same arguments" are
 * built by the worker's own pure builder (`buildPlan`) from the worker's own
 * probe of the file; only the input path differs (the URL instead of the
 * worker's downloaded copy). Medians of alternating runs after an untimed
 * warm-up (a thumbnail of the same input on each side). Prints the worker's
 * stages of the timed jobs (`mf_worker_stage_seconds`): ffmpeg reads the
 * input while it downloads (`input_fetch` is the download's opening), and the
 * store after ffmpeg is the service's own stage.
 *
 *   tsc -b bench && node bench/dist/compress.js [--runs N] [--quick] [--storage s3|fs] [--json]
 */
import { join } from 'node:path';
import { runMain } from './lib/cleanup.js';
import { clip } from './lib/fixtures.js';
import { jobAgainstPlan, measureOptions, setUpMeasure } from './lib/measure.js';
import { planCommand, probeLike, referenceRuns, runPlan } from './lib/reference.js';
import { cpuNote, formatValue, reportResult, timingResult } from './lib/result.js';
import { runJob, type JobRequest } from './lib/service.js';
import { scrapeStages, stageLine } from './lib/stage-metrics.js';
import { alternate, summarise } from './lib/stats.js';

runMain(async (cleanup) => {
  const { common, runs } = measureOptions(3, 1);
  const seconds = common.quick ? 20 : 60;
  const input = await clip({ seconds, width: 1280, height: 720 });
  const { url, dir, service, client } = await setUpMeasure(cleanup, common, { name: 'compress', input });

  const info = await probeLike(input);
  const request: JobRequest = { operation: 'compress', options: {} };
  const plan = await referenceRuns(request, info, url, join(dir, 'out'));
  const warmUp: JobRequest = { operation: 'thumbnail', options: { timestamp: 1, format: 'png' } };
  const warmUpPlan = await referenceRuns(warmUp, info, url, join(dir, 'warm-up'));
  console.log(`compress: {} (preset medium, mp4) of a ${seconds} s 1280x720 clip at ${url}`);
  console.log(`service: ${service.description}; reference: ${planCommand(plan)}`);

  const sides = jobAgainstPlan(client, request, url, plan, 'output.mp4');
  await runJob(client, warmUp, url);
  await runPlan(warmUpPlan);
  console.log(`warm-up: a thumbnail of the same input per side, not counted; ${runs} timed runs per side, alternating`);
  const stagesBefore = await scrapeStages(service.workerMetricsUrl, 'compress');
  const medians = summarise(await alternate(runs, sides.viaService, sides.reference, service.cpu));
  // where the service's extra time goes: the download's opening before ffmpeg (the rest overlaps it), the store after
  const stages = stageLine(stagesBefore, await scrapeStages(service.workerMetricsUrl, 'compress'));
  console.log(`the service's stages, mean of its ${runs} compress jobs: ${stages}`);

  const outputs = await sides.outputs();
  const sizes = `service ${formatValue(outputs.service?.length ?? 0, 'bytes')}, reference ${formatValue(outputs.reference.length, 'bytes')}`;
  reportResult(
    timingResult(
      'compress',
      medians,
      '≤ 1.05',
      `compress {} (preset medium: x264 medium CRF 28, AAC 128k, mp4) of a ${seconds} s 720p clip by URL; median of ${runs} alternating runs per side after a warm-up; ` +
        `reference: the worker's buildPlan arguments, ffmpeg reading the same URL; ` +
        `outputs ${outputs.same ? `byte-identical (${sizes})` : `differ (${sizes})`}; the service's stages (mean): ${stages}; ${cpuNote(medians.cpu)}`,
    ),
    common.json,
  );
});
