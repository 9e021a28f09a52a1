/** Worker entry point: the only place that reads the environment, handles signals and exits. */
import { randomBytes } from 'node:crypto';
import { ConfigError, jobId as jobIdSchema, loadWorkerConfig, minimumConsumerTimeoutMs, sleep, topology } from '@media-foundry/shared';
import {
  connectBackends,
  connectBroker,
  createLogger,
  createRegistry,
  parseAllowlist,
  readinessProblems,
  serviceRoutes,
  startHttpServer,
  tenantKey,
} from '@media-foundry/shared/node';
import { BacklogProbe } from './backlog.js';
import { ControlChannel, PEER_EXPIRY_MS } from './control.js';
import { DeadLetters } from './dead-letters.js';
import { InputServer } from './input-server.js';
import { JobHandler } from './job-handler.js';
import { Launcher } from './launcher/launcher.js';
import { builtLibrary } from './launcher/prestart.js';
import { createWorkerMetrics } from './metrics.js';
import { ReplyPublisher } from './replies.js';
import { ClusterView } from './scheduler/cluster-view.js';
import { IntakeRouter } from './scheduler/intake-router.js';
import { JobPuller } from './scheduler/job-puller.js';
import { TenantDirectory } from './scheduler/tenant-directory.js';
import { TenantRotation } from './scheduler/tenant-rotation.js';
import { TenantScanner } from './scheduler/tenant-scanner.js';
import { sweepTempDir } from './temp-sweeper.js';
import { WebhookDispatcher } from './webhooks/dispatcher.js';

/** How long a stopping worker waits for RabbitMQ to let go of its channels, beyond WEBHOOK_TIMEOUT_SECONDS. */
const CLOSE_DEADLINE_MS = 10_000;
/** How long a stopping worker waits for its job slots to end once its jobs are settled, before closing their connection. */
const SLOTS_IDLE_WAIT_MS = 5000;

