// Quick start, part 1: a local file in, every output saved to disk, with the
// client SDK (@media-foundry/client, the repo's workspace package: run
// `npm ci && npm run build` once, then this from the repository root).
//
//   node examples/upload.mjs [output-dir] [input-file]
//
// Without an input file it makes one with ffmpeg's lavfi sources (a 2-minute
// test pattern with a stereo tone), so it works with no internet. It runs three
// jobs on one connection over that file: 3 thumbnails (several outputs), a GIF,
// and the audio as WAV (over 16 MiB: it comes back in chunks). Outputs land in
// output-dir/<job id>/ (default ./media-foundry-out). MEDIA_FOUNDRY_URL
// (default ws://localhost:8080) and MEDIA_FOUNDRY_API_KEY (when the service has
// API_KEYS or JWT_SECRET) say where to connect, as for the media-foundry CLI.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { MediaFoundry } from '@media-foundry/client';

const SERVICE_URL = process.env.MEDIA_FOUNDRY_URL ?? 'ws://localhost:8080';
const outDir = resolve(process.argv[2] ?? 'media-foundry-out');
mkdirSync(outDir, { recursive: true });
let input = process.argv[3];
if (!input) {
  input = join(outDir, 'input.mp4');
  execFileSync('ffmpeg', [
    '-v',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    'testsrc2=size=320x240:rate=10:duration=120',
    '-f',
    'lavfi',
    '-i',
    'sine=frequency=440:sample_rate=48000:duration=120',
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-pix_fmt',
    'yuv420p',
    '-c:a',
    'aac',
    '-ac',
    '2',
    '-shortest',
    input,
  ]);
  console.log(`made ${input} with ffmpeg lavfi`);
}

/** Starts a job and logs what happens to it; its outputs stream to outDir/<id>/ as they arrive. */
function run(job) {
  const id = job.id;
  const frames = new Map(); // output file → binary frames it came in (over 16 MiB: 1 MiB chunks)
  job.on('accepted', () => console.log(`${id}: accepted`));
  job.on('progress', (p) => console.log(`${id}: ${p.stage} ${p.percentage.toFixed(0)}%`));
  job.on('download', (d) => frames.set(d.filename, (frames.get(d.filename) ?? 0) + 1));
  job.on('output', ({ output }) =>
    console.log(`${id}: saved ${output.path} (${output.size} bytes${frames.get(output.filename) > 1 ? ', in chunks' : ''})`),
  );
  return job.saveTo(join(outDir, id)).then((paths) => [id, paths]);
}

const mf = await MediaFoundry.connect(SERVICE_URL, { apiKey: process.env.MEDIA_FOUNDRY_API_KEY });
console.log(`connected to ${SERVICE_URL}`);
const file = { file: input }; // each job uploads it (in 1 MiB chunks, within the server's upload_ack window)
try {
  const results = await Promise.all([
    run(mf.thumbnail(file, { count: 3, format: 'jpeg', width: 320 }, { jobId: 'thumbs' })),
    run(mf.gif(file, { start_time: 5, duration: 3, fps: 10, width: 240 }, { jobId: 'gif' })),
    run(mf.extract_audio(file, { format: 'wav', sample_rate: 48000 }, { jobId: 'audio' })),
  ]);
  for (const [id, paths] of results) console.log(`${id}: ${paths.join(', ')}`);
} catch (err) {
  // a MediaFoundryError: the server's code (VALIDATION_ERROR, JOB_FAILED, …) or the client's (CONNECTION_LOST, …)
  console.error(`${err.jobId ?? '(no job)'}: ${err.code}: ${err.message}${err.details ? ` (${err.details})` : ''}`);
  process.exitCode = 1;
} finally {
  await mf.close();
}
