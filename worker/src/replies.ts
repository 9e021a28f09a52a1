import {
  errors,
  jobId as jobIdSchema,
  jsonField,
  type JobReply,
  type OutputsByKey,
  type RelayedCompletedReply,
  type ReplyExchangeMessage,
  type Topology,
} from '@media-foundry/shared';
import type { Broker, ChannelWrapper } from '@media-foundry/shared/node';

/** Where a job's replies go: always the reply exchange (job id as key); also `reply_to` when the publisher named one. */
export interface ReplyRoute {
  jobId: string;
  replyTo?: string | undefined;
}

/**
 * The id to answer a job message by when the worker will not run it (refused,
 * invalid, dead-lettered): the body's `job_id` when it has a valid one — what
 * every other reply of the job carries, and what publishers key on — else the
 * message's `correlation_id`, else its `message_id`.
 */
export function answerJobId(message: { content: Buffer; properties: { correlationId?: unknown; messageId?: unknown } }): string {
  const own = jsonField(jobIdSchema, message.content.toString('utf8'), 'job_id');
  return own ?? String(message.properties.correlationId ?? message.properties.messageId ?? 'unknown');
}

/**
 * Publishes replies with publisher confirms: to the reply exchange, where
 * whichever gateway follows the job has bound its queue, and to the queue a
 * backend named in `reply_to`. A reply the broker does not confirm in time is
 * a transient failure (the caller retries).
 */
export class ReplyPublisher {
  private readonly channel: ChannelWrapper;

  constructor(
    broker: Broker,
    private readonly topology: Topology,
    publishTimeoutMs: number,
  ) {
    this.channel = broker.channel({
      name: 'replies',
      confirm: true,
      publishTimeout: publishTimeoutMs,
      setup: async (ch: Parameters<NonNullable<Parameters<Broker['channel']>[0]['setup']>>[0]) => {
        await ch.assertExchange(topology.replyExchange, 'direct', { durable: true });
      },
    });
  }

  /**
   * Resolves once the broker confirmed the reply everywhere it goes. `inline`
   * output bytes (base64 by storage key) ride along with a completed reply on the
   * reply exchange, for the gateways (`relayedCompletedReply`), never to `reply_to`.
   */
  async send(route: ReplyRoute, reply: JobReply, inline?: OutputsByKey): Promise<void> {
    const body = Buffer.from(JSON.stringify(reply));
    const relayed =
      reply.type === 'completed' && inline && Object.keys(inline).length > 0
        ? Buffer.from(JSON.stringify({ ...reply, inline } satisfies RelayedCompletedReply))
        : body;
    const properties = { correlationId: reply.job_id, contentType: 'application/json' };
    try {
      await Promise.all([
        this.channel.publish(this.topology.replyExchange, route.jobId, relayed, properties),
        ...(route.replyTo ? [this.channel.sendToQueue(route.replyTo, body, properties)] : []),
      ]);
    } catch (err) {
      throw errors.transient('Could not publish the reply', `RabbitMQ did not confirm it: ${(err as Error).message}`, err);
    }
  }

  /** A notice for gateways on the reply exchange (best effort: not confirmed). */
  notify(routingKey: string, message: ReplyExchangeMessage): Promise<void> {
    return this.channel
      .publish(this.topology.replyExchange, routingKey, Buffer.from(JSON.stringify(message)), { contentType: 'application/json' })
      .then(() => undefined);
  }

  close(): Promise<void> {
    return this.channel.close();
  }
}
