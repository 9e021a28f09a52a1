/**
 * Measure 1, tiny job: a PNG thumbnail at 1 s of a 10 s 360p clip given as
 * a URL, end to end through the service (WebSocket client → gateway →
 * RabbitMQ → worker → reply → the PNG on the socket), against the identical
 * ffmpeg command run by hand on the same URL. Medians of alternating runs
 * after one untimed warm-up run per side.
 *
 *   tsc -b bench && node bench/dist/tiny-job.js [--runs N] [--quick] [--storage s3|fs] [--json]
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseOptions, runsFor } from './lib/cli.js';
import { runMain } from './lib/cleanup.js';
import { clip } from './lib/fixtures.js';
import { startMediaServer } from './lib/media-server.js';
import { outputOf, probeLike, referenceRuns, runPlan } from './lib/reference.js';
import { cpuNote, ratioOf, reportResult } from './lib/result.js';
import { runJob, startService, type JobRequest } from './lib/service.js';
import { alternate, summarise, timed } from './lib/stats.js';

runMain(async (cleanup) => {
  const { common } = parseOptions(process.argv.slice(2));
  const runs = runsFor(common, 7, 3);
  const input = await clip({ seconds: 10, width: 640, height: 360 });
  const origin = await startMediaServer({ 'tiny.mp4': input });
  cleanup.add('stop the media server', () => origin.close());
  const url = origin.url('tiny.mp4');
  const dir = await mkdtemp(join(tmpdir(), 'mf-bench-tiny-'));
  cleanup.add('remove the reference outputs', () => rm(dir, { recursive: true, force: true }));

  const request: JobRequest = { operation: 'thumbnail', options: { timestamp: 1, format: 'png' } };
  const plan = await referenceRuns(request, await probeLike(input), url, join(dir, 'out'));
  const service = await startService(cleanup, { storage: common.storage, inputProbe: common.inputProbe });
  const client = await service.connect();
  console.log(`tiny job: thumbnail {timestamp: 1, format: png} of a 10 s 640x360 clip at ${url}`);
  console.log(`service: ${service.description}; reference: ffmpeg ${plan.map((r) => r.join(' ')).join(' && ')}`);

  let servicePng: Buffer | undefined;
  const viaService = async () => {
    const run = await runJob(client, request, url);
    servicePng = run.files.get('thumbnail.png');
    return run.seconds;
  };
  const reference = () => timed(() => runPlan(plan));
  await viaService();
  await reference();
  console.log(`warm-up: one run per side, not counted; ${runs} timed runs per side, alternating`);
  const samples = await alternate(runs, viaService, reference, service.cpu);
  const { service: serviceMedian, reference: referenceMedian, cpu } = summarise(samples);

  const referencePng = await readFile(outputOf(plan));
  const same = servicePng !== undefined && servicePng.equals(referencePng);
  reportResult(
    {
      name: 'tiny-job',
      service: serviceMedian,
      reference: referenceMedian,
      ratio: ratioOf(serviceMedian, referenceMedian),
      unit: 's',
      cpu,
      target: '≤ 1.3',
      notes:
        `PNG thumbnail at 1 s of a 10 s 640x360 clip by URL; median of ${runs} alternating runs per side after a warm-up; ` +
        `service: start_job → completed + PNG on the socket (${service.description}); ` +
        `reference: the worker's buildPlan command, ffmpeg on the same URL; ` +
        `PNGs ${same ? 'byte-identical' : `differ (service ${servicePng?.length ?? 0} B, reference ${referencePng.length} B)`}; ` +
        cpuNote(cpu),
    },
    common.json,
  );
});
