import type { Config, ControlMessage, JobMessage, Topology } from '@media-foundry/shared';
import { type Broker, type ChannelWrapper, declareJobTopology } from '@media-foundry/shared/node';

/** Publishes jobs to the durable jobs queue; a publish resolves only on the broker's confirm. */
export class JobPublisher {
  private readonly channel: ChannelWrapper;

  constructor(
    broker: Broker,
    private readonly topology: Topology,
    config: Pick<Config, 'JOB_DELIVERY_LIMIT' | 'PUBLISH_TIMEOUT_SECONDS'>,
  ) {
    this.channel = broker.connection.createChannel({
      name: 'jobs-publisher',
      confirm: true,
      // While RabbitMQ is away publishes wait this long, then reject: the client gets SUBMIT_FAILED.
      publishTimeout: config.PUBLISH_TIMEOUT_SECONDS * 1000,
      setup: (ch: Parameters<typeof declareJobTopology>[0]) => declareJobTopology(ch, topology, config.JOB_DELIVERY_LIMIT),
    });
  }

  async publish(job: JobMessage, replyTo: string, traceparent?: string): Promise<void> {
    await this.channel.sendToQueue(this.topology.jobsQueue, Buffer.from(JSON.stringify(job)), {
      persistent: true,
      contentType: 'application/json',
      correlationId: job.job_id,
      messageId: job.job_id,
      replyTo,
      timestamp: Math.floor(Date.now() / 1000),
      headers: traceparent ? { traceparent } : {},
    });
  }

  /** Broadcasts a control message (e.g. a cancellation) to every worker. */
  async broadcast(message: ControlMessage): Promise<void> {
    await this.channel.publish(this.topology.controlExchange, '', Buffer.from(JSON.stringify(message)), {
      contentType: 'application/json',
    });
  }

  /** Jobs waiting in the queue; null while the broker is unreachable. */
  async queueDepth(): Promise<number | null> {
    try {
      return (await this.channel.checkQueue(this.topology.jobsQueue)).messageCount;
    } catch {
      return null;
    }
  }

  close(): Promise<void> {
    return this.channel.close();
  }
}
