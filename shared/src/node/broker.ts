import amqp, { type AmqpConnectionManager, type Channel } from 'amqp-connection-manager';
import type { Logger } from 'pino';
import { jobsQueueArguments, type Topology } from '../topology.js';

export type { AmqpConnectionManager, Channel, ChannelWrapper } from 'amqp-connection-manager';
export type { ConsumeMessage } from 'amqplib';

/** A reconnecting broker connection, with the state /health reports. */
export interface Broker {
  readonly connection: AmqpConnectionManager;
  /** `connected` or `disconnected` (reconnecting). */
  state(): 'connected' | 'disconnected';
  /** Successful connects after the first one. */
  reconnects(): number;
  close(): Promise<void>;
}

/**
 * Connects to RabbitMQ and keeps reconnecting (amqplib itself never does);
 * channels made from it re-run their setup on every reconnect.
 */
export function connectBroker(url: string, logger: Logger, name: string): Broker {
  const connection = amqp.connect([url], {
    heartbeatIntervalInSeconds: 5,
    reconnectTimeInSeconds: 1,
    connectionOptions: { clientProperties: { connection_name: name } },
  });
  let connects = 0;
  connection.on('connect', () => {
    connects += 1;
    logger.info({ connects }, 'connected to RabbitMQ');
  });
  connection.on('disconnect', ({ err }: { err?: Error }) => logger.warn({ err: err?.message }, 'disconnected from RabbitMQ'));
  connection.on('connectFailed', ({ err }: { err?: Error }) => logger.warn({ err: err?.message }, 'cannot reach RabbitMQ; retrying'));
  connection.on('blocked', ({ reason }: { reason: string }) => logger.warn({ reason }, 'RabbitMQ blocked the connection'));
  return {
    connection,
    state: () => (connection.isConnected() ? 'connected' : 'disconnected'),
    reconnects: () => Math.max(0, connects - 1),
    close: () => connection.close(),
  };
}

/** Declares the jobs queue and its dead-letter pair; both services run this in their channel setup. */
export async function declareJobTopology(channel: Channel, t: Topology, deliveryLimit: number): Promise<void> {
  await channel.assertExchange(t.deadLetterExchange, 'direct', { durable: true });
  await channel.assertQueue(t.deadLetterQueue, { durable: true });
  await channel.bindQueue(t.deadLetterQueue, t.deadLetterExchange, t.deadLetterQueue);
  await channel.assertQueue(t.jobsQueue, { durable: true, arguments: jobsQueueArguments(t, deliveryLimit) });
  await channel.assertExchange(t.controlExchange, 'fanout', { durable: true });
}
