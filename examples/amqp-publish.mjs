// A backend submitting a job straight to RabbitMQ (docs/AMQP.md), with no
// WebSocket: the input goes into the shared storage, the job onto the intake
// queue, the replies come back on a queue of our own, and the outputs are read
// from storage.
//
//   node examples/amqp-publish.mjs [output-dir]
//
// Environment, the same names as the services': AMQP_URL (default
// amqp://guest:guest@127.0.0.1:5672), QUEUE_PREFIX (default media),
// STORAGE_DIR (default /tmp/media-foundry/storage; this example speaks the
// `fs` driver: a storage key `a/b/c` is the file STORAGE_DIR/a/b/c).
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import amqplib from 'amqplib';

const AMQP_URL = process.env.AMQP_URL || 'amqp://guest:guest@127.0.0.1:5672';
const PREFIX = process.env.QUEUE_PREFIX || 'media';
const STORAGE_DIR = process.env.STORAGE_DIR || '/tmp/media-foundry/storage';
const outDir = resolve(process.argv[2] ?? 'media-foundry-out');

const jobId = `backend-${randomUUID()}`;
// under jobs/<job_id>/: if we never collect the job, the services' storage sweeper removes it
const inputKey = `jobs/${jobId}/input/clip.mp4`;
const inputPath = join(STORAGE_DIR, ...inputKey.split('/'));
mkdirSync(dirname(inputPath), { recursive: true });
// prettier-ignore
execFileSync('ffmpeg', [
  '-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25:duration=6',
  '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', inputPath,
]);

const connection = await amqplib.connect(AMQP_URL);
try {
  // a confirm channel: the broker acknowledges each publish once it has taken it
  const channel = await connection.createConfirmChannel();
  // replies come to a private queue of ours (consume before publishing: the first reply may be quick)
  const { queue: replyQueue } = await channel.assertQueue('', { exclusive: true });
  const final = new Promise((resolveFinal) => {
    void channel.consume(
      replyQueue,
      (msg) => {
        const reply = JSON.parse(msg.content.toString('utf8'));
        if (reply.job_id !== jobId) return;
        if (reply.type === 'progress') console.log(`${jobId}: ${reply.stage} ${reply.percentage.toFixed(0)}%`);
        else resolveFinal(reply);
      },
      { noAck: true },
    );
  });

  // `mandatory`: a job the broker cannot route (the intake queue does not exist yet) comes back
  // as a `return` instead of being dropped without a word; the confirm follows the return
  let returned = false;
  channel.on('return', () => (returned = true));
  const job = {
    job_id: jobId,
    tenant: 'example-backend',
    operation: 'thumbnail',
    options: { count: 2, format: 'jpeg', width: 320 },
    inputs: [{ source: 'storage', key: inputKey, filename: 'clip.mp4' }],
    submitted_at: new Date().toISOString(),
  };
  channel.publish('', `${PREFIX}.jobs`, Buffer.from(JSON.stringify(job)), {
    mandatory: true,
    persistent: true,
    contentType: 'application/json',
    replyTo: replyQueue,
    correlationId: jobId,
  });
  await channel.waitForConfirms();
  if (returned) {
    rmSync(join(STORAGE_DIR, 'jobs', jobId), { recursive: true, force: true });
    throw new Error(`job not routed: queue ${PREFIX}.jobs does not exist (start the services first, or declare it as docs/AMQP.md says)`);
  }
  console.log(`${jobId}: published and confirmed`);

  const reply = await final;
  if (reply.type === 'error') throw new Error(`${jobId}: ${reply.code}: ${reply.message}${reply.details ? ` (${reply.details})` : ''}`);
  // the outputs wait in storage under their keys: copy them out, then remove the job's files
  mkdirSync(join(outDir, jobId), { recursive: true });
  for (const output of reply.outputs) {
    const saved = join(outDir, jobId, output.filename);
    copyFileSync(join(STORAGE_DIR, ...output.key.split('/')), saved);
    console.log(`${jobId}: saved ${saved} (${output.size_bytes} bytes, ${output.content_type}, key ${output.key})`);
  }
  rmSync(join(STORAGE_DIR, 'jobs', jobId), { recursive: true, force: true });
} finally {
  await connection.close();
}
