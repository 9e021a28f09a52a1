// Quick start, part 1: a local file in, every output saved to disk.
//
//   node examples/upload.mjs [output-dir] [input-file]
//
// Without an input file it makes one with ffmpeg's lavfi sources (a 2-minute
// test pattern with a stereo tone), so it works with no internet. It runs three jobs
// on one connection over that upload: 3 thumbnails (several outputs), a GIF,
// and the audio as WAV (over 16 MiB: it comes back in chunks). Outputs land in
// output-dir/<job_id>/ (default ./media-foundry-out). MEDIA_FOUNDRY_URL
// (default ws://localhost:8080) and MEDIA_FOUNDRY_TOKEN (an API key, when the
// service has API_KEYS) say where to connect.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { connect, runJobs, SERVICE_URL } from './media-foundry.mjs';

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

const upload = { source: 'upload' };
const ws = await connect();
console.log(`connected to ${SERVICE_URL}`);
const results = await runJobs(
  ws,
  [
    { job_id: 'thumbs', operation: 'thumbnail', input: upload, options: { count: 3, format: 'jpeg', width: 320 }, file: input },
    { job_id: 'gif', operation: 'gif', input: upload, options: { start_time: 5, duration: 3, fps: 10, width: 240 }, file: input },
    { job_id: 'audio', operation: 'extract_audio', input: upload, options: { format: 'wav', sample_rate: 48000 }, file: input },
  ],
  outDir,
);
ws.close();
for (const [id, { files }] of Object.entries(results)) console.log(`${id}: ${files.join(', ')}`);
