/**
 * Measure 1, tiny job: a PNG thumbnail at 1 s of a 10 s 360p clip given as
 * a URL, end to end through the service, against the identical ffmpeg
 * command run by hand on the same URL (lib/one-job.ts).
 *
 *   tsc -b bench && node bench/dist/tiny-job.js [--runs N] [--quick] [--storage s3|fs] [--json]
 */
import { runMain } from './lib/cleanup.js';
import { clip } from './lib/fixtures.js';
import { measureOneJob } from './lib/one-job.js';

runMain((cleanup) =>
  measureOneJob(cleanup, {
    name: 'tiny-job',
    request: { operation: 'thumbnail', options: { timestamp: 1, format: 'png' } },
    output: 'thumbnail.png',
    input: () => clip({ seconds: 10, width: 640, height: 360 }),
    inputWhat: 'a 10 s 640x360 clip',
    jobWhat: 'PNG thumbnail at 1 s',
    target: '≤ 1.3',
    runs: [7, 3],
  }),
);
