/**
 * One gateway of a deployment sweeps storage at a time: the one holding the
 * sweeper's token. Every gateway consumes from one queue with single active
 * consumer on, so RabbitMQ delivers its messages to one of them only; the
 * token is a message that gateway keeps unacknowledged while it sweeps. A
 * gateway that stops, dies or loses the broker hands the token back with its
 * channel, and RabbitMQ delivers it at once to the next consumer in line.
 *
 * Every gateway adds a token at each tick: the deployment always has one (the
 * queue may be new, gone with a broker restart, or emptied by a policy or a
 * purge), and the holder, which receives them all, keeps the newest and
 * acknowledges the one it held, so no token is held past a tick (RabbitMQ's
 * `consumer_timeout` closes a channel that holds a delivery longer) and one
 * remains.
 *
 * Every gateway used to list the whole `jobs/` folder every
 * CLEANUP_INTERVAL_SECONDS: N listings of a bucket that may hold millions of
 * objects, racing each other's deletes. The lease was then an exclusive
 * queue, which RabbitMQ refused to all but one gateway at every tick: a
 * channel error in its log each time.
 */
import type { Broker, ConfirmChannel, ConsumeMessage, Logger } from '@media-foundry/shared/node';

/** The token held, and room for the next one (which replaces it). */
const PREFETCH = 2;
const TOKEN = Buffer.from('storage sweeper token');
/** Durable: RabbitMQ deprecates transient queues that are not exclusive. Deleted with its last consumer. */
const QUEUE_OPTIONS = { durable: true, autoDelete: true, arguments: { 'x-single-active-consumer': true } };

/** Whether an AMQP failure is the broker's refusal (a channel closed with a reply code), not a lost connection. */
const refusal = (err: unknown): boolean => typeof (err as { code?: unknown }).code === 'number';

export class SweepLease {
  /** The channel this gateway consumes on, while it is open; null when not consuming. */
  private channel: ConfirmChannel | null = null;
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
   * Whether this gateway sweeps now. Called at each tick: it starts consuming when it is not (the token comes
   * later, when it is this gateway's turn), and adds a token. Never rejects.
   */
  async held(): Promise<boolean> {
    if (this.released || this.broker.state() !== 'connected') return false;
    if (this.opening) await this.opening;
    else if (this.channel) await this.addToken(this.channel);
    else await (this.opening = this.consume().finally(() => (this.opening = null)));
    return this.token !== null;
  }

  /** Gives the token up at once (a stopping gateway): RabbitMQ delivers it to the next gateway in line. */
  async release(): Promise<void> {
    this.released = true;
    await this.opening; // a consume under way ends by dropping its channel
    await this.drop();
  }

  private async consume(): Promise<void> {
    let ch: ConfirmChannel;
    try {
      ch = await this.broker.rawChannel(true);
    } catch {
      return; // the broker connection was closed (shutting down)
    }
    this.channel = ch;
    // the broker's refusal (ACCESS_REFUSED: the broker user may not use this queue; a queue of another kind by
    // that name, as the exclusive one of gateways before 2026-11-29 while they still run; a token held past
    // consumer_timeout) closes the channel: no sweeping here until it can take part again, said each time
    ch.on('error', (err: Error) =>
      this.logger.warn(
        { err: err.message, queue: this.queue },
        'the broker closed the storage sweeper lease channel; this gateway does not sweep',
      ),
    );
    ch.on('close', () => {
      if (this.channel !== ch) return;
      const had = this.token !== null;
      this.lose();
      if (had && !this.released)
        this.logger.info('storage sweeper token lost (broker connection or channel closed); another gateway takes it');
    });
    try {
      await ch.assertQueue(this.queue, QUEUE_OPTIONS);
      await ch.prefetch(PREFETCH);
      await ch.consume(this.queue, (m) => this.delivered(ch, m), { noAck: false });
    } catch (err) {
      if (!refusal(err)) this.logger.debug({ err: (err as Error).message }, 'storage sweeper lease: channel lost while consuming');
      await this.drop();
      return;
    }
    if (this.released) await this.drop();
    else await this.addToken(ch);
  }

  /** Publishes a token, confirmed (a refusal closes the channel: its `error` says why). */
  private async addToken(ch: ConfirmChannel): Promise<void> {
    try {
      ch.sendToQueue(this.queue, TOKEN, { persistent: false });
      await ch.waitForConfirms();
    } catch {
      // the channel closed: its listeners said why and forgot it; the next tick consumes afresh
    }
  }

  private delivered(ch: ConfirmChannel, m: ConsumeMessage | null): void {
    // a channel dropped meanwhile, or a gateway stopping: the channel's close hands the message back
    if (ch !== this.channel || this.released) return;
    if (m === null) {
      // the broker cancelled the consumer (its queue was deleted): consumed afresh at the next tick
      void this.drop();
      return;
    }
    const held = this.token;
    this.token = m;
    if (held) {
      ch.ack(held); // a newer token replaces it: none is held past a tick
      return;
    }
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
