/**
 * One gateway of a deployment sweeps storage at a time: the one whose broker
 * connection holds an exclusive queue named for the sweeper. RabbitMQ lets a
 * single connection declare an exclusive queue (another one's declare is
 * refused with RESOURCE_LOCKED) and deletes it with that connection, so a
 * gateway that stops, dies or loses the broker hands the turn on by itself;
 * the others try again at their next tick. Every gateway used to list the
 * whole `jobs/` folder every CLEANUP_INTERVAL_SECONDS: N listings of a bucket
 * that may hold millions of objects, racing each other's deletes.
 */
import type { Broker, Channel, Logger } from '@media-foundry/shared/node';

export class SweepLease {
  /** The channel the queue was declared on, while it is open; null when not held. */
  private channel: Channel | null = null;
  private released = false;

  constructor(
    private readonly broker: Pick<Broker, 'rawChannel' | 'state'>,
    /** Topology.sweeperLease. */
    private readonly queue: string,
    private readonly logger: Logger,
  ) {}

  /** Whether this gateway sweeps now: it holds the lease, or takes it. Never rejects. */
  async held(): Promise<boolean> {
    if (this.channel) return true; // an exclusive queue lives as long as its connection, which the channel's close tells
    if (this.released || this.broker.state() !== 'connected') return false;
    let ch: Channel;
    try {
      ch = await this.broker.rawChannel();
    } catch {
      return false; // the broker connection was closed (shutting down)
    }
    try {
      // declared again by the connection that holds it (a channel of it closed meanwhile) the queue is taken as is
      await ch.assertQueue(this.queue, { exclusive: true, durable: false, autoDelete: false });
    } catch (err) {
      // RESOURCE_LOCKED: another gateway's connection holds it (the broker closed this channel)
      this.logger.debug({ err: (err as Error).message }, 'another gateway sweeps storage');
      return false;
    }
    if (this.released) {
      await this.give(ch);
      return false;
    }
    this.channel = ch;
    ch.on('close', () => {
      if (this.channel !== ch) return;
      this.channel = null;
      if (!this.released) this.logger.info('storage sweeper lease lost (broker connection or channel closed); another gateway may take it');
    });
    this.logger.info('this gateway sweeps storage (it took the sweeper lease)');
    return true;
  }

  /** Gives the lease up at once (a stopping gateway): another gateway takes it at its next tick. */
  async release(): Promise<void> {
    this.released = true;
    const ch = this.channel;
    this.channel = null;
    if (ch) await this.give(ch);
  }

  private async give(ch: Channel): Promise<void> {
    try {
      await ch.deleteQueue(this.queue);
      await ch.close();
    } catch {
      // the channel or connection went meanwhile: the broker dropped the queue with it, or will with the connection
    }
  }
}
