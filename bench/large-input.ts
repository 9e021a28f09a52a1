/**
 * Measure 2, large input: a PNG thumbnail at 5 s of a ~200 MB URL input
 * through the service, against raw `ffmpeg -ss 5 -i http://… -frames:v 1 …`
 * (the worker's own command for the job) on the same URL; and the bytes the
 * origin served the service as a fraction of the file. The origin is the
 * benchmark's Range-capable server, which counts what it sends.
 *
 *   tsc -b bench && node bench/dist/large-input.js [--runs N] [--quick] [--storage s3|fs] [--json]
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { runMain } from './lib/cleanup.js';
import { largeClip } from './lib/fixtures.js';
import { jobAgainstPlan, measureOptions, setUpMeasure } from './lib/measure.js';
import type { ServedStats } from './lib/media-server.js';
import { planCommand, probeLike, referenceRuns } from './lib/reference.js';
import { cpuNote, formatValue, ratioOf, reportResult, timingResult } from './lib/result.js';
import type { JobRequest } from './lib/service.js';
import { alternate, median, summarise } from './lib/stats.js';

runMain(async (cleanup) => {
  const { common, runs } = measureOptions(5, 2);
  // the same file in a quick run: the fraction fetched only means something for a large file (and it is cached)
  const input = await largeClip({ seconds: 60, width: 1920, height: 1080, mbps: 26, gop: 50 });
  const size = (await stat(input)).size;
  const { origin, inputName, url, dir, service, client } = await setUpMeasure(cleanup, common, { name: 'large-input', input });

  const request: JobRequest = { operation: 'thumbnail', options: { timestamp: 5, format: 'png' } };
  const plan = await referenceRuns(request, await probeLike(input), url, join(dir, 'out'));
  console.log(
    `large input: thumbnail {timestamp: 5, format: png} of ${formatValue(size, 'bytes')} (1080p, 60 s, 26 Mbit/s, keyframe every 2 s) at ${url}`,
  );
  console.log(`service: ${service.description}; reference: ${planCommand(plan)}`);

  const served = { service: [] as ServedStats[], reference: [] as ServedStats[] };
  const sides = jobAgainstPlan(client, request, url, plan, 'thumbnail.png');
  // each side's run, with what the origin served it
  const counted = (side: 'service' | 'reference', run: () => Promise<number>) => async () => {
    origin.reset();
    const seconds = await run();
    served[side].push(origin.served(inputName));
    return seconds;
  };
  const viaService = counted('service', sides.viaService);
  const reference = counted('reference', sides.reference);
  await viaService();
  await reference();
  served.service.length = 0;
  served.reference.length = 0;
  console.log(`warm-up: one run per side, not counted; ${runs} timed runs per side, alternating`);
  const medians = summarise(await alternate(runs, viaService, reference, service.cpu));

  const bytes = (side: 'service' | 'reference') => median(served[side].map((s) => s.bytes));
  const requests = (side: 'service' | 'reference') => median(served[side].map((s) => s.requests));
  for (const side of ['service', 'reference'] as const) {
    const { log } = served[side].at(-1)!;
    const shown = log.length > 4 ? [...log.slice(0, 3), `… ${log.length - 4} more`, log.at(-1)!] : log;
    console.log(
      `${side}: ${formatValue(bytes(side), 'bytes')} served (median) in ${requests(side)} requests; last run: ${shown.join(', ')}`,
    );
  }
  const pngs = await sides.outputs();
  const serviceBytes = bytes('service');
  const fetchNote = `the service fetched ${((serviceBytes / size) * 100).toFixed(1)} % in ${requests('service')} requests, raw ffmpeg ${((bytes('reference') / size) * 100).toFixed(1)} % in ${requests('reference')}`;
  reportResult(
    {
      ...timingResult(
        'large-input',
        medians,
        '≤ 1.5',
        `PNG thumbnail at 5 s of a ${(size / 1e6).toFixed(0)} MB 1080p URL input (moov first, keyframe every 2 s); median of ${runs} alternating runs per side after a warm-up; ` +
          `reference: the worker's buildPlan command, ffmpeg -ss 5 -i <url> on the same URL; ${fetchNote}; ` +
          `PNGs ${pngs.same ? 'byte-identical' : 'differ'}; ${cpuNote(medians.cpu)}`,
      ),
      more: [
        {
          name: 'large-input bytes',
          service: serviceBytes,
          reference: size,
          ratio: ratioOf(serviceBytes, size),
          unit: 'bytes',
          target: '≤ 0.05',
          notes: `bytes the origin sent for the service's job (median of ${runs} runs) ÷ the file's size; ${fetchNote}`,
        },
      ],
    },
    common.json,
  );
});
