import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseAllowlist } from '@media-foundry/shared/node';
import type { WebhookTask } from './events.js';
import { sendWebhook } from './sender.js';
import { verifySignature } from './signature.js';

const secret = 'a-webhook-secret-of-32-characters!';
const loopback = parseAllowlist(['127.0.0.1']);

let server: Server;
let base: string;
let answer: (req: IncomingMessage, res: ServerResponse) => void;
const seen: { headers: IncomingMessage['headers']; body: string; method: string }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), method: req.method ?? '' });
      answer(req, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});
beforeEach(() => {
  seen.length = 0;
});

function task(path = '/hook'): WebhookTask {
  return {
    id: '11111111-2222-3333-4444-555555555555',
    event: 'completed',
    url: `${base}${path}`,
    job_id: 'clip-42',
    body: '{"type":"completed","job_id":"clip-42"}',
    attempts: 0,
    created_at: new Date().toISOString(),
  };
}
const options = { secret, timeoutMs: 2000, allowlist: loopback };

describe('sendWebhook', () => {
  it('posts the body, signed, with the event id, event and attempt', async () => {
    answer = (_req, res) => res.writeHead(204).end();
    const result = await sendWebhook(task(), 2, options);
    expect(result).toEqual({ verdict: 'delivered', status: 204 });
    expect(seen).toHaveLength(1);
    const [got] = seen;
    expect(got!.method).toBe('POST');
    expect(got!.body).toBe(task().body);
    expect(got!.headers['content-type']).toBe('application/json');
    expect(got!.headers['mediafoundry-event-id']).toBe(task().id);
    expect(got!.headers['mediafoundry-event']).toBe('completed');
    expect(got!.headers['mediafoundry-attempt']).toBe('2');
    const signed = String(got!.headers['mediafoundry-signature']);
    const now = Math.floor(Date.now() / 1000);
    expect(verifySignature(secret, signed, got!.body, now, { eventId: task().id })).toBe(true);
    expect(verifySignature(secret, signed, got!.body, now)).toBe(true); // v1, for receivers written against it
  });

  it('retries on 5xx, not on 4xx, and never follows a redirect', async () => {
    answer = (_req, res) => res.writeHead(503).end('busy');
    expect(await sendWebhook(task(), 1, options)).toEqual({ verdict: 'retry', status: 503 });
    answer = (_req, res) => res.writeHead(404).end();
    expect(await sendWebhook(task(), 1, options)).toEqual({ verdict: 'rejected', status: 404 });
    answer = (_req, res) => res.writeHead(302, { location: `${base}/elsewhere` }).end();
    expect(await sendWebhook(task(), 1, options)).toEqual({ verdict: 'rejected', status: 302 });
    expect(seen.map((s) => s.body)).toHaveLength(3);
  });

  it('gives up an attempt with no answer in time (retried)', async () => {
    answer = () => {}; // never answers
    const result = await sendWebhook(task(), 1, { ...options, timeoutMs: 300 });
    expect(result.verdict).toBe('retry');
    expect(result.error).toMatch(/no answer within 0.3s/);
  });

  it('retries a refused connection', async () => {
    const result = await sendWebhook({ ...task(), url: 'http://127.0.0.1:1/hook' }, 1, options);
    expect(result.verdict).toBe('retry');
  });

  it('refuses loopback without the allow-list, by literal IP and by name, before any request', async () => {
    answer = (_req, res) => res.writeHead(204).end();
    const none = parseAllowlist([]);
    expect((await sendWebhook(task(), 1, { ...options, allowlist: none })).verdict).toBe('blocked');
    const byName = { ...task(), url: task().url.replace('127.0.0.1', 'localhost') };
    expect((await sendWebhook(byName, 1, { ...options, allowlist: none })).verdict).toBe('blocked');
    expect(seen).toHaveLength(0);
  });

  it('refuses what is not http(s)', async () => {
    expect((await sendWebhook({ ...task(), url: 'ftp://127.0.0.1/x' }, 1, options)).verdict).toBe('rejected');
  });
});
