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

/** AMQP's RESOURCE_LOCKED: an exclusive queue another connection holds. */
const RESOURCE_LOCKED = 405;

export class SweepLease {
  /** The channel the queue was declared on, while it is open; null when not held. */
  private channel: Channel | null = null;
  /** Aborted when the lease is lost or given up: a sweep under way stops before its next job. */
  private holding = new AbortController();
  private released = false;

  constructor(
    private readonly broker: Pick<Broker, 'rawChannel' | 'state'>,
    /** Topology.sweeperLease. */
    private readonly queue: string,
    private readonly logger: Logger,
  ) {}

  /** Whether this gateway holds the lease now (the `mf_gateway_sweeper_lease` gauge). */
  get holds(): boolean {
    return this.channel !== null;
  }

  /** Aborted once the lease taken last is lost or given up (a sweep checks it between jobs). */
  get signal(): AbortSignal {
    return this.holding.signal;
  }

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
    // listened to before the declare: a connection closed in the same read as the declare's answer closes the
    // channel before the declare's promise resolves
    let closed = false;
    ch.on('close', () => {
      closed = true;
      if (this.channel !== ch) return;
      this.channel = null;
      this.holding.abort();
      if (!this.released) this.logger.info('storage sweeper lease lost (broker connection or channel closed); another gateway may take it');
    });
    try {
      // declared again by the connection that holds it (a channel of it closed meanwhile) the queue is taken as is
      await ch.assertQueue(this.queue, { exclusive: true, durable: false, autoDelete: false });
    } catch (err) {
      const code = (err as { code?: number }).code;
      if (code === RESOURCE_LOCKED) this.logger.debug('another gateway sweeps storage');
      // a refusal of another kind (ACCESS_REFUSED: the broker user may not declare this queue) would leave
      // storage unswept by every gateway: said at every tick
      else
        this.logger.warn({ err: (err as Error).message, queue: this.queue }, 'cannot take the storage sweeper lease; storage is not swept');
      return false;
    }
    if (this.released || closed) {
      if (!closed) await this.give(ch);
      return false;
    }
    this.channel = ch;
    this.holding = new AbortController();
    this.logger.info('this gateway sweeps storage (it took the sweeper lease)');
    return true;
  }

  /** Gives the lease up at once (a stopping gateway): another gateway takes it at its next tick. */
  async release(): Promise<void> {
    this.released = true;
    this.holding.abort();
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
