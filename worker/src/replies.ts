import type { JobReply } from '@media-foundry/shared';
import type { Broker, ChannelWrapper } from '@media-foundry/shared/node';

/** Publishes replies to the queue a job named in `reply_to`, with publisher confirms. */
export class ReplyPublisher {
  private readonly channel: ChannelWrapper;

  constructor(broker: Broker, publishTimeoutMs: number) {
    this.channel = broker.connection.createChannel({ name: 'replies', confirm: true, publishTimeout: publishTimeoutMs });
  }

  /** Resolves once the broker confirmed the reply. */
  async send(replyTo: string, reply: JobReply): Promise<void> {
    await this.channel.sendToQueue(replyTo, Buffer.from(JSON.stringify(reply)), {
      correlationId: reply.job_id,
      contentType: 'application/json',
    });
  }

  close(): Promise<void> {
    return this.channel.close();
  }
}
