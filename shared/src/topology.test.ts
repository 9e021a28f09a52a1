import { loadConfig } from './config.js';
import { jobsQueueArguments, minimumConsumerTimeoutMs, RABBITMQ_DEFAULT_CONSUMER_TIMEOUT_MS, topology } from './topology.js';

describe('topology', () => {
  it('prefixes every name', () => {
    const t = topology('acme');
    expect([t.jobsQueue, t.deadLetterExchange, t.deadLetterQueue, t.controlExchange, t.replyQueue('g1', 'c1')]).toEqual([
      'acme.jobs',
      'acme.jobs.dlx',
      'acme.jobs.dead',
      'acme.control',
      'acme.reply.g1.c1',
    ]);
  });

  it('declares the jobs queue as a quorum queue that dead-letters after the delivery limit', () => {
    const t = topology('media');
    expect(jobsQueueArguments(t, 3)).toEqual({
      'x-queue-type': 'quorum',
      'x-delivery-limit': 3,
      'x-dead-letter-exchange': 'media.jobs.dlx',
      'x-dead-letter-routing-key': 'media.jobs.dead',
    });
  });
});

describe('consumer timeout', () => {
  it('must outlast the longest job: download plus ffmpeg plus a margin', () => {
    expect(minimumConsumerTimeoutMs({ FFMPEG_TIMEOUT_SECONDS: 600, URL_FETCH_TIMEOUT_SECONDS: 300 })).toBe(960_000);
  });

  it("fits within RabbitMQ's default with the default configuration", () => {
    // so a stock broker works out of the box; longer jobs need consumer_timeout raised (docs/DEPLOYMENT.md)
    expect(minimumConsumerTimeoutMs(loadConfig({}))).toBeLessThan(RABBITMQ_DEFAULT_CONSUMER_TIMEOUT_MS);
    expect(minimumConsumerTimeoutMs(loadConfig({ FFMPEG_TIMEOUT_SECONDS: '3600' }))).toBeGreaterThan(RABBITMQ_DEFAULT_CONSUMER_TIMEOUT_MS);
  });
});
