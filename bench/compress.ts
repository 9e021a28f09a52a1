/**
 * Measure 3, compress: a `compress` job (default options: preset medium,
 * mp4) of a 60 s 720p clip given as a URL, through the service, against raw
 * ffmpeg with the same arguments on the same URL. "The same arguments" are
 * built by the worker's own pure builder (`buildPlan`) from the worker's own
 * probe of the file; only the input path differs (the URL instead of the
 * worker's downloaded copy). Medians of alternating runs after an untimed
 * warm-up (a thumbnail of the same input on each side).
 *
 *   tsc -b bench && node bench/dist/compress.js [--runs N] [--quick] [--storage s3|fs] [--json]
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseOptions, runsFor } from './lib/cli.js';
import { runMain } from './lib/cleanup.js';
import { clip, warmPageCache } from './lib/fixtures.js';
import { startMediaServer } from './lib/media-server.js';
import { outputOf, probeLike, referenceRuns, runPlan } from './lib/reference.js';
import { cpuNote, formatValue, ratioOf, reportResult } from './lib/result.js';
import { runJob, startService, type JobRequest } from './lib/service.js';
import { alternate, summarise, timed } from './lib/stats.js';

runMain(async (cleanup) => {
  const { common } = parseOptions(process.argv.slice(2));
  const runs = runsFor(common, 3, 1);
  const seconds = common.quick ? 20 : 60;
  const input = await clip({ seconds, width: 1280, height: 720 });
  await warmPageCache(input);
  const origin = await startMediaServer({ 'clip.mp4': input });
  cleanup.add('stop the media server', () => origin.close());
  const url = origin.url('clip.mp4');
  const dir = await mkdtemp(join(tmpdir(), 'mf-bench-compress-'));
  cleanup.add('remove the reference outputs', () => rm(dir, { recursive: true, force: true }));

  const info = await probeLike(input);
  const request: JobRequest = { operation: 'compress', options: {} };
  const plan = await referenceRuns(request, info, url, join(dir, 'out'));
  const warmUp: JobRequest = { operation: 'thumbnail', options: { timestamp: 1, format: 'png' } };
  const warmUpPlan = await referenceRuns(warmUp, info, url, join(dir, 'warm-up'));
  const service = await startService(cleanup, { storage: common.storage, inputProbe: common.inputProbe });
  const client = await service.connect();
  console.log(`compress: {} (preset medium, mp4) of a ${seconds} s 1280x720 clip at ${url}`);
  console.log(`service: ${service.description}; reference: ffmpeg ${plan.map((r) => r.join(' ')).join(' && ')}`);

  let serviceOutput: Buffer | undefined;
  const viaService = async () => {
    const run = await runJob(client, request, url);
    serviceOutput = run.files.get('output.mp4');
    return run.seconds;
  };
  const reference = () => timed(() => runPlan(plan));
  await runJob(client, warmUp, url);
  await runPlan(warmUpPlan);
  console.log(`warm-up: a thumbnail of the same input per side, not counted; ${runs} timed runs per side, alternating`);
  const samples = await alternate(runs, viaService, reference, service.cpu);
  const { service: serviceMedian, reference: referenceMedian, cpu } = summarise(samples);

  const referenceOutput = await readFile(outputOf(plan));
  const sizes = `service ${formatValue(serviceOutput?.length ?? 0, 'bytes')}, reference ${formatValue(referenceOutput.length, 'bytes')}`;
  const same = serviceOutput !== undefined && serviceOutput.equals(referenceOutput);
  reportResult(
    {
      name: 'compress',
      service: serviceMedian,
      reference: referenceMedian,
      ratio: ratioOf(serviceMedian, referenceMedian),
      unit: 's',
      cpu,
      target: '≤ 1.05',
      notes:
        `compress {} (preset medium: x264 medium CRF 28, AAC 128k, mp4) of a ${seconds} s 720p clip by URL; median of ${runs} alternating runs per side after a warm-up; ` +
        `reference: the worker's buildPlan arguments, ffmpeg reading the same URL; ` +
        `outputs ${same ? `byte-identical (${sizes})` : `differ (${sizes})`}; ${cpuNote(cpu)}`,
    },
    common.json,
  );
});
