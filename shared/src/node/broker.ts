import amqp, { type AmqpConnectionManager, type Channel, type ChannelWrapper, type CreateChannelOpts } from 'amqp-connection-manager';
import type { ConfirmChannel } from 'amqplib';
import type { Logger } from 'pino';
import { jobsQueueArguments, type Topology } from '../topology.js';

export type { AmqpConnectionManager, Channel, ChannelWrapper } from 'amqp-connection-manager';
export type { ConfirmChannel, ConsumeMessage, GetMessage, Options as AmqpOptions } from 'amqplib';

/** A reconnecting broker connection, with the state /health reports. */
export interface Broker {
  readonly connection: AmqpConnectionManager;
  /** `connected` or `disconnected` (reconnecting). */
  state(): 'connected' | 'disconnected';
  /** Successful connects after the first one. */
  reconnects(): number;
  /**
   * Why RabbitMQ holds this connection blocked (a memory or disk alarm:
   * publishes, and any call behind them, wait until it lifts); null when it does not.
   */
  blocked(): string | null;
  /**
   * A channel that re-runs `setup` on every reconnect and never takes the
   * process down: its errors are logged, and should the broker close it
   * while the connection stays up (a channel-level error), the connection is
   * re-established so the channel comes back.
   */
  channel(options: CreateChannelOpts & { name: string }): ChannelWrapper;
  /**
   * A plain amqplib channel on the current connection (waiting for one), for
   * work that must own its channel: a job held with basic.get, or an
   * operation that may close it (a passive declare). Errors are logged; the
   * caller notices `close` and opens another.
   */
  rawChannel(confirm?: false): Promise<Channel>;
  rawChannel(confirm: true): Promise<ConfirmChannel>;
  close(): Promise<void>;
}

/**
 * How soon after a forced reconnect another may happen: the wait doubles with
 * each one (a channel error that repeats, like a declare the broker refuses,
 * must not spin) up to the cap, and starts over after a quiet hour.
 */
const FORCED_RECONNECT_MIN_MS = 5000;
const FORCED_RECONNECT_MAX_MS = 5 * 60_000;

/**
 * Connects to RabbitMQ and keeps reconnecting (amqplib itself never does);
 * channels made from it re-run their setup on every reconnect.
 */
export function connectBroker(url: string, logger: Logger, name: string): Broker {
  const connection = amqp.connect([url], {
    heartbeatIntervalInSeconds: 5,
    reconnectTimeInSeconds: 1,
    // Nagle off: AMQP is request/response with small frames (a publish, then its confirm); with Nagle a
    // frame written while an earlier one is unacknowledged can wait for the peer's delayed ACK (~40 ms)
    connectionOptions: { noDelay: true, clientProperties: { connection_name: name } },
  });
  let connects = 0;
  let closed = false;
  let lastForced = 0;
  let forcedWait = FORCED_RECONNECT_MIN_MS;
  let blockedFor: string | null = null;
  connection.on('connect', () => {
    connects += 1;
    blockedFor = null;
    logger.info({ connects }, 'connected to RabbitMQ');
  });
  connection.on('disconnect', ({ err }: { err?: Error }) => logger.warn({ err: err?.message }, 'disconnected from RabbitMQ'));
  connection.on('connectFailed', ({ err }: { err?: Error }) => logger.warn({ err: err?.message }, 'cannot reach RabbitMQ; retrying'));
  connection.on('blocked', ({ reason }: { reason: string }) => {
    blockedFor = reason || 'blocked';
    logger.warn({ reason }, 'RabbitMQ blocked the connection');
  });
  connection.on('unblocked', () => {
    blockedFor = null;
    logger.info('RabbitMQ unblocked the connection');
  });

  /**
   * amqp-connection-manager re-creates a channel only on reconnect: one the
   * broker closed on its own (a 404, a precondition) would stay dead while
   * the connection lives. Reconnecting brings every channel back.
   */
  const recover = (channelName: string) => {
    if (Date.now() - lastForced > 3_600_000) forcedWait = FORCED_RECONNECT_MIN_MS;
    const wait = Math.max(0, lastForced + forcedWait - Date.now());
    lastForced = Date.now() + wait;
    forcedWait = Math.min(forcedWait * 2, FORCED_RECONNECT_MAX_MS);
    logger.warn({ channel: channelName, reconnect_in_ms: wait }, 'RabbitMQ closed a channel; reconnecting to restore it');
    setTimeout(() => {
      if (!closed && connection.isConnected()) connection.reconnect();
    }, wait).unref();
  };

  const openRaw = async (confirm: boolean): Promise<Channel> => {
    for (;;) {
      if (closed) throw new Error('broker connection closed');
      const current = connection.connection;
      if (current) {
        try {
          const ch = confirm ? await current.createConfirmChannel() : await current.createChannel();
          ch.on('error', (err: Error) => logger.debug({ err: err.message }, 'channel closed by the broker'));
          return ch;
        } catch (err) {
          logger.warn({ err: (err as Error).message }, 'could not open a channel; retrying');
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  };

  return {
    connection,
    state: () => (connection.isConnected() ? 'connected' : 'disconnected'),
    reconnects: () => Math.max(0, connects - 1),
    blocked: () => (connection.isConnected() ? blockedFor : null),
    channel(options) {
      let closing = false;
      const setup = options.setup as ((ch: Channel) => Promise<unknown>) | undefined;
      const wrapper = connection.createChannel({
        ...options,
        setup: async (ch: Channel) => {
          // without a listener, amqplib turns a channel's error into one of the whole connection
          ch.on('error', (err: Error) => logger.warn({ err: err.message, channel: options.name }, 'RabbitMQ closed a channel'));
          const on = connection.connection;
          ch.on('close', () => {
            // Closed by us, or with its connection (the manager reconnects then): nothing to restore.
            // A moment later tells the two apart: a lost connection is no longer the current one.
            setTimeout(() => {
              if (!closing && !closed && connection.isConnected() && connection.connection === on) recover(options.name);
            }, 200).unref();
          });
          if (setup) await setup(ch);
        },
      });
      wrapper.on('error', (err: Error) => logger.error({ err, channel: options.name }, 'RabbitMQ channel error'));
      const close = wrapper.close.bind(wrapper);
      wrapper.close = () => {
        closing = true;
        return close();
      };
      return wrapper;
    },
    rawChannel: openRaw as Broker['rawChannel'],
    close: () => {
      closed = true;
      return connection.close();
    },
  };
}

/**
 * Declares the topology both services rely on: the intake queue and its
 * dead-letter pair, the control fanout and the reply exchange. Both run it in
 * their channel setup, so whichever starts first creates it.
 */
export async function declareJobTopology(channel: Channel, t: Topology, deliveryLimit: number): Promise<void> {
  await channel.assertExchange(t.deadLetterExchange, 'direct', { durable: true });
  await channel.assertQueue(t.deadLetterQueue, { durable: true });
  await channel.bindQueue(t.deadLetterQueue, t.deadLetterExchange, t.deadLetterQueue);
  await channel.assertQueue(t.jobsQueue, { durable: true, arguments: jobsQueueArguments(t, deliveryLimit) });
  await channel.assertExchange(t.controlExchange, 'fanout', { durable: true });
  await channel.assertExchange(t.replyExchange, 'direct', { durable: true });
}
