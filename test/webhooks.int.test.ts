/**
 * Webhooks end to end (client or AMQP backend → gateway → RabbitMQ → worker →
 * a local HTTP receiver, allow-listed on loopback): the payload and headers,
 * the signature checked with the very recipes docs/WEBHOOKS.md prints (Node,
 * and Python run with python3), retries with backoff and one idempotency id
 * on 5xx, a single attempt on 4xx, refusals at submit, and a job's own reply
 * unaffected by a receiver that never answers. Jobs are `probe`s of a 1 s
 * clip, so the webhook is all there is to wait for.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { connectBackend, type Backend } from './helpers/backend.js';
import { makeTestVideo } from './helpers/media.js';
import { ROOT } from './helpers/paths.js';
import { waitFor } from './helpers/wait.js';
import { TestClient } from './helpers/ws-client.js';
import { useSuite } from './helpers/suite.js';

const SECRET = 'test-webhook-secret-0123456789abcdef';
/** WEBHOOK_RETRY_BASE_SECONDS of this stack: retries after 1 s, then 2 s. */
const BASE_MS = 1000;

interface Hit {
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  at: number;
}

/**
 * A receiver whose behaviour is the first path segment: `ok` answers 204,
 * `flaky` 500 twice then 200, `gone` 404, `hang` never answers.
 */
class Receiver {
  readonly hits: Hit[] = [];
  private readonly server: Server;
  private readonly seen = new Map<string, number>();
  base = '';

  constructor() {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const path = req.url ?? '/';
        this.hits.push({ path, headers: req.headers, body: Buffer.concat(chunks), at: Date.now() });
        const count = (this.seen.get(path) ?? 0) + 1;
        this.seen.set(path, count);
        const kind = path.split('/')[1];
        if (kind === 'ok') res.writeHead(204).end();
        else if (kind === 'flaky') res.writeHead(count <= 2 ? 500 : 200).end();
        else if (kind === 'gone') res.writeHead(404).end();
        else if (kind !== 'hang') res.writeHead(400).end();
      });
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  url(path: string): string {
    return `${this.base}${path}`;
  }

  at(path: string): Hit[] {
    return this.hits.filter((h) => h.path === path);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }
}

let receiver: Receiver;
let backend: Backend;

afterAll(async () => {
  // before the stack stops (after-all hooks run in the order they are declared)
  await backend?.close();
});
const { files, stack, client } = useSuite({
  name: 'webhooks',
  fixtures: (dir) => makeTestVideo(join(dir, 'clip.mp4'), { seconds: 1, width: 160, height: 120 }),
  stack: {
    env: {
      WEBHOOK_SECRET: SECRET,
      WEBHOOK_ALLOWLIST: '127.0.0.1',
      WEBHOOK_RETRY_BASE_SECONDS: String(BASE_MS / 1000),
      WEBHOOK_MAX_ATTEMPTS: '4',
      WEBHOOK_TIMEOUT_SECONDS: '2',
    },
  },
  timeoutMs: 120_000,
});
beforeAll(async () => {
  receiver = new Receiver();
  await receiver.start();
  backend = await connectBackend(stack.prefix);
});
afterAll(async () => {
  await receiver?.close();
});

function startProbe(jobId: string, webhook: unknown): void {
  client.send({ type: 'start_job', job_id: jobId, operation: 'probe', input: { source: 'url', url: files.url('clip.mp4') }, webhook });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A fenced block of docs/WEBHOOKS.md in `lang` that contains `marker`. */
async function docBlock(lang: string, marker: string): Promise<string> {
  const doc = await readFile(join(ROOT, 'docs', 'WEBHOOKS.md'), 'utf8');
  const block = [...doc.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]!).find((b) => b.includes(marker));
  if (!block) throw new Error(`docs/WEBHOOKS.md has no ${lang} block with ${marker}`);
  return block;
}

