import { parseClientMessage } from './client-message.js';
import { ConfigError } from './config.js';
import { loadWorkerConfig } from './config/worker.js';
import { jobMessage } from './jobs.js';

const start = (webhook: unknown) =>
  JSON.stringify({ type: 'start_job', operation: 'probe', input: { source: 'url', url: 'https://m.example.com/a.mp4' }, webhook });

describe('webhook in start_job', () => {
  it('takes a url and optional events', () => {
    const parsed = parseClientMessage(start({ url: 'https://hooks.example.com/a', events: ['completed', 'stage'] }));
    expect(parsed.ok && parsed.message.type === 'start_job' && parsed.message.webhook).toEqual({
      url: 'https://hooks.example.com/a',
      events: ['completed', 'stage'],
    });
  });

  it.each([
    ['an ftp URL', { url: 'ftp://hooks.example.com/a' }, 'webhook.url'],
    ['no events', { url: 'https://hooks.example.com/a', events: [] }, 'webhook.events'],
    ['an unknown event', { url: 'https://hooks.example.com/a', events: ['done'] }, 'webhook.events'],
    ['an event twice', { url: 'https://hooks.example.com/a', events: ['failed', 'failed'] }, 'webhook.events'],
    ['an unknown field', { url: 'https://hooks.example.com/a', secret: 'x' }, 'webhook'],
    ['a URL over 2048 characters', { url: `https://hooks.example.com/${'a'.repeat(2100)}` }, 'webhook.url'],
  ])('refuses %s (VALIDATION_ERROR naming %j)', (_name, webhook, field) => {
    const parsed = parseClientMessage(start(webhook));
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) {
      expect(parsed.error.code).toBe('VALIDATION_ERROR');
      expect(parsed.error.details).toContain(field);
    }
  });
});

describe('webhook in the AMQP job message', () => {
  const job = { job_id: 'j1', operation: 'probe', options: {}, inputs: [{ source: 'url', url: 'https://m.example.com/a.mp4' }] };

  it('carries the id the payload names the job by', () => {
    const parsed = jobMessage.parse({ ...job, webhook: { url: 'https://hooks.example.com/a', job_id: 'clip-42' } });
    expect(parsed.webhook).toEqual({ url: 'https://hooks.example.com/a', job_id: 'clip-42' });
  });

  it('refuses a webhook that is not http(s)', () => {
    expect(jobMessage.safeParse({ ...job, webhook: { url: 'file:///etc/passwd' } }).success).toBe(false);
  });
});

describe('webhook config', () => {
  it('has no secret, no allow-list and 6 attempts from 20 s by default', () => {
    const c = loadWorkerConfig({});
    expect(c.webhookSecret).toBeUndefined();
    expect(c.webhookAllowlist).toEqual([]);
    expect([c.webhookTimeoutMs, c.webhookMaxAttempts, c.webhookRetryBaseMs]).toEqual([10_000, 6, 20_000]);
  });

  it('takes fractions of a second for the retry base, and a list of hosts and networks', () => {
    const c = loadWorkerConfig({ WEBHOOK_RETRY_BASE_SECONDS: '0.5', WEBHOOK_ALLOWLIST: '127.0.0.1, hooks.internal,10.0.0.0/8' });
    expect(c.webhookRetryBaseMs).toBe(500);
    expect(c.webhookAllowlist).toEqual(['127.0.0.1', 'hooks.internal', '10.0.0.0/8']);
  });

  it('refuses a short secret and impossible schedules, all at once', () => {
    expect(() =>
      loadWorkerConfig({
        WEBHOOK_SECRET: 'short',
        WEBHOOK_MAX_ATTEMPTS: '0',
        WEBHOOK_RETRY_BASE_SECONDS: '-1',
        WEBHOOK_TIMEOUT_SECONDS: '0',
      }),
    ).toThrow(ConfigError);
    try {
      loadWorkerConfig({
        WEBHOOK_SECRET: 'short',
        WEBHOOK_MAX_ATTEMPTS: '0',
        WEBHOOK_RETRY_BASE_SECONDS: '-1',
        WEBHOOK_TIMEOUT_SECONDS: '0',
      });
    } catch (err) {
      expect((err as ConfigError).problems.map((p) => p.split(':')[0])).toEqual(
        expect.arrayContaining(['WEBHOOK_SECRET', 'WEBHOOK_MAX_ATTEMPTS', 'WEBHOOK_RETRY_BASE_SECONDS', 'WEBHOOK_TIMEOUT_SECONDS']),
      );
    }
  });
});
