/**
 * Measure 1, tiny job: a PNG thumbnail at 1 s of a 10 s 360p clip given as
 * a URL, end to end through the service, against the identical ffmpeg
 * command run by hand on the same URL (lib/one-job.ts).
 *
 *   tsc -b bench && node bench/dist/tiny-job.js [--runs N] [--quick] [--storage s3|fs] [--json]
 */
import { runMain } from './lib/cleanup.js';
import { measureOneJob, TINY_JOB } from './lib/one-job.js';

runMain((cleanup) => measureOneJob(cleanup, { ...TINY_JOB, name: 'tiny-job' }));