/** What the documented recipes say of `header` over event `eventId` with `body` (Node's and Python's answers). */
async function recipesVerify(header: string, eventId: string, body: Buffer, secret = SECRET): Promise<{ node: string; python: string }> {
  const work = await mkdtemp(join(tmpdir(), 'mf-recipes-'));
  try {
    await writeFile(join(work, 'body.bin'), body);
    await writeFile(join(work, 'recipe.mjs'), await docBlock('js', 'function verifyWebhook'));
    await writeFile(
      join(work, 'check.mjs'),
      "import { readFileSync } from 'node:fs';\nimport { verifyWebhook } from './recipe.mjs';\n" +
        'const [secret, header, eventId, file] = process.argv.slice(2);\nconsole.log(String(verifyWebhook(secret, header, eventId, readFileSync(file))));\n',
    );
    await writeFile(
      join(work, 'check.py'),
      (await docBlock('python', 'def verify_webhook')) +
        '\n\nimport sys\nprint(str(verify_webhook(sys.argv[1], sys.argv[2], sys.argv[3], open(sys.argv[4], "rb").read())).lower())\n',
    );
    const args = [secret, header, eventId, join(work, 'body.bin')];
    const node = await execa(process.execPath, [join(work, 'check.mjs'), ...args]);
    const python = await execa('python3', [join(work, 'check.py'), ...args]);
    return { node: node.stdout.trim(), python: python.stdout.trim() };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function workerMetrics(): Promise<string> {
  const port = stack.workers[0]!.logs.find((l) => l.msg === 'worker ready')!.health_port as number;
  return (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
}

/** Runs a probe with a webhook to the receiver's `path`: the job completes, and `attempts` deliveries reach it within `ms`. */
async function probeUntilDelivered(jobId: string, path: string, attempts: number, ms: number): Promise<void> {
  startProbe(jobId, { url: receiver.url(path) });
  expect((await client.result(jobId)).final.type).toBe('completed');
  await waitFor(() => receiver.at(path).length >= attempts, ms, `${attempts} attempt(s) at ${path}`);
}

describe('webhooks', () => {
  it('posts the final reply, signed so that the documented Node and Python recipes verify it', async () => {
    startProbe('hook-sig', { url: receiver.url('/ok/sig') });
    const { final } = await client.result('hook-sig');
    expect(final.type).toBe('completed');
    await waitFor(() => receiver.at('/ok/sig').length === 1, 30_000, 'the webhook');
    const hit = receiver.at('/ok/sig')[0]!;
    const payload = JSON.parse(hit.body.toString('utf8')) as Record<string, unknown>;
    // the reply as on a reply queue, under the client's own job id
    expect(payload).toMatchObject({ type: 'completed', job_id: 'hook-sig', output_metadata: final.output_metadata, outputs: [] });
    expect(hit.headers['content-type']).toBe('application/json');
    expect(hit.headers['mediafoundry-event']).toBe('completed');
    expect(hit.headers['mediafoundry-attempt']).toBe('1');
    expect(hit.headers['mediafoundry-event-id']).toMatch(/^[0-9a-f-]{36}$/);
    const header = String(hit.headers['mediafoundry-signature']);
    expect(header).toMatch(/^t=\d+,v1=[0-9a-f]{64},v2=[0-9a-f]{64}$/);
    const eventId = String(hit.headers['mediafoundry-event-id']);

    expect(await recipesVerify(header, eventId, hit.body)).toEqual({ node: 'true', python: 'true' });
    // and they refuse what was not signed so: another body, another secret, the same request under another event id
    const tampered = Buffer.from(hit.body.toString('utf8').replace('hook-sig', 'hook-sig2'));
    expect(await recipesVerify(header, eventId, tampered)).toEqual({ node: 'false', python: 'false' });
    expect(await recipesVerify(header, eventId, hit.body, 'another-secret-0123456789abcdef!!')).toEqual({ node: 'false', python: 'false' });
    const replayedAs = eventId.replace(/^./, (c) => (c === '0' ? '1' : '0'));
    expect(await recipesVerify(header, replayedAs, hit.body)).toEqual({ node: 'false', python: 'false' });
  }, 90_000);

  it('retries a receiver that answers 500 twice, with backoff, under one idempotency id', async () => {
    await probeUntilDelivered('hook-flaky', '/flaky/1', 3, 60_000);
    // a 200 ends it: nothing more comes after the next retry would have been due
    await sleep(3 * BASE_MS + 500);
    const hits = receiver.at('/flaky/1');
    expect(hits).toHaveLength(3);
    expect(new Set(hits.map((h) => h.headers['mediafoundry-event-id'])).size).toBe(1);
    expect(hits.map((h) => h.headers['mediafoundry-attempt'])).toEqual(['1', '2', '3']);
    expect(new Set(hits.map((h) => h.body.toString('utf8'))).size).toBe(1);
    // each retry waited at least its turn of the schedule (1 s, then 2 s): a retry queue cannot let it out sooner
    expect(hits[1]!.at - hits[0]!.at).toBeGreaterThanOrEqual(BASE_MS - 50);
    expect(hits[2]!.at - hits[1]!.at).toBeGreaterThanOrEqual(2 * BASE_MS - 50);
    // every attempt is signed afresh, and verifies
    expect(
      await recipesVerify(
        String(hits[2]!.headers['mediafoundry-signature']),
        String(hits[2]!.headers['mediafoundry-event-id']),
        hits[2]!.body,
      ),
    ).toEqual({
      node: 'true',
      python: 'true',
    });
    expect(await workerMetrics()).toMatch(/mf_webhook_deliveries_total\{[^}]*outcome="delivered"[^}]*\} [1-9]/);
  }, 90_000);

  it('tries a receiver that answers 404 exactly once', async () => {
    await probeUntilDelivered('hook-gone', '/gone/1', 1, 30_000);
    // longer than the first and second retry would have waited
    await sleep(3 * BASE_MS + 1000);
    expect(receiver.at('/gone/1')).toHaveLength(1);
    await waitFor(
      async () => /mf_webhook_deliveries_total\{[^}]*outcome="rejected"[^}]*\} 1/.test(await workerMetrics()),
      10_000,
      'the metric',
    );
  }, 60_000);

  it.each([
    'http://10.1.2.3/hook',
    'http://169.254.169.254/latest',
    'http://[::1]:8080/hook',
    'http://localhost:8080/hook',
    'ftp://example.com/x',
  ])('refuses a webhook to %s at submit with VALIDATION_ERROR', async (url) => {
    const id = `hook-private-${url.length}`;
    startProbe(id, { url });
    const reply = await client.next((m) => m.job_id === id);
    expect(reply).toMatchObject({ type: 'error', code: 'VALIDATION_ERROR' });
    expect(String(reply.details)).toMatch(/webhook/);
    // refused before anything was published: no ack follows
    await sleep(300);
    expect(client.messages(id).map((m) => m.type)).toEqual(['error']);
  });

  it('refuses every webhook at a gateway without WEBHOOK_SECRET (none is ever sent unsigned)', async () => {
    const unsigned = await stack.addGateway({ WEBHOOK_SECRET: '' });
    const other = await TestClient.connect(unsigned.wsUrl);
    try {
      other.startJob('hook-unsigned', 'probe', files.url('clip.mp4'), undefined, { webhook: { url: receiver.url('/ok/unsigned') } });
      const reply = await other.next((m) => m.job_id === 'hook-unsigned');
      expect(reply).toMatchObject({ type: 'error', code: 'VALIDATION_ERROR' });
      expect(String(reply.details)).toMatch(/WEBHOOK_SECRET/);
    } finally {
      await other.close();
      await unsigned.process.stop();
    }
  }, 60_000);

  it('posts stage changes too when asked, then the end', async () => {
    startProbe('hook-stages', { url: receiver.url('/ok/stages'), events: ['stage', 'completed'] });
    expect((await client.result('hook-stages')).final.type).toBe('completed');
    await waitFor(() => receiver.at('/ok/stages').some((h) => h.headers['mediafoundry-event'] === 'completed'), 30_000, 'the end');
    await sleep(500);
    const hits = receiver.at('/ok/stages');
    const stages = hits
      .filter((h) => h.headers['mediafoundry-event'] === 'stage')
      .map((h) => JSON.parse(h.body.toString('utf8')) as { stage: string });
    expect(stages.length).toBeGreaterThanOrEqual(1);
    // one event per change of stage, never two in a row for the same stage
    expect(stages.every((s, i) => i === 0 || s.stage !== stages[i - 1]!.stage)).toBe(true);
    expect(new Set(hits.map((h) => h.headers['mediafoundry-event-id'])).size).toBe(hits.length);
  }, 60_000);

  it('posts the end of a job submitted over AMQP, and refuses a private webhook there too', async () => {
    const id = `amqp-hook-${Date.now()}`;
    backend.publish({
      job_id: id,
      operation: 'probe',
      options: {},
      inputs: [{ source: 'url', url: files.url('clip.mp4') }],
      webhook: { url: receiver.url('/ok/amqp') },
    });
    const refused = `amqp-hook-private-${Date.now()}`;
    backend.publish({
      job_id: refused,
      operation: 'probe',
      options: {},
      inputs: [{ source: 'url', url: files.url('clip.mp4') }],
      webhook: { url: 'http://192.168.0.10/hook' },
    });
    await backend.confirmed();
    await backend.completed([id]);
    await waitFor(() => receiver.at('/ok/amqp').length === 1, 30_000, 'the webhook');
    expect(JSON.parse(receiver.at('/ok/amqp')[0]!.body.toString('utf8'))).toMatchObject({ type: 'completed', job_id: id });
    await waitFor(() => backend.replies.some((r) => r.job_id === refused), 30_000, 'the refusal');
    expect(backend.replies.find((r) => r.job_id === refused)).toMatchObject({ type: 'error', code: 'VALIDATION_ERROR' });
  }, 90_000);

  it('posts `cancelled` for a job cancelled while it runs', async () => {
    // the input is a URL of the receiver that never answers: the job waits in its download until cancelled
    client.startJob('hook-cancel', 'probe', receiver.url('/hang/input'), undefined, { webhook: { url: receiver.url('/ok/cancel') } });
    await waitFor(() => receiver.at('/hang/input').length === 1, 30_000, 'the download');
    client.send({ type: 'cancel_job', job_id: 'hook-cancel' });
    expect((await client.result('hook-cancel')).final).toMatchObject({ type: 'error', code: 'JOB_CANCELLED' });
    await waitFor(() => receiver.at('/ok/cancel').length === 1, 30_000, 'the webhook');
    const hit = receiver.at('/ok/cancel')[0]!;
    expect(hit.headers['mediafoundry-event']).toBe('cancelled');
    expect(JSON.parse(hit.body.toString('utf8'))).toMatchObject({ type: 'error', job_id: 'hook-cancel', code: 'JOB_CANCELLED' });
  }, 60_000);

  it('keeps a pending retry across a worker restart (it waits in RabbitMQ, not in the worker)', async () => {
    startProbe('hook-restart', { url: receiver.url('/flaky/restart') });
    expect((await client.result('hook-restart')).final.type).toBe('completed');
    await waitFor(() => receiver.at('/flaky/restart').length === 1, 30_000, 'the first attempt');
    // the only worker stops while the retry waits; a new one takes it up
    const old = stack.workers[0]!;
    await old.stop();
    stack.workers.splice(0, 1);
    const fresh = await stack.addWorker();
    await waitFor(() => receiver.at('/flaky/restart').length >= 3, 60_000, 'the retries');
    // the new worker, which never saw the job, made the attempt that got through
    await fresh.waitForLog((l) => l.msg === 'webhook delivered' && l.job_id === 'hook-restart', 10_000);
    const hits = receiver.at('/flaky/restart');
    expect(hits.map((h) => h.headers['mediafoundry-attempt'])).toEqual(['1', '2', '3']);
    expect(new Set(hits.map((h) => h.headers['mediafoundry-event-id'])).size).toBe(1);
  }, 90_000);

  it("sends the job's own reply although the receiver never answers", async () => {
    startProbe('hook-hang', { url: receiver.url('/hang/1') });
    expect((await client.result('hook-hang')).final.type).toBe('completed');
    await waitFor(() => receiver.at('/hang/1').length >= 1, 30_000, 'the attempt');
    // while that attempt hangs, another job of the same worker ends and replies as usual
    startProbe('hook-hang-2', { url: receiver.url('/hang/2') });
    expect((await client.result('hook-hang-2')).final.type).toBe('completed');
    await waitFor(() => receiver.at('/hang/2').length >= 1, 30_000, 'the second attempt');
  }, 60_000);
});
