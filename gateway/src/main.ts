/** Gateway entry point: the only place that reads the environment, handles signals and exits. */
import { randomBytes } from 'node:crypto';
import { ConfigError, loadConfig, topology } from '@media-foundry/shared';
import {
  connectBroker,
  createLogger,
  createRegistry,
  createStorage,
  dependencyProblems,
  processMemory,
  serviceRoutes,
  startHttpServer,
} from '@media-foundry/shared/node';
import { createAuthenticator } from './auth.js';
import type { GatewayContext } from './connection.js';
import { createGatewayMetrics } from './metrics.js';
import { createDownloadUrls } from './download-urls.js';
import { JobRegistry } from './job-registry.js';
import { JobPublisher } from './publisher.js';
import { ReplyQueues } from './reply-queues.js';
import { startGatewayServer } from './server.js';
import { sweepStorage } from './storage-sweeper.js';
import { loadUws } from './uws.js';

function fail(message: string, code: number): never {
  process.stderr.write(`media-foundry gateway: ${message}\n`);
  process.exit(code);
}

async function main(): Promise<void> {
  let uws;
  try {
    uws = loadUws();
  } catch (err) {
    fail((err as Error).message, 3);
  }
  let config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message, 2);
    throw err;
  }
  const logger = createLogger('gateway', config.LOG_LEVEL);
  const gatewayId = randomBytes(4).toString('hex');
  const t = topology(config.QUEUE_PREFIX);
  const authenticator = createAuthenticator({ apiKeys: config.API_KEYS, jwtSecret: config.JWT_SECRET });
  if (!authenticator.enabled) logger.warn('no API_KEYS or JWT_SECRET configured: the WebSocket is open to anyone who can reach it');
  const storage = createStorage(config);
  await storage.check();
  const broker = connectBroker(config.AMQP_URL, logger, `gateway-${gatewayId}`);
  const publisher = new JobPublisher(broker, t, config);
  const replyQueues = new ReplyQueues(broker);
  const registry = createRegistry('gateway');
  let publicBaseUrl = '';
  const stats = { activeJobs: 0 };
  let connections = () => 0;
  const metrics = createGatewayMetrics(registry, {
    connections: () => connections(),
    activeJobs: () => stats.activeJobs,
    queueDepth: () => publisher.queueDepth(),
    brokerConnected: () => broker.state() === 'connected',
    brokerReconnects: () => broker.reconnects(),
  });
  const ctx: GatewayContext = {
    config,
    gatewayId,
    logger,
    storage,
    publisher,
    replyQueues,
    replyQueueName: (connectionId) => t.replyQueue(gatewayId, connectionId),
    authenticator,
    jobsPerClient: new Map(),
    registry: new JobRegistry(),
    urls: createDownloadUrls(storage, () => publicBaseUrl, config.URL_SIGNING_SECRET),
    metrics,
    stats,
  };
  const server = await startGatewayServer(uws, ctx);
  connections = () => server.connections();
  const host = config.WS_HOST === '0.0.0.0' || config.WS_HOST === '::' ? 'localhost' : config.WS_HOST;
  publicBaseUrl = config.PUBLIC_BASE_URL ?? `http://${host}:${server.port}`;

  let accepting = true;
  const health = await startHttpServer(
    config.WS_HOST,
    config.HEALTH_PORT,
    serviceRoutes({
      health: async () => ({
        service: 'gateway',
        gateway_id: gatewayId,
        broker: broker.state(),
        broker_reconnects: broker.reconnects(),
        connections: server.connections(),
        active_jobs: stats.activeJobs,
        queue_depth: await publisher.queueDepth(),
        storage: storage.driver,
        memory: await processMemory(),
      }),
      notReady: async () => [
        ...(accepting ? [] : ['shutting down']),
        ...(await dependencyProblems(broker.state() === 'connected', () => storage.check())),
      ],
      metrics: registry,
    }),
  );

  const sweeper = setInterval(() => {
    sweepStorage(storage, config.STORAGE_TTL_SECONDS * 1000)
      .then((removed) => removed.length > 0 && logger.info({ removed: removed.length }, 'swept expired job files'))
      .catch((err: unknown) => logger.warn({ err }, 'storage sweep failed'));
  }, config.CLEANUP_INTERVAL_SECONDS * 1000);
  sweeper.unref();

  logger.info(
    { gateway_id: gatewayId, ws: `ws://${config.WS_HOST}:${server.port}`, health_port: health.port, storage: storage.driver },
    'gateway ready',
  );

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    accepting = false;
    logger.info({ signal }, 'shutting down');
    clearInterval(sweeper);
    server.stopListening();
    server.closeAll(1001, 'server shutting down');
    void Promise.allSettled([publisher.close(), replyQueues.close()])
      .then(() => broker.close())
      .finally(() => {
        health.server.close();
        logger.info('stopped');
        process.exit(0);
      });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err: unknown) => fail(`failed to start: ${err instanceof Error ? err.stack : String(err)}`, 1));
