/**
 * How replies find this gateway: one exclusive queue per gateway, bound to
 * the reply exchange with the id of every job its connections follow (and
 * the events key of every tenant whose waiting jobs they follow). Workers
 * publish every reply to the exchange with the job id as key, so whichever
 * gateway holds the client now receives it — the one that took the job or
 * another one the client resumed it on.
 *
 * One queue per gateway rather than one per connection: thousands of idle or
 * busy connections cost RabbitMQ thousands of bindings (entries in a routing
 * table), not thousands of queues (a process and a declare round trip each).
 * After a reconnect the queue is declared again with every binding, and the
 * owner is told so it can look up what it may have missed in storage.
 */
import { parseJson, replyExchangeMessage, type ReplyExchangeMessage, type Topology } from '@media-foundry/shared';
import type { Broker, Channel, ChannelWrapper, Logger } from '@media-foundry/shared/node';

/** Routing keys followed, counted (a key may be followed for several reasons). */
export interface ReplyFollower {
  follow(key: string): Promise<void>;
  unfollow(key: string): void;
}

export class ReplyRouter implements ReplyFollower {
  private readonly channel: ChannelWrapper;
  private readonly keys = new Map<string, number>();
  private readonly queue: string;
  private connects = 0;

  constructor(
    private readonly broker: Broker,
    private readonly topology: Topology,
    gatewayId: string,
    handlers: {
      onMessage(message: ReplyExchangeMessage): void;
      /** Bindings are back after a reconnect: replies published meanwhile were lost. */
      onResubscribed(): void;
    },
    private readonly logger: Logger,
  ) {
    this.queue = topology.gatewayReplyQueue(gatewayId);
    this.channel = broker.channel({
      name: 'gateway-replies',
      confirm: false,
      setup: async (ch: Channel) => {
        await ch.assertExchange(topology.replyExchange, 'direct', { durable: true });
        // exclusive: gone with this gateway's connection, so a dead gateway leaves nothing behind
        await ch.assertQueue(this.queue, { exclusive: true, autoDelete: true, durable: false });
        for (const key of this.keys.keys()) await ch.bindQueue(this.queue, topology.replyExchange, key);
        await ch.consume(this.queue, (msg) => msg && this.receive(msg.content, handlers.onMessage), { noAck: true });
        this.connects += 1;
        if (this.connects > 1) setImmediate(() => handlers.onResubscribed());
      },
    });
  }

  private receive(content: Buffer, onMessage: (message: ReplyExchangeMessage) => void): void {
    const parsed = parseJson(replyExchangeMessage, content.toString('utf8'));
    if (!parsed.ok) {
      if (parsed.json) this.logger.warn({ details: parsed.error }, 'ignored an invalid reply');
      else this.logger.warn({ err: parsed.error }, 'ignored a reply that is not JSON');
      return;
    }
    try {
      onMessage(parsed.data);
    } catch (err) {
      this.logger.error({ err }, 'handling a reply failed');
    }
  }

  /**
   * Starts receiving messages routed with `key`. Resolves once the binding is
   * in place (at once while the broker is away: the reconnect binds it, and
   * the owner re-reads storage then).
   */
  async follow(key: string): Promise<void> {
    // AMQP routing keys are short strings: a longer one would break the channel for every job
    if (Buffer.byteLength(key) > 255) throw new Error(`routing key of ${Buffer.byteLength(key)} bytes`);
    const count = this.keys.get(key) ?? 0;
    this.keys.set(key, count + 1);
    if (count > 0 || this.broker.state() !== 'connected') return;
    await this.channel.waitForConnect();
    if (this.keys.has(key)) await this.channel.bindQueue(this.queue, this.topology.replyExchange, key);
  }

  unfollow(key: string): void {
    const count = this.keys.get(key) ?? 0;
    if (count > 1) {
      this.keys.set(key, count - 1);
      return;
    }
    this.keys.delete(key);
    if (count === 1 && this.broker.state() === 'connected')
      this.channel
        .unbindQueue(this.queue, this.topology.replyExchange, key)
        .catch((err: unknown) => this.logger.debug({ err, key }, 'unbind failed (the queue goes with the connection anyway)'));
  }

  /** Keys followed now (for /health and tests). */
  get size(): number {
    return this.keys.size;
  }

  close(): Promise<void> {
    return this.channel.close();
  }
}
