/**
 * One gateway of a deployment sweeps storage at a time: the one holding the
 * sweeper's token. Every gateway consumes from one queue with single active
 * consumer on, so RabbitMQ delivers its messages to one of them only; the
 * token is a message that gateway keeps unacknowledged for as long as it
 * sweeps. A gateway that stops, dies or loses the broker hands the token
 * back by its channel's close, and RabbitMQ delivers it at once to the next
 * consumer in line. Each gateway adds a token as it starts consuming (the
 * queue may be new, or gone with a broker restart); the holder acknowledges
 * any token past its own, so one remains.
 *
 * Every gateway used to list the whole `jobs/` folder every
 * CLEANUP_INTERVAL_SECONDS: N listings of a bucket that may hold millions of
 * objects, racing each other's deletes. The lease was first an exclusive
 * queue, which RabbitMQ refused to all but one gateway at every tick: a
 * channel error in its log each time.
 */
import type { Broker, Channel, ConsumeMessage, Logger } from '@media-foundry/shared/node';

/** The holder's token, and room for one more (a token a starting gateway added), which it acknowledges. */
const PREFETCH = 2;

export class SweepLease {
  /** The channel this gateway consumes on, while it is open; null when not consuming. */
  private channel: Channel | null = null;
  /** The token delivered to this gateway, kept unacknowledged: it sweeps. */
  private token: ConsumeMessage | null = null;
  /** Aborted when the token is lost or given up: a sweep under way stops before its next job. */
  private holding = new AbortController();
  private opening: Promise<void> | null = null;
  private released = false;

  constructor(
    private readonly broker: Pick<Broker, 'rawChannel' | 'state'>,
    /** Topology.sweeperLease. */
    private readonly queue: string,
    private readonly logger: Logger,
  ) {}

  /** Whether this gateway holds the token now (the `mf_gateway_sweeper_lease` gauge). */
  get holds(): boolean {
    return this.token !== null;
  }

  /** Aborted once the token held last is lost or given up (a sweep checks it between jobs). */
  get signal(): AbortSignal {
    return this.holding.signal;
  }

  /**
   * Whether this gateway sweeps now; first called (and again after its channel closed), it starts consuming, and
   * the token comes later if it is this gateway's turn. Never rejects.
   */
  async held(): Promise<boolean> {
    if (this.token) return true;
    if (this.released || this.channel || this.broker.state() !== 'connected') return false;
    await (this.opening ??= this.consume().finally(() => (this.opening = null)));
    return this.token !== null;
  }

  /** Gives the token up at once (a stopping gateway): RabbitMQ delivers it to the next gateway in line. */
  async release(): Promise<void> {
    this.released = true;
    await this.opening; // a consume under way ends by dropping its channel
    await this.drop();
  }

  private async consume(): Promise<void> {
    let ch: Channel;
    try {
      ch = await this.broker.rawChannel();
    } catch {
      return; // the broker connection was closed (shutting down)
    }
    this.channel = ch;
    ch.on('close', () => {
      if (this.channel !== ch) return;
      const had = this.token !== null;
      this.lose();
      if (had && !this.released)
        this.logger.info('storage sweeper token lost (broker connection or channel closed); another gateway takes it');
    });
    try {
      await ch.assertQueue(this.queue, { durable: false, autoDelete: true, arguments: { 'x-single-active-consumer': true } });
      await ch.prefetch(PREFETCH);
      await ch.consume(this.queue, (m) => this.delivered(ch, m), { noAck: false });
      ch.sendToQueue(this.queue, Buffer.from('storage sweeper token'), { persistent: false });
    } catch (err) {
      // refused (ACCESS_REFUSED: the broker user may not use this queue; a queue of another kind by that name, as
      // the exclusive one of gateways before 2026-11-29 while they still run): no sweeping here, said at every tick
      this.logger.warn(
        { err: (err as Error).message, queue: this.queue },
        'cannot take part in the storage sweeper lease; this gateway does not sweep',
      );
      await this.drop();
      return;
    }
    if (this.released) await this.drop();
  }

  private delivered(ch: Channel, m: ConsumeMessage | null): void {
    // a channel dropped meanwhile, or a gateway stopping: the channel's close hands the message back
    if (ch !== this.channel || this.released) return;
    if (m === null) {
      // the broker cancelled the consumer (its queue was deleted): consumed afresh at the next tick
      void this.drop();
      return;
    }
    if (this.token) {
      ch.ack(m); // one token for the deployment: this one a starting gateway added
      return;
    }
    this.token = m;
    this.holding = new AbortController();
    this.logger.info('this gateway sweeps storage (it holds the sweeper token)');
  }

  /** Closes the channel (a token held goes back to the queue, to the next gateway in line) and forgets it. */
  private async drop(): Promise<void> {
    const ch = this.channel;
    this.lose();
    if (ch) await ch.close().catch(() => {}); // the connection went meanwhile: the broker requeued the token with it
  }

  /** Forgets the channel and the token; a sweep under way stops. */
  private lose(): void {
    this.channel = null;
    if (this.token) this.holding.abort();
    this.token = null;
  }
}