async function main(): Promise<void> {
  let config;
  try {
    config = loadWorkerConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`media-foundry worker: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger('worker', config.logLevel);
  const workerId = `worker-${randomBytes(4).toString('hex')}`;
  const t = topology(config.queuePrefix);
  const idleMs = config.tenantQueueIdleMs;
  const { storage, store, broker, tenants, checks } = await connectBackends(config, t, logger, workerId);
  // the jobs this worker runs are held on a connection of their own: a reconnect forced to restore some
  // other channel (broker.ts) must not hand them back to their queues
  const slotsBroker = connectBroker(config.amqpUrl, logger.child({ connection: 'slots' }), `${workerId}-slots`);
  const replies = new ReplyPublisher(broker, t, config.publishTimeoutMs);
  const directory = new TenantDirectory();
  // a job that leaves a peer (ended, handed back, or its worker went silent) may be waiting in its tenant's queue again
  const view = new ClusterView(workerId, PEER_EXPIRY_MS, Date.now, (released) => {
    for (const job of released) directory.markReady(job.tenant_key);
  });
  const weights = new Map(Object.entries(config.tenantWeights).map(([tenant, weight]) => [tenantKey(tenant), weight]));
  const rotation = new TenantRotation((key) => weights.get(key) ?? 1);
  const backlog = new BacklogProbe(tenants, directory, logger);
  /** A tenant's name for the metrics, read from the index the first time its key shows up. */
  const learnName = (key: string) => {
    if (!directory.startNaming(key)) return;
    store.tenantName(key).then(
      (name) => directory.setName(key, name),
      () => directory.setName(key, null),
    );
  };
  const registry = createRegistry('worker');
  let handler: JobHandler | null = null;
  const metrics = createWorkerMetrics(registry, {
    activeJobs: () => handler?.activeJobs ?? 0,
    queueDepth: () => Promise.resolve(backlog.total()),
    brokerConnected: () => broker.state() === 'connected' && slotsBroker.state() === 'connected',
    brokerReconnects: () => broker.reconnects(),
    tenantDepths: () => directory.all().flatMap((d) => (d.depth === null ? [] : [{ tenant: d.name ?? d.key, depth: d.depth }])),
  });
  const webhookAllowlist = parseAllowlist(config.webhookAllowlist);
  const webhooks = new WebhookDispatcher({
    broker,
    prefix: config.queuePrefix,
    config,
    allowlist: webhookAllowlist,
    deliveries: metrics.webhookDeliveries,
    logger: logger.child({ component: 'webhooks' }),
  });
  // ffmpeg reads seekable inputs by range through this loopback server (input-server.ts)
  const inputServer = await InputServer.start();
  // ffmpeg and ffprobe are spawned by a small helper process: a fork of the worker costs it far more (launcher.ts)
  // and keeps one ffmpeg loaded ahead of the next job (FFMPEG_PRESTART, launcher/prestart.ts)
  const prestartLibrary = config.ffmpegPrestart ? builtLibrary() : null;
  if (config.ffmpegPrestart && !prestartLibrary)
    logger.warn(
      'FFMPEG_PRESTART: worker/dist/native/wait-for-argv.so is not usable (not built: no C compiler at build time; or its path holds a space or a colon); ffmpeg starts when a job needs it',
    );
  const launcher = new Launcher(logger.child({ component: 'launcher' }), undefined, prestartLibrary);
  launcher.onStarted = (prestarted) => metrics.ffmpegStarts.inc({ start: prestarted ? 'prestarted' : 'cold' });
  await launcher.start();
  const jobs = new JobHandler({
    config,
    storage,
    store,
    replies,
    view,
    onFinished: (jobId) => {
      view.noteFinished(jobId);
      control.finished(jobId);
    },
    metrics,
    logger,
    runner: {
      // without the library, ffmpeg's command line stays whole (and its CPU ceiling follows what is left of a job's time)
      config: prestartLibrary ? config : { ...config, ffmpegPrestart: false },
      storage,
      allowlist: parseAllowlist(config.urlAllowlist),
      inputServer,
      processes: launcher,
    },
    webhooks,
    webhookAllowlist,
  });
  handler = jobs;
  const control = new ControlChannel(
    broker,
    t,
    workerId,
    {
      cancel: (id) => jobs.cancel(id),
      tenantReady: (key) => {
        directory.markReady(key);
        learnName(key);
      },
      jobFinished: (jobId, peer) => {
        if (peer !== workerId) view.noteFinished(jobId);
      },
      listening: (listening) => view.setListening(listening),
      workerState: (state) => {
        // a worker we did not know yet (one that just started) learns at once what we run
        if (!state.stopping && !view.knows(state.worker_id) && state.worker_id !== workerId) control.setRunning(puller.runningJobs());
        if (view.update(state)) {
          directory.changed();
          jobs.standDownCopies();
        }
        logger.trace({ peer: state.worker_id, running: state.running.length }, 'peer state');
      },
    },
    logger,
  );
  const puller = new JobPuller({
    broker: slotsBroker,
    topology: t,
    directory,
    view,
    rotation,
    config,
    logger,
    handle: (delivery) => jobs.handle(delivery),
    onTaken: (key, id) => {
      if (!jobIdSchema.safeParse(id).success) return;
      replies
        .notify(t.tenantEventsKey(key), { type: 'dequeued', tenant_key: key, job_id: id })
        .catch((err: unknown) => logger.debug({ err }, 'dequeue notice not sent'));
    },
    onRunningChanged: (running) => {
      view.setOwn(running);
      control.setRunning(running);
    },
    onRequeued: (key) => control.announce(key),
    yieldSlot: (jobId) => jobs.yieldSlot(jobId),
  });
  const router = new IntakeRouter({
    broker,
    topology: t,
    tenants,
    replies,
    config,
    logger,
    announce: (key) => {
      directory.markReady(key);
      learnName(key);
      control.announce(key);
    },
  });
  const deadLetters = new DeadLetters(broker, t, config, replies, store, logger, webhooks);
  const scanner = new TenantScanner({ store, tenants, directory, rotation, idleMs, logger });
  control.start();
  // notices peers that went silent (their jobs are back in their queues)
  const peerWatch = setInterval(() => view.peers(), PEER_EXPIRY_MS / 3);
  peerWatch.unref();
  router.start();
  puller.start();
  webhooks.start();
  // a safety net for missed announcements: a job waits at most 15 s unnoticed; queues that expired
  // are found a few times per idle period
  scanner.start(15_000, idleMs / 4);
  backlog.start();
  // /ready never waits on the broker or storage: they are checked in the background
  for (const check of checks) check.start();

  let accepting = true;
  const health = await startHttpServer(
    config.wsHost,
    config.healthPort,
    serviceRoutes({
      // liveness never waits on the broker: the backlog is the last value the probe read
      health: () => ({
        service: 'worker',
        worker_id: workerId,
        broker: broker.state(),
        broker_blocked: broker.blocked(),
        broker_reconnects: broker.reconnects(),
        active_jobs: jobs.activeJobs,
        max_concurrent_jobs: config.maxConcurrentJobs,
        queue_depth: backlog.total(),
        peers: view.peers(),
      }),
      notReady: () => readinessProblems({ stopping: !accepting, brokers: [broker, slotsBroker], checks }),
      metrics: registry,
    }),
  );

  // A dir untouched for longer than a job may run belongs to no live job: the
  // longest a job runs is the least consumer_timeout, computed in one place (topology.ts).
  const staleMs = minimumConsumerTimeoutMs(config);
  const sweeper = setInterval(() => {
    sweepTempDir(config.tempDir, staleMs, (id) => jobs.isActive(id))
      .then((removed) => removed.length > 0 && logger.info({ removed }, 'removed stale temp dirs'))
      .catch((err: unknown) => logger.warn({ err }, 'temp sweep failed'));
  }, config.cleanupIntervalMs);
  sweeper.unref();

  logger.info({ worker_id: workerId, health_port: health.port, concurrency: config.maxConcurrentJobs }, 'worker ready');

  // running → stopping (no new jobs) → draining (running ones finish within the grace, the rest requeued) → stopped
  let stopping: Promise<void> | null = null;
  const shutdown = (signal: string) => {
    stopping ??= (async () => {
      logger.info({ signal }, 'shutting down');
      accepting = false;
      clearInterval(sweeper);
      clearInterval(peerWatch);
      backlog.stop();
      for (const check of checks) check.stop();
      const slotsIdle = puller.stop();
      await router.stop();
      await jobs.stop(config.shutdownGraceMs);
      await inputServer.close();
      await launcher.close();
      // every running job is settled or handed back: the slots end at once, but one that waits for a channel
      // while RabbitMQ is away would wait for the broker's return: it stops when its connection closes
      if (!(await Promise.race([slotsIdle.then(() => true), sleep(SLOTS_IDLE_WAIT_MS).then(() => false)]))) {
        logger.warn('a job slot still waits for RabbitMQ; closing its connection');
        await slotsBroker.close().catch(() => {});
        await Promise.race([slotsIdle, sleep(SLOTS_IDLE_WAIT_MS)]);
      }
      // Every job is settled or handed back: what is left is letting go of channels. While RabbitMQ is away a
      // channel's close (or a spare channel still being opened) would wait for its return: past a deadline the
      // process exits anyway (the broker forgets the connection, and requeues what it held, by itself).
      const letGo = (async () => {
        await scanner.stop();
        await control.stop();
        await Promise.allSettled([deadLetters.close(), replies.close(), tenants.close()]);
        // after everything that queues webhook events; attempts under way end within WEBHOOK_TIMEOUT_SECONDS, the rest wait in RabbitMQ
        await webhooks.stop();
        await Promise.allSettled([broker.close(), slotsBroker.close()]);
        return true;
      })();
      const deadline = config.webhookTimeoutMs + CLOSE_DEADLINE_MS;
      if (!(await Promise.race([letGo, sleep(deadline).then(() => false)])))
        logger.warn({ after_ms: deadline }, 'RabbitMQ did not let go of the channels in time; exiting anyway');
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
