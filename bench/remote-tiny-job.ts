/**
 * Measure 1b, tiny job from a remote origin: measure 1's job and reference,
 * the origin answering each request after 20 ms and sending 50 MB/s on each
 * connection, as S3 or a CDN seen from a pod may. Both sides pay the
 * origin's round trips; what the service waits for before ffmpeg starts (its
 * first block, an MP4's moov) shows here where loopback hides it.
 *
 *   tsc -b bench && node bench/dist/remote-tiny-job.js [--runs N] [--quick] [--storage s3|fs] [--json]
 */
import { runMain } from './lib/cleanup.js';
import { measureOneJob, TINY_JOB } from './lib/one-job.js';

runMain((cleanup) =>
  measureOneJob(cleanup, {
    ...TINY_JOB,
    name: 'remote-tiny-job',
    inputWhat: `${TINY_JOB.inputWhat}, its origin 20 ms and 50 MB/s away`,
    originPace: { firstByteMs: 20, bytesPerSecond: 50e6 },
  }),
);
