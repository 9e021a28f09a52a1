import {
  type GatewayConfig,
  type ControlMessage,
  INLINE_OUTPUT_HEADER,
  type JobMessage,
  type ReplyExchangeMessage,
  type Topology,
} from '@media-foundry/shared';
import { type Broker, type ChannelWrapper, declareJobTopology } from '@media-foundry/shared/node';

/**
 * The gateway's publishing channel, with publisher confirms: jobs into their
 * tenant's queue (a publish resolves only on the broker's confirm), control
 * broadcasts to the workers, and notices to other gateways on the reply
 * exchange.
 */
export class JobPublisher {
  private readonly channel: ChannelWrapper;
  /** SMALL_OUTPUTS_IN_RESULT: each job asks for its small output inside its result (INLINE_OUTPUT_HEADER). */
  private readonly jobHeaders: Record<string, unknown>;

  constructor(
    broker: Broker,
    private readonly topology: Topology,
    config: Pick<GatewayConfig, 'jobDeliveryLimit' | 'publishTimeoutMs' | 'smallOutputsInResult'>,
  ) {
    this.jobHeaders = config.smallOutputsInResult ? { [INLINE_OUTPUT_HEADER]: true } : {};
    this.channel = broker.channel({
      name: 'jobs-publisher',
      confirm: true,
      // While RabbitMQ is away publishes wait this long, then reject: the client gets SUBMIT_FAILED.
      publishTimeout: config.publishTimeoutMs,
      setup: (ch: Parameters<typeof declareJobTopology>[0]) => declareJobTopology(ch, topology, config.jobDeliveryLimit),
    });
  }

  /**
   * Publishes a job into `queue` (its tenant's), persistent; resolves on the broker's confirm. A small output
   * comes back with the reply: with SMALL_OUTPUTS_IN_RESULT this gateway asks for no object of its own for it.
   */
  async publish(queue: string, job: JobMessage, traceparent?: string): Promise<void> {
    await this.channel.sendToQueue(queue, Buffer.from(JSON.stringify(job)), {
      persistent: true,
      contentType: 'application/json',
      correlationId: job.job_id,
      messageId: job.job_id,
      timestamp: Math.floor(Date.now() / 1000),
      headers: { ...(traceparent ? { traceparent } : {}), ...this.jobHeaders },
    });
  }

  /** Broadcasts a control message (a cancellation, "this tenant has work") to every worker. */
  async broadcast(message: ControlMessage): Promise<void> {
    await this.channel.publish(this.topology.controlExchange, '', Buffer.from(JSON.stringify(message)), {
      contentType: 'application/json',
    });
  }

  /** A notice to the gateways following `routingKey` on the reply exchange. */
  async notify(routingKey: string, message: ReplyExchangeMessage): Promise<void> {
    await this.channel.publish(this.topology.replyExchange, routingKey, Buffer.from(JSON.stringify(message)), {
      contentType: 'application/json',
    });
  }

  close(): Promise<void> {
    return this.channel.close();
  }
}
