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
import { clip } from './lib/fixtures.js';
import { measureOneJob } from './lib/one-job.js';

runMain((cleanup) =>
  measureOneJob(cleanup, {
    name: 'remote-tiny-job',
    request: { operation: 'thumbnail', options: { timestamp: 1, format: 'png' } },
    output: 'thumbnail.png',
    input: () => clip({ seconds: 10, width: 640, height: 360 }),
    inputWhat: 'a 10 s 640x360 clip, its origin 20 ms and 50 MB/s away',
    jobWhat: 'PNG thumbnail at 1 s',
    target: '≤ 1.3',
    runs: [7, 3],
    originPace: { firstByteMs: 20, bytesPerSecond: 50e6 },
  }),
);
