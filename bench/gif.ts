/**
 * Measure 9, a GIF job: 2 s at 10 fps (palette, 480 px wide) from 1 s into a
 * 10 s 640x360 clip given as a URL, end to end through the service, against
 * the identical ffmpeg command run by hand on the same URL (lib/one-job.ts).
 * No target: it shows what a short animated output pays on top of ffmpeg
 * (its description for `output_metadata` included).
 *
 *   tsc -b bench && node bench/dist/gif.js [--runs N] [--quick] [--storage s3|fs] [--input-probe auto|ffprobe] [--json]
 */
import { runMain } from './lib/cleanup.js';
import { clip } from './lib/fixtures.js';
import { measureOneJob } from './lib/one-job.js';

runMain((cleanup) =>
  measureOneJob(cleanup, {
    name: 'gif',
    request: { operation: 'gif', options: { start_time: 1, duration: 2, fps: 10 } },
    output: 'output.gif',
    input: () => clip({ seconds: 10, width: 640, height: 360 }),
    inputWhat: 'a 10 s 640x360 clip',
    jobWhat: '2 s GIF at 10 fps',
    target: '—',
    runs: [15, 5],
  }),
);
