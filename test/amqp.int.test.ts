/**
 * docs/AMQP.md, held to what the services do: the Node (amqplib) and Python
 * (pika) examples run against a real stack and their saved outputs are
 * probed; `mandatory` makes a job published before the topology exists fail
 * loudly; and each reply the page lists for a bad job — INVALID_JSON,
 * VALIDATION_ERROR for `delivery_method: "url"` or a loopback URL — and what
 * happens to a dead-lettered job are observed on a publisher's own reply queue.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import amqplib from 'amqplib';
import { execa } from 'execa';
import { ffprobe, makeTestVideo } from './helpers/media.js';
import { ROOT } from './helpers/paths.js';
import { AMQP_URL } from './helpers/stack.js';
import { waitFor } from './helpers/wait.js';
import { useSuite } from './helpers/suite.js';

/** Debian's python3 (where apt's python3-pika lives) rather than whatever python3 comes first on PATH. */
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

const { dir, stack } = useSuite({ name: 'amqp', files: false, client: false });

/** Runs an example as a user would, with the stack's AMQP_URL, QUEUE_PREFIX and STORAGE_DIR. */
function example(command: string, script: string, out: string, prefix = stack.prefix) {
  return execa(command, [join(ROOT, 'examples', script), out], {
    cwd: dir,
    env: { AMQP_URL, QUEUE_PREFIX: prefix, STORAGE_DIR: stack.storageDir },
    timeout: 180_000,
    reject: false,
  });
}

/** Whatever is left of the example's job in storage (the examples remove it once they have the outputs). */
async function jobsLeft(): Promise<string[]> {
  return readdir(join(stack.storageDir, 'jobs')).catch(() => []);
}

describe('the examples in docs/AMQP.md', () => {
  it('Node (amqplib): a thumbnail job from a file in storage, outputs read from their keys', async () => {
    const out = join(dir, 'node-out');
    const run = await example(process.execPath, 'amqp-publish.mjs', out);
    expect(run.stderr).toBe('');
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toMatch(/published and confirmed/);
    const [jobDir] = await readdir(out);
    expect((await readdir(join(out, jobDir!))).sort()).toEqual(['thumbnail_001.jpeg', 'thumbnail_002.jpeg']);
    for (const name of await readdir(join(out, jobDir!)))
      expect((await ffprobe(join(out, jobDir!, name))).video).toMatchObject({ codec_name: 'mjpeg', width: 320 });
    expect(run.stdout).toContain(`key jobs/${jobDir}/output/thumbnail_001.jpeg`);
    expect(await jobsLeft()).not.toContain(jobDir);
  });

  it('Python (pika): an extract_audio job, the MP3 read from its key', async () => {
    const out = join(dir, 'python-out');
    const run = await example(PYTHON, 'amqp_publish.py', out);
    expect(run.stderr).toBe('');
    expect(run.exitCode).toBe(0);
    const [jobDir] = await readdir(out);
    const files = await readdir(join(out, jobDir!));
    expect(files).toHaveLength(1);
    const mp3 = await ffprobe(join(out, jobDir!, files[0]!));
    expect(mp3.audio).toMatchObject({ codec_name: 'mp3' });
    expect(Math.abs(mp3.duration - 8)).toBeLessThan(0.5);
    expect(await jobsLeft()).not.toContain(jobDir);
  });

  it.each([
    ['Node', process.execPath, 'amqp-publish.mjs'],
    ['Python', PYTHON, 'amqp_publish.py'],
  ])('%s: a job published before the intake queue exists comes back (mandatory) and the example says so', async (_lang, cmd, script) => {
    const run = await example(cmd, script, join(dir, 'nowhere'), `${stack.prefix}-absent`);
    expect(run.exitCode).not.toBe(0);
    expect(run.stderr).toContain(`job not routed: queue ${stack.prefix}-absent.jobs does not exist`);
  });
});

