/**
 * RabbitMQ names and queue arguments. Every name starts with QUEUE_PREFIX; the
 * gateway and the worker both declare the jobs queue, so its arguments live
 * here, once (a mismatch would be a PRECONDITION_FAILED at start-up).
 */
export interface Topology {
  /**
   * The intake: a durable quorum queue backends publish jobs to. Workers
   * move each job on to its tenant's queue (gateways publish there directly).
   */
  jobsQueue: string;
  /** A tenant's waiting jobs (quorum, deleted by RabbitMQ when unused); workers take from the tenants' queues in turn. */
  tenantQueue(tenantKey: string): string;
  /** What every tenant queue's name starts with (autoscalers sum the queues matching it). */
  tenantQueuePrefix: string;
  /** Where jobs go after JOB_DELIVERY_LIMIT failed deliveries (workers that died on them). */
  deadLetterExchange: string;
  deadLetterQueue: string;
  /**
   * Fanout exchange every worker binds a private queue to: cancellations
   * reach whichever worker holds a job, "a tenant has work" wakes idle
   * workers, and workers tell each other what they run.
   */
  controlExchange: string;
  /** Direct exchange every reply is published to, with the job id as routing key. */
  replyExchange: string;
  /** Routing key, on the reply exchange, of a tenant's queue events (a job of its left the queue). */
  tenantEventsKey(tenantKey: string): string;
  /** A gateway's own reply queue (exclusive): bound to the ids of the jobs its connections follow. */
  gatewayReplyQueue(gatewayId: string): string;
  /** Never used for messages: the gateway whose connection holds it (exclusive) sweeps storage (gateway/src/sweep-lease.ts). */
  sweeperLease: string;
}

export function topology(prefix: string): Topology {
  return {
    jobsQueue: `${prefix}.jobs`,
    tenantQueue: (tenantKey) => `${prefix}.tenant.${tenantKey}`,
    tenantQueuePrefix: `${prefix}.tenant.`,
    deadLetterExchange: `${prefix}.jobs.dlx`,
    deadLetterQueue: `${prefix}.jobs.dead`,
    controlExchange: `${prefix}.control`,
    replyExchange: `${prefix}.replies`,
    // `@` cannot start a job id, so these keys never meet a job's replies
    tenantEventsKey: (tenantKey) => `@tenant.${tenantKey}`,
    gatewayReplyQueue: (gatewayId) => `${prefix}.gateway.${gatewayId}`,
    sweeperLease: `${prefix}.storage-sweeper`,
  };
}

/** Arguments of the jobs queue: quorum (replicated, counts deliveries), dead-lettered after `deliveryLimit` tries. */
export function jobsQueueArguments(t: Topology, deliveryLimit: number): Record<string, unknown> {
  return {
    'x-queue-type': 'quorum',
    'x-delivery-limit': deliveryLimit,
    'x-dead-letter-exchange': t.deadLetterExchange,
    'x-dead-letter-routing-key': t.deadLetterQueue,
  };
}

/**
 * Arguments of a tenant's queue: the jobs queue's (quorum, delivery limit,
 * dead-lettering) plus `x-expires`, so the queues of tenants that went away
 * do not pile up. On RabbitMQ 3.10 a quorum queue counts as used only while
 * it has a consumer or is read with basic.get — not by a declare, a passive
 * check or a publish (test/tenant-queues.int.test.ts) — and it is deleted,
 * with whatever it holds, `idleMs` after its last use. Workers take from a
 * tenant's queue whenever it is that tenant's turn, and at the latest when
 * one of its jobs ends: so `idleMs` must outlast the longest job
 * (the config checks it) and any time the service runs without workers.
 */
export function tenantQueueArguments(t: Topology, deliveryLimit: number, idleMs: number): Record<string, unknown> {
  return { ...jobsQueueArguments(t, deliveryLimit), 'x-expires': idleMs };
}

/**
 * The least RabbitMQ `consumer_timeout` (ms) a deployment needs: a worker
 * holds a job unacked while it downloads (URL_FETCH_TIMEOUT_SECONDS), runs it
 * (FFMPEG_TIMEOUT_SECONDS) and retries transient failures of its four
 * storage and broker steps (TRANSIENT_RETRY_SECONDS each), plus a minute for
 * probing and storing. A smaller broker setting closes the worker's channel
 * mid-job and the job is redelivered, over and over.
 */
export function minimumConsumerTimeoutMs(config: { ffmpegTimeoutMs: number; urlFetchTimeoutMs: number; transientRetryMs: number }): number {
  return config.ffmpegTimeoutMs + config.urlFetchTimeoutMs + 4 * config.transientRetryMs + 60_000;
}

/** RabbitMQ's default `consumer_timeout`: 30 minutes. */
export const RABBITMQ_DEFAULT_CONSUMER_TIMEOUT_MS = 30 * 60 * 1000;
