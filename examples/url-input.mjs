// Quick start, part 2: a URL input, with the client SDK (@media-foundry/client,
// the repo's workspace package). The worker downloads the input itself; here
// the URL points at a small HTTP server this script runs on loopback.
//
//   URL_ALLOWLIST=127.0.0.1 npm start          # the service, in another terminal
//   node examples/url-input.mjs [output-dir] [input-file]
//
// The worker refuses private and loopback addresses (an SSRF guard) unless
// URL_ALLOWLIST names them: without URL_ALLOWLIST=127.0.0.1 the gateway
// answers VALIDATION_ERROR "127.0.0.1 resolves to 127.0.0.1, a private or
// reserved address". Public http(s) URLs need no allowlist. MEDIA_FOUNDRY_URL
// and MEDIA_FOUNDRY_API_KEY as for examples/upload.mjs.
import { execFileSync } from 'node:child_process';
import { createReadStream, mkdirSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { basename, join, resolve } from 'node:path';
import { MediaFoundry } from '@media-foundry/client';

const SERVICE_URL = process.env.MEDIA_FOUNDRY_URL ?? 'ws://localhost:8080';

const outDir = resolve(process.argv[2] ?? 'media-foundry-out');
mkdirSync(outDir, { recursive: true });
let input = process.argv[3];
if (!input) {
  input = join(outDir, 'clip.mp4');
  execFileSync('ffmpeg', [
    '-v',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    'testsrc2=size=640x360:rate=25:duration=10',
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-pix_fmt',
    'yuv420p',
    '-movflags',
    '+faststart',
    input,
  ]);
}

// the origin: serves the one file (the worker may read it by HTTP range, so Range is honoured)
const size = statSync(input).size;
const server = createServer((req, res) => {
  const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
  const start = range ? Number(range[1]) : 0;
  const end = range && range[2] ? Math.min(Number(range[2]), size - 1) : size - 1;
  res.writeHead(range ? 206 : 200, {
    'content-type': 'video/mp4',
    'content-length': end - start + 1,
    'accept-ranges': 'bytes',
    ...(range ? { 'content-range': `bytes ${start}-${end}/${size}` } : {}),
  });
  if (req.method === 'HEAD') res.end();
  else createReadStream(input, { start, end }).pipe(res);
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${server.address().port}/${basename(input)}`;
console.log(`serving ${input} at ${url}`);

const mf = await MediaFoundry.connect(SERVICE_URL, { apiKey: process.env.MEDIA_FOUNDRY_API_KEY });
console.log(`connected to ${SERVICE_URL}`);
const thumb = mf.thumbnail({ url }, { timestamp: 2, format: 'png' }, { jobId: 'url-thumb' });
const probe = mf.probe({ url }, {}, { jobId: 'url-probe' });
for (const job of [thumb, probe]) {
  job.on('accepted', () => console.log(`${job.id}: accepted`));
  job.on('progress', (p) => console.log(`${job.id}: ${p.stage} ${p.percentage.toFixed(0)}%`));
}
try {
  const [paths, metadata] = await Promise.allSettled([thumb.saveTo(join(outDir, thumb.id)), probe.metadata()]);
  if (paths.status === 'fulfilled') console.log(`${thumb.id}: saved ${paths.value.join(', ')}`);
  if (metadata.status === 'fulfilled') console.log('probe:', JSON.stringify(metadata.value));
  for (const failed of [paths, metadata].filter((r) => r.status === 'rejected')) {
    // a MediaFoundryError: VALIDATION_ERROR here when the service's URL_ALLOWLIST does not name 127.0.0.1
    const err = failed.reason;
    console.error(`${err.jobId ?? '(no job)'}: ${err.code}: ${err.message}${err.details ? ` (${err.details})` : ''}`);
    process.exitCode = 1;
  }
} finally {
  await mf.close();
  server.close();
}
