/** Worker entry point: the only place that reads the environment, handles signals and exits. */
import { ConfigError, loadConfig, topology } from '@media-foundry/shared';
import {
  connectBroker,
  createLogger,
  createRegistry,
  createStorage,
  dependencyProblems,
  serviceRoutes,
  startHttpServer,
} from '@media-foundry/shared/node';
import { randomBytes } from 'node:crypto';
import { JobConsumer } from './consumer.js';
import { createWorkerMetrics } from './metrics.js';
import { sweepTempDir } from './temp-sweeper.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`media-foundry worker: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger('worker', config.LOG_LEVEL);
  const workerId = `worker-${randomBytes(4).toString('hex')}`;
  const storage = createStorage(config);
  await storage.check();
  const broker = connectBroker(config.AMQP_URL, logger, workerId);
  const registry = createRegistry('worker');
  let consumer: JobConsumer | null = null;
  const metrics = createWorkerMetrics(registry, {
    activeJobs: () => consumer?.activeJobs ?? 0,
    queueDepth: async () => (await consumer?.queueDepth()) ?? null,
    brokerConnected: () => broker.state() === 'connected',
    brokerReconnects: () => broker.reconnects(),
  });
  const jobs = new JobConsumer({ config, topology: topology(config.QUEUE_PREFIX), broker, storage, logger, metrics });
  consumer = jobs;
  await jobs.start();

  let accepting = true;
  const health = await startHttpServer(
    config.WS_HOST,
    config.HEALTH_PORT,
    serviceRoutes({
      health: async () => ({
        service: 'worker',
        worker_id: workerId,
        broker: broker.state(),
        broker_reconnects: broker.reconnects(),
        active_jobs: jobs.activeJobs,
        max_concurrent_jobs: config.MAX_CONCURRENT_JOBS,
        queue_depth: await jobs.queueDepth(),
      }),
      notReady: async () => [
        ...(accepting ? [] : ['shutting down']),
        ...(await dependencyProblems(broker.state() === 'connected', () => storage.check())),
      ],
      metrics: registry,
    }),
  );

  // A dir untouched for longer than a job may run belongs to no live job.
  const staleMs = (config.FFMPEG_TIMEOUT_SECONDS + config.URL_FETCH_TIMEOUT_SECONDS + 60) * 1000;
  const sweeper = setInterval(() => {
    sweepTempDir(config.TEMP_DIR, staleMs, (id) => jobs.isActive(id))
      .then((removed) => removed.length > 0 && logger.info({ removed }, 'removed stale temp dirs'))
      .catch((err: unknown) => logger.warn({ err }, 'temp sweep failed'));
  }, config.CLEANUP_INTERVAL_SECONDS * 1000);
  sweeper.unref();

  logger.info({ worker_id: workerId, health_port: health.port, concurrency: config.MAX_CONCURRENT_JOBS }, 'worker ready');

  let stopping: Promise<void> | null = null;
  const shutdown = (signal: string) => {
    stopping ??= (async () => {
      logger.info({ signal }, 'shutting down');
      clearInterval(sweeper);
      accepting = false;
      await jobs.stop(config.SHUTDOWN_GRACE_SECONDS * 1000);
      await broker.close().catch(() => {});
      health.server.close();
      logger.info('stopped');
      process.exit(0);
    })();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`media-foundry worker failed to start: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
