import { REPLY_QUEUE_EXPIRES_MS } from '@media-foundry/shared';
import type { Broker, Channel, ChannelWrapper, ConsumeMessage } from '@media-foundry/shared/node';

/**
 * Per-connection reply queues. A queue is declared when its connection
 * submits its first job (idle connections cost RabbitMQ nothing), re-declared
 * after reconnects, and deleted when the connection closes; `x-expires` removes
 * it should the gateway die.
 */
export class ReplyQueues {
  private readonly channel: ChannelWrapper;

  constructor(broker: Broker) {
    this.channel = broker.connection.createChannel({ name: 'reply-queues', confirm: false });
  }

  /** Declares `queue` and consumes it; returns the function that deletes it. */
  async open(queue: string, onMessage: (msg: ConsumeMessage) => void): Promise<() => Promise<void>> {
    const setup = async (ch: Channel) => {
      await ch.assertQueue(queue, {
        durable: false,
        exclusive: false,
        autoDelete: false,
        arguments: { 'x-expires': REPLY_QUEUE_EXPIRES_MS },
      });
      // A null message means the queue was deleted under the consumer.
      await ch.consume(queue, (msg) => msg && onMessage(msg), { noAck: true });
    };
    await this.channel.addSetup(setup);
    return () =>
      this.channel.removeSetup(setup, async (ch: Channel) => {
        await ch.deleteQueue(queue);
      });
  }

  close(): Promise<void> {
    return this.channel.close();
  }
}
