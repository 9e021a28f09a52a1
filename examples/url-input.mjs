// Quick start, part 2: a URL input. The worker downloads the input itself;
// here the URL points at a small HTTP server this script runs on loopback.
//
//   URL_ALLOWLIST=127.0.0.1 npm start          # the service, in another terminal
//   node examples/url-input.mjs [output-dir] [input-file]
//
// The worker refuses private and loopback addresses (an SSRF guard) unless
// URL_ALLOWLIST names them: without URL_ALLOWLIST=127.0.0.1 the gateway
// answers VALIDATION_ERROR "127.0.0.1 resolves to 127.0.0.1, a private or
// reserved address". Public http(s) URLs need no allowlist.
import { execFileSync } from 'node:child_process';
import { createReadStream, mkdirSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { basename, join, resolve } from 'node:path';
import { connect, runJobs, SERVICE_URL } from './media-foundry.mjs';

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

const ws = await connect();
console.log(`connected to ${SERVICE_URL}`);
try {
  const results = await runJobs(
    ws,
    [
      { job_id: 'url-thumb', operation: 'thumbnail', input: { source: 'url', url }, options: { timestamp: 2, format: 'png' } },
      { job_id: 'url-probe', operation: 'probe', input: { source: 'url', url }, options: {} },
    ],
    outDir,
  );
  console.log('probe:', JSON.stringify(results['url-probe'].completed.output_metadata));
  for (const [id, { files }] of Object.entries(results)) if (files.length) console.log(`${id}: ${files.join(', ')}`);
} finally {
  ws.close();
  server.close();
}