describe('replies to a publisher', () => {
  let conn: amqplib.ChannelModel;
  let ch: amqplib.ConfirmChannel;
  let replyQueue: string;
  const replies: Record<string, unknown>[] = [];

  beforeAll(async () => {
    conn = await amqplib.connect(AMQP_URL);
    ch = await conn.createConfirmChannel();
    replyQueue = (await ch.assertQueue('', { exclusive: true })).queue;
    await ch.consume(replyQueue, (m) => m && replies.push(JSON.parse(m.content.toString()) as Record<string, unknown>), { noAck: true });
  });
  afterAll(async () => {
    await conn?.close();
  });

  async function publish(body: Buffer | object, jobId: string, exchange = '', routingKey = `${stack.prefix}.jobs`) {
    ch.publish(exchange, routingKey, Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body)), {
      mandatory: true,
      persistent: true,
      contentType: 'application/json',
      replyTo: replyQueue,
      correlationId: jobId,
    });
    await ch.waitForConfirms();
  }
  async function finalReply(jobId: string) {
    await waitFor(() => replies.some((r) => r.job_id === jobId && r.type !== 'progress'), 60_000, `a final reply to ${jobId}`);
    return replies.find((r) => r.job_id === jobId && r.type !== 'progress')!;
  }
  const job = (jobId: string, extra: object = {}) => ({
    job_id: jobId,
    operation: 'probe',
    options: {},
    inputs: [{ source: 'url', url: 'https://media.example.com/in.mp4' }],
    ...extra,
  });

  it('stores the one small output of a binary job with a reply_to under its key (the publisher reads it there)', async () => {
    // gateways get such an output with the reply and it may be kept only in the result; a publisher reads keys
    const jobId = 'lone-thumbnail';
    const inputKey = `jobs/${jobId}/input/clip.mp4`;
    await mkdir(join(stack.storageDir, `jobs/${jobId}/input`), { recursive: true });
    await makeTestVideo(join(stack.storageDir, inputKey), { seconds: 2 });
    await publish(
      job(jobId, {
        operation: 'thumbnail',
        options: { timestamp: 1 },
        inputs: [{ source: 'storage', key: inputKey, filename: 'clip.mp4' }],
      }),
      jobId,
    );
    const reply = await finalReply(jobId);
    expect(reply).toMatchObject({ type: 'completed', outputs: [{ filename: 'thumbnail.png' }] });
    expect(reply).not.toHaveProperty('inline');
    const [output] = reply.outputs as { key: string; size_bytes: number }[];
    const png = await readFile(join(stack.storageDir, output!.key));
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    expect(png.length).toBe(output!.size_bytes);
  });

  it('answers a body that is not JSON with INVALID_JSON', async () => {
    await publish(Buffer.from('{"job_id": "broken"'), 'not-json');
    expect(await finalReply('not-json')).toMatchObject({ type: 'error', code: 'INVALID_JSON' });
  });

  it('answers a missing required field with VALIDATION_ERROR naming it', async () => {
    await publish({ job_id: 'no-inputs', operation: 'probe', options: {} }, 'no-inputs');
    const reply = await finalReply('no-inputs');
    expect(reply).toMatchObject({ type: 'error', code: 'VALIDATION_ERROR' });
    expect(reply.details).toMatch(/inputs/);
  });

  it('refuses delivery_method "url" with VALIDATION_ERROR instead of ignoring it', async () => {
    await publish(job('by-url', { delivery_method: 'url' }), 'by-url');
    const reply = await finalReply('by-url');
    expect(reply).toMatchObject({ type: 'error', code: 'VALIDATION_ERROR' });
    expect(reply.details).toMatch(/^delivery_method: "url" is for WebSocket clients/);
  });

  it('refuses a URL input on loopback by name with VALIDATION_ERROR, before fetching', async () => {
    await publish(job('loopback', { inputs: [{ source: 'url', url: 'http://localhost:9/in.mp4' }] }), 'loopback');
    const reply = await finalReply('loopback');
    expect(reply).toMatchObject({ type: 'error', code: 'VALIDATION_ERROR' });
    expect(reply.details).toBe('inputs[0].url: localhost is a loopback name (URL_ALLOWLIST may allow it)');
  });

  it('answers a dead-lettered job with JOB_FAILED on its reply_to and takes it off the dead-letter queue', async () => {
    // what RabbitMQ does once a job's deliveries pass JOB_DELIVERY_LIMIT (reliability.int.test.ts kills real workers for it)
    await publish(job('poison'), 'poison', `${stack.prefix}.jobs.dlx`, `${stack.prefix}.jobs.dead`);
    expect(await finalReply('poison')).toMatchObject({
      type: 'error',
      code: 'JOB_FAILED',
      message: 'Job abandoned after repeated worker failures',
    });
    await waitFor(async () => (await ch.checkQueue(`${stack.prefix}.jobs.dead`)).messageCount === 0, 10_000, 'an empty dead-letter queue');
    await waitFor(
      () =>
        stack.workers[0]!.logs.some((l) => l.msg === 'job dead-lettered' && l.job_id === 'poison' && String(l.body).includes('"poison"')),
      10_000,
      'the dead-lettered job logged with its body',
    );
  });
});
