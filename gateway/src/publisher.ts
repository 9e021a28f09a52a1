import {
  type GatewayConfig,
  type ControlMessage,
  INLINE_OUTPUT_HEADER,
  type JobMessage,
  type ReplyExchangeMessage,
  type Topology,
} from '@media-foundry/shared';
import { type AmqpOptions, type Broker, type ChannelWrapper, type ConfirmChannel, declareJobTopology } from '@media-foundry/shared/node';

/**
 * A job RabbitMQ returned unroutable: its tenant's queue does not exist (it
 * expired since it was declared). The job is not queued; declare the queue
 * again and publish once more.
 */
export class QueueMissingError extends Error {
  constructor(readonly queue: string) {
    super(`queue ${queue} does not exist`);
    this.name = 'QueueMissingError';
  }
}

/** amqplib's words for a basic.nack of a confirmed publish. */
const nacked = (err: unknown) => err instanceof Error && err.message === 'message nacked';

/**
 * The broker nacked a job: it could not take it just then (a quorum queue busy electing its leader, or full
 * under a max-length policy). Nothing was queued, and a copy would be harmless anyway (workers run a job id
 * once): worth publishing again.
 */
export class PublishNackedError extends Error {
  readonly kind = 'transient';
  constructor(readonly queue: string) {
    super(`RabbitMQ refused the job for queue ${queue} (nack)`);
    this.name = 'PublishNackedError';
  }
}

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
  /** Message ids of jobs the broker returned, until their publish settles (a return comes before its confirm). */
  private readonly returned = new Set<string>();

  private readonly publishTimeoutMs: number;

  constructor(
    private readonly broker: Broker,
    private readonly topology: Topology,
    config: Pick<GatewayConfig, 'jobDeliveryLimit' | 'publishTimeoutMs' | 'smallOutputsInResult'>,
  ) {
    this.publishTimeoutMs = config.publishTimeoutMs;
    this.jobHeaders = config.smallOutputsInResult ? { [INLINE_OUTPUT_HEADER]: true } : {};
    this.channel = broker.channel({
      name: 'jobs-publisher',
      confirm: true,
      // While RabbitMQ is away publishes wait this long, then reject: the client gets SUBMIT_FAILED.
      publishTimeout: config.publishTimeoutMs,
      setup: async (ch: ConfirmChannel) => {
        ch.on('return', (msg: { properties: { messageId?: unknown } }) => {
          if (typeof msg.properties.messageId === 'string') this.returned.add(msg.properties.messageId);
        });
        await declareJobTopology(ch, topology, config.jobDeliveryLimit);
      },
    });
  }

  /**
   * Publishes a job into `queue` (its tenant's), persistent; resolves on the broker's confirm. A small output
   * comes back with the reply: with SMALL_OUTPUTS_IN_RESULT this gateway asks for no object of its own for it.
   * Mandatory: a queue that is gone (expired) would otherwise drop the job, confirmed all the same; it comes
   * back instead, and the publish fails with QueueMissingError. A nack fails it with PublishNackedError.
   */
  async publish(queue: string, job: JobMessage, traceparent?: string, options: { retry?: boolean } = {}): Promise<void> {
    const content = Buffer.from(JSON.stringify(job));
    const properties = {
      persistent: true,
      mandatory: true,
      contentType: 'application/json',
      correlationId: job.job_id,
      messageId: job.job_id,
      timestamp: Math.floor(Date.now() / 1000),
      headers: { ...(traceparent ? { traceparent } : {}), ...this.jobHeaders },
    };
    if (options.retry) return this.publishAlone(queue, content, properties);
    try {
      await this.channel.sendToQueue(queue, content, properties);
      if (this.returned.has(job.job_id)) throw new QueueMissingError(queue);
    } catch (err) {
      throw nacked(err) ? new PublishNackedError(queue) : err;
    } finally {
      this.returned.delete(job.job_id);
    }
  }

  /**
   * A publish again after a nack, on a confirm channel of its own, closed after: RabbitMQ (3.10) goes on
   * nacking, on a channel whose publish a full quorum queue rejected, every later publish to that queue, even
   * once it has room; a new channel is taken. Bounded by PUBLISH_TIMEOUT_SECONDS, as the shared channel is.
   */
  private async publishAlone(queue: string, content: Buffer, properties: AmqpOptions.Publish): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error('timeout')), this.publishTimeoutMs);
    });
    const opened = this.broker.rawChannel(true);
    try {
      const ch = await Promise.race([opened, timeout]);
      let returned = false;
      ch.on('return', () => (returned = true));
      const confirmed = new Promise<void>((resolve, reject) =>
        ch.sendToQueue(queue, content, properties, (err: unknown) => (err ? reject(err) : resolve())),
      );
      await Promise.race([confirmed, timeout]);
      if (returned) throw new QueueMissingError(queue);
    } catch (err) {
      throw nacked(err) ? new PublishNackedError(queue) : err;
    } finally {
      clearTimeout(timer);
      void opened.then((ch) => ch.close()).catch(() => undefined);
    }
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
