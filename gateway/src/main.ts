/** Gateway entry point: the only place that reads the environment, handles signals and exits. */
import { randomBytes } from 'node:crypto';
import { ConfigError, loadGatewayConfig, sleep, topology } from '@media-foundry/shared';
import {
  connectBackends,
  createLogger,
  createRegistry,
  PolledValue,
  processMemory,
  readinessProblems,
  serviceRoutes,
  startHttpServer,
} from '@media-foundry/shared/node';
import { createAuthenticator } from './auth.js';
import { ByteBudget } from './byte-budget.js';
import type { GatewayContext } from './connection.js';
import { createDownloadUrls, publicBaseUrl } from './download-urls.js';
import { JobLifecycle } from './jobs/lifecycle.js';
import { ReplyRouter } from './jobs/reply-router.js';
import { createGatewayMetrics } from './metrics.js';
import { JobPublisher } from './publisher.js';
import { startGatewayServer } from './server.js';
import { GatewayShutdown } from './shutdown.js';
import { SweepLease } from './sweep-lease.js';
import { sweepEvery, sweepStorage } from './storage-sweeper.js';
import { loadUws } from './uws.js';

/** How long a stopping gateway waits for the deletes still gathering (Storage.flush). */
const SHUTDOWN_FLUSH_MS = 5000;
/** A stopping gateway's wait for submissions under way: a publish's timeout, and this for the record written beside it. */
const SUBMISSION_SLACK_MS = 5000;

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
    config = loadGatewayConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message, 2);
    throw err;
  }
  const logger = createLogger('gateway', config.logLevel);
  const gatewayId = randomBytes(4).toString('hex');
  const t = topology(config.queuePrefix);
  const authenticator = createAuthenticator({ apiKeys: config.apiKeys, jwtSecret: config.jwtSecret });
  if (!authenticator.enabled) logger.warn('no API_KEYS or JWT_SECRET configured: the WebSocket is open to anyone who can reach it');
  const { storage, store, broker, tenants, checks } = await connectBackends(config, t, logger, `gateway-${gatewayId}`);
  const publisher = new JobPublisher(broker, t, config);
  // probes never wait on the broker or storage: the intake depth and the checks behind /ready run in the background
  const intakeDepth = new PolledValue(() => tenants.intakeDepth());
  const budget = new ByteBudget(config.gatewayBufferBudgetBytes);
  const lease = new SweepLease(broker, t.sweeperLease, logger);
  const registry = createRegistry('gateway');
  let baseUrl = '';
  let connections = () => 0;
  let jobs: JobLifecycle | null = null;
  const metrics = createGatewayMetrics(registry, {
    connections: () => connections(),
    activeJobs: () => jobs?.size ?? 0,
    bufferedBytes: () => budget.used(),
    sweeperLease: () => lease.holds,
    queueDepth: () => Promise.resolve(intakeDepth.current()),
    brokerConnected: () => broker.state() === 'connected',
    brokerReconnects: () => broker.reconnects(),
  });
  const urls = createDownloadUrls(storage, () => baseUrl, config.urlSigningSecret);
  const router: ReplyRouter = new ReplyRouter(
    broker,
    t,
    gatewayId,
    { onMessage: (m) => lifecycle.onMessage(m), onResubscribed: () => lifecycle.onResubscribed() },
    logger,
  );
  const lifecycle: JobLifecycle = new JobLifecycle({
    config,
    topology: t,
    gatewayId,
    storage,
    store,
    tenants,
    publisher,
    router,
    urls,
    budget,
    metrics,
    logger,
  });
  jobs = lifecycle;
  const ctx: GatewayContext = { config, logger, storage, urls, authenticator, jobs: lifecycle };
  const server = await startGatewayServer(uws, ctx);
  connections = () => server.connections();
  baseUrl = publicBaseUrl(config, server.port);
  intakeDepth.start();
  for (const check of checks) check.start();

  // one gateway of the deployment sweeps at a time (the others only check, each tick, whether it is their turn)
  const sweeper = sweepEvery(config.cleanupIntervalMs, async () => {
    if (!(await lease.held())) return;
    logger.debug('sweeping storage');
    await Promise.all([
      sweepStorage(
        storage,
        store,
        {
          storageTtlMs: config.storageTtlMs,
          resumeTtlMs: config.resumeTtlMs,
          urlTtlMs: config.resultUrlTtlMs,
        },
        Date.now(),
        lease.signal,
      )
        .then((removed) => removed.length > 0 && logger.info({ removed: removed.length }, 'swept expired job files'))
        .catch((err: unknown) => logger.warn({ err }, 'storage sweep failed')),
      // uploads cut off by a gateway that died mid-way (a live one finishes or aborts its own within minutes)
      storage
        .sweepIncomplete('jobs/', new Date(Date.now() - config.storageTtlMs))
        .then((removed) => removed > 0 && logger.info({ removed }, 'removed incomplete uploads'))
        .catch((err: unknown) => logger.debug({ err }, 'incomplete uploads not swept (the store may not list them)')),
    ]);
  });

  let health: Awaited<ReturnType<typeof startHttpServer>> | null = null;
  const shutdown = new GatewayShutdown({
    leadMs: config.shutdownLeadMs,
    logger,
    drain: () => {
      sweeper.stop();
      void lease.release();
      server.refuseUpgrades();
    },
    closeClients: (code, reason) => {
      lifecycle.shutdown();
      server.stopListening();
      server.closeAll(code, reason);
    },
    // a publish waits PUBLISH_TIMEOUT_SECONDS at most; the record written alongside it, a moment more
    settle: () => Promise.race([lifecycle.submissionsSettled(), sleep(config.publishTimeoutMs + SUBMISSION_SLACK_MS)]),
    release: async () => {
      intakeDepth.stop();
      for (const check of checks) check.stop();
      // delivered jobs' files still gathering for their delete go now, rather than to the storage sweeper;
      // a store that does not answer keeps the gateway no longer than that
      const flushed = Promise.race([storage.flush(), sleep(SHUTDOWN_FLUSH_MS)]);
      await Promise.allSettled([publisher.close(), router.close(), tenants.close(), flushed]);
      await broker.close();
    },
  });

  health = await startHttpServer(
    config.wsHost,
    config.healthPort,
    serviceRoutes({
      health: () => ({
        service: 'gateway',
        gateway_id: gatewayId,
        state: shutdown.state,
        broker: broker.state(),
        broker_blocked: broker.blocked(),
        broker_reconnects: broker.reconnects(),
        connections: server.connections(),
        active_jobs: lifecycle.size,
        followed_routes: router.size,
        queue_depth: intakeDepth.current(),
        storage: storage.driver,
        memory: processMemory(),
      }),
      notReady: () => readinessProblems({ stopping: shutdown.state !== 'running', brokers: [broker], checks }),
      metrics: registry,
    }),
  );

  logger.info(
    { gateway_id: gatewayId, ws: `ws://${config.wsHost}:${server.port}`, health_port: health.port, storage: storage.driver },
    'gateway ready',
  );

  const stop = (signal: string) => {
    void shutdown.run(signal).finally(() => {
      health?.server.close();
      process.exit(0);
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => fail(`failed to start: ${err instanceof Error ? err.stack : String(err)}`, 1));
