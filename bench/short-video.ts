/**
 * Measure 8, a short video job: speed ×2 of a 3 s 320x240 clip given as a
 * URL (an MP4 out, described for `output_metadata`), end to end through the
 * service, against the identical ffmpeg command run by hand on the same URL
 * (lib/one-job.ts). No target: it shows what a job with a video output pays
 * on top of ffmpeg, where tiny-job's is a still.
 *
 *   tsc -b bench && node bench/dist/short-video.js [--runs N] [--quick] [--storage s3|fs] [--json]
 */
import { runMain } from './lib/cleanup.js';
import { clip } from './lib/fixtures.js';
import { measureOneJob } from './lib/one-job.js';

runMain((cleanup) =>
  measureOneJob(cleanup, {
    name: 'short-video',
    request: { operation: 'speed', options: { speed_factor: 2 } },
    output: 'output.mp4',
    input: () => clip({ seconds: 3, width: 320, height: 240 }),
    inputWhat: 'a 3 s 320x240 clip',
    jobWhat: 'speed ×2',
    target: '—',
    runs: [15, 5],
  }),
);
