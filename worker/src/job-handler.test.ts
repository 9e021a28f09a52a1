import { AppError, type OutputsByKey, type WorkerConfig } from '@media-foundry/shared';
import { type JobStore, type Logger, parseAllowlist, type Storage } from '@media-foundry/shared/node';
import { thumbnailResult, useTempDir } from '@media-foundry/test-support';
import { type HandlerDeps, JobHandler, parseJob } from './job-handler.js';
import type { Delivery } from './scheduler/job-puller.js';

const body = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8');
const job = (url: string) => ({ job_id: 'j1', operation: 'probe', options: {}, inputs: [{ source: 'url', url }] });

describe('parseJob', () => {
  it('answers a body that is not JSON with INVALID_JSON', () => {
    const e = parseJob(Buffer.from('{"job_id":'));
    expect(e).toBeInstanceOf(AppError);
    expect((e as AppError).code).toBe('INVALID_JSON');
  });

  it('answers a message missing a required field with VALIDATION_ERROR naming it', () => {
    const e = parseJob(body({ job_id: 'j1', operation: 'probe', options: {} })) as AppError;
    expect(e.code).toBe('VALIDATION_ERROR');
    expect(e.details).toMatch(/inputs/);
  });

  it.each([
    ['localhost', 'http://localhost/a.mp4', 'localhost is a loopback name'],
    ['a literal loopback address', 'http://127.0.0.1:9/a.mp4', 'private or reserved address'],
    ['a literal link-local address (cloud metadata)', 'http://169.254.169.254/latest', 'private or reserved address'],
  ])('refuses a URL input naming %s with VALIDATION_ERROR before anything is fetched', (_what, url, why) => {
    const e = parseJob(body(job(url))) as AppError;
    expect(e.code).toBe('VALIDATION_ERROR');
    expect(e.details).toMatch(/^inputs\[0\]\.url: /);
    expect(e.details).toContain(why);
  });

  it('accepts such a URL when URL_ALLOWLIST names it, and a public one always', () => {
    expect(parseJob(body(job('http://127.0.0.1:9/a.mp4')), parseAllowlist(['127.0.0.1']))).not.toBeInstanceOf(AppError);
    expect(parseJob(body(job('https://media.example.com/a.mp4')))).not.toBeInstanceOf(AppError);
  });
});

describe('JobHandler, a job that finished before this delivery', () => {
  const tempDir = useTempDir('job-handler-test-');

  it('publishes its stored result again, with the output the result holds riding along, and acks', async () => {
    const { reply, inline } = thumbnailResult('j1');
    const sent: { reply: unknown; inline: OutputsByKey | undefined }[] = [];
    const writes: unknown[] = [];
    const logger = { error: () => {}, warn: () => {}, info: () => {}, debug: () => {}, child: () => logger } as unknown as Logger;
    const handler = new JobHandler({
      config: { urlAllowlist: [], transientRetryMs: 100, jobDeliveryLimit: 3 } as unknown as WorkerConfig,
      storage: {} as Storage,
      store: {
        readResult: () => Promise.resolve({ reply, finished_at: new Date().toISOString(), inline }),
        isCancelled: () => Promise.resolve(false),
        writeResult: (r: unknown) => (writes.push(r), Promise.resolve()),
        writeState: () => Promise.resolve(),
      } as unknown as JobStore,
      replies: { send: (_route: unknown, r: unknown, i?: OutputsByKey) => (sent.push({ reply: r, inline: i }), Promise.resolve()) },
      view: { heldEarlierElsewhere: () => false },
      metrics: {},
      logger,
      runner: { config: { tempDir: tempDir() }, storage: {} as Storage, allowlist: parseAllowlist([]) },
      webhooks: { finished: () => Promise.resolve(), stageChanged: () => {} },
      webhookAllowlist: parseAllowlist([]),
    } as unknown as HandlerDeps);
    let acked = 0;
    await handler.handle({
      message: { content: body(job('https://media.example.com/in.mp4')), properties: { headers: {} } },
      tenantKey: '0123456789abcdef',
      deliveryCount: 1,
      ack: () => void (acked += 1),
      requeue: () => {},
      live: true,
    } as unknown as Delivery);
    expect(sent).toEqual([{ reply, inline }]);
    expect(writes).toEqual([]); // the stored result stays as it is
    expect(acked).toBe(1);
  });
});
