import { loadWorkerConfig } from './config/worker.js';
import { jobId } from './protocol.js';
import {
  jobsQueueArguments,
  minimumConsumerTimeoutMs,
  RABBITMQ_DEFAULT_CONSUMER_TIMEOUT_MS,
  tenantQueueArguments,
  topology,
} from './topology.js';

describe('topology', () => {
  it('prefixes every name', () => {
    const t = topology('acme');
    expect([
      t.jobsQueue,
      t.tenantQueue('00ff00ff00ff00ff'),
      t.deadLetterExchange,
      t.deadLetterQueue,
      t.controlExchange,
      t.replyExchange,
      t.gatewayReplyQueue('g1'),
      t.sweeperLease,
    ]).toEqual([
      'acme.jobs',
      'acme.tenant.00ff00ff00ff00ff',
      'acme.jobs.dlx',
      'acme.jobs.dead',
      'acme.control',
      'acme.replies',
      'acme.gateway.g1',
      'acme.storage-sweeper',
    ]);
    expect(t.tenantQueue('abc').startsWith(t.tenantQueuePrefix)).toBe(true);
  });

  it('routes tenant events under keys no job id can take', () => {
    const key = topology('media').tenantEventsKey('00ff00ff00ff00ff');
    expect(jobId.safeParse(key).success).toBe(false);
  });

  it("gives tenant queues the jobs queue's arguments plus an idle expiry", () => {
    const t = topology('media');
    expect(tenantQueueArguments(t, 3, 60_000)).toEqual({ ...jobsQueueArguments(t, 3), 'x-expires': 60_000 });
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
  it('must outlast the longest job: download, ffmpeg, four steps of retries, and a margin', () => {
    expect(minimumConsumerTimeoutMs({ ffmpegTimeoutMs: 600_000, urlFetchTimeoutMs: 300_000, transientRetryMs: 60_000 })).toBe(1_200_000);
  });

  it("fits within RabbitMQ's default with the default configuration", () => {
    // so a stock broker works out of the box; longer jobs need consumer_timeout raised (docs/DEPLOYMENT.md)
    expect(minimumConsumerTimeoutMs(loadWorkerConfig({}))).toBeLessThan(RABBITMQ_DEFAULT_CONSUMER_TIMEOUT_MS);
    expect(minimumConsumerTimeoutMs(loadWorkerConfig({ FFMPEG_TIMEOUT_SECONDS: '3600' }))).toBeGreaterThan(
      RABBITMQ_DEFAULT_CONSUMER_TIMEOUT_MS,
    );
  });
});
