/**
 * RabbitMQ names and queue arguments. Every name starts with QUEUE_PREFIX; the
 * gateway and the worker both declare the jobs queue, so its arguments live
 * here, once (a mismatch would be a PRECONDITION_FAILED at start-up).
 */
export interface Topology {
  /** Durable quorum queue every worker consumes. */
  jobsQueue: string;
  /** Where jobs go after JOB_DELIVERY_LIMIT failed deliveries (workers that died on them). */
  deadLetterExchange: string;
  deadLetterQueue: string;
  /** Fanout exchange every worker binds a private queue to: cancellations reach whichever worker holds a job. */
  controlExchange: string;
  /** A connection's reply queue, created on its first job and deleted when it closes. */
  replyQueue(gatewayId: string, connectionId: string): string;
}

export function topology(prefix: string): Topology {
  return {
    jobsQueue: `${prefix}.jobs`,
    deadLetterExchange: `${prefix}.jobs.dlx`,
    deadLetterQueue: `${prefix}.jobs.dead`,
    controlExchange: `${prefix}.control`,
    replyQueue: (gatewayId, connectionId) => `${prefix}.reply.${gatewayId}.${connectionId}`,
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
 * The least RabbitMQ `consumer_timeout` (ms) a deployment needs: a worker
 * holds a job unacked while it downloads (URL_FETCH_TIMEOUT_SECONDS) and runs
 * it (FFMPEG_TIMEOUT_SECONDS), plus a minute for probing and storing. A
 * smaller broker setting closes the worker's channel mid-job and the job is
 * redelivered, over and over.
 */
export function minimumConsumerTimeoutMs(config: { FFMPEG_TIMEOUT_SECONDS: number; URL_FETCH_TIMEOUT_SECONDS: number }): number {
  return (config.FFMPEG_TIMEOUT_SECONDS + config.URL_FETCH_TIMEOUT_SECONDS + 60) * 1000;
}

/** RabbitMQ's default `consumer_timeout`: 30 minutes. */
export const RABBITMQ_DEFAULT_CONSUMER_TIMEOUT_MS = 30 * 60 * 1000;

/** Reply queues vanish on their own this long after their gateway stops using them (crash safety net). */
export const REPLY_QUEUE_EXPIRES_MS = 5 * 60 * 1000;
