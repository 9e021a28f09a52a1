/**
 * Measure 1, tiny job: a PNG thumbnail at 1 s of a 10 s 360p clip given as
 * a URL, end to end through the service (WebSocket client → gateway →
 * RabbitMQ → worker → reply → the PNG on the socket), against the identical
 * ffmpeg command run by hand on the same URL. Medians of alternating runs
 * after one untimed warm-up run per side.
 *
 *   tsc -b bench && node bench/dist/tiny-job.js [--runs N] [--quick] [--storage s3|fs] [--json]
 */
import { join } from 'node:path';
import { runMain } from './lib/cleanup.js';
import { clip } from './lib/fixtures.js';
import { jobAgainstPlan, measureOptions, setUpMeasure } from './lib/measure.js';
import { planCommand, probeLike, referenceRuns } from './lib/reference.js';
import { cpuNote, reportResult, timingResult } from './lib/result.js';
import type { JobRequest } from './lib/service.js';
import { alternate, summarise } from './lib/stats.js';

runMain(async (cleanup) => {
  const { common, runs } = measureOptions(7, 3);
  const input = await clip({ seconds: 10, width: 640, height: 360 });
  const { url, dir, service, client } = await setUpMeasure(cleanup, common, { name: 'tiny-job', input });

  const request: JobRequest = { operation: 'thumbnail', options: { timestamp: 1, format: 'png' } };
  const plan = await referenceRuns(request, await probeLike(input), url, join(dir, 'out'));
  console.log(`tiny job: thumbnail {timestamp: 1, format: png} of a 10 s 640x360 clip at ${url}`);
  console.log(`service: ${service.description}; reference: ${planCommand(plan)}`);

  const sides = jobAgainstPlan(client, request, url, plan, 'thumbnail.png');
  await sides.viaService();
  await sides.reference();
  console.log(`warm-up: one run per side, not counted; ${runs} timed runs per side, alternating`);
  const medians = summarise(await alternate(runs, sides.viaService, sides.reference, service.cpu));

  const pngs = await sides.outputs();
  reportResult(
    timingResult(
      'tiny-job',
      medians,
      '≤ 1.3',
      `PNG thumbnail at 1 s of a 10 s 640x360 clip by URL; median of ${runs} alternating runs per side after a warm-up; ` +
        `service: start_job → completed + PNG on the socket (${service.description}); ` +
        `reference: the worker's buildPlan command, ffmpeg on the same URL; ` +
        `PNGs ${pngs.same ? 'byte-identical' : `differ (service ${pngs.service?.length ?? 0} B, reference ${pngs.reference.length} B)`}; ` +
        cpuNote(medians.cpu),
    ),
    common.json,
  );
});
