/**
 * What both services connect to at start-up, the same way: storage (checked
 * once, so a service that cannot reach it does not start), the job index on
 * it, the broker, the tenant queues, and the checks behind /ready.
 */
import type { BaseConfig } from '../config.js';
import type { Topology } from '../topology.js';
import { type Broker, connectBroker } from './broker.js';
import { JobStore } from './job-store.js';
import type { Logger } from './logger.js';
import { DependencyCheck, whenConnected } from './readiness.js';
import { createStorage, type Storage } from './storage/index.js';
import { TenantQueues } from './tenant-queues.js';

export interface Backends {
  storage: Storage;
  store: JobStore;
  broker: Broker;
  tenants: TenantQueues;
  /** RabbitMQ and storage, checked in the background once started (readiness.ts). */
  checks: DependencyCheck[];
}

/** Connects to storage and RabbitMQ (`connectionName` names the connection in the broker's UI). */
export async function connectBackends(config: BaseConfig, t: Topology, logger: Logger, connectionName: string): Promise<Backends> {
  const storage = createStorage(config);
  await storage.check();
  const store = new JobStore(storage, config.transientRetryMs);
  const broker = connectBroker(config.amqpUrl, logger, connectionName);
  const tenants = new TenantQueues(broker, t, store, {
    deliveryLimit: config.jobDeliveryLimit,
    idleMs: config.tenantQueueIdleMs,
    timeoutMs: config.publishTimeoutMs,
    logger,
  });
  const checks = [
    new DependencyCheck(
      'RabbitMQ did not answer',
      whenConnected(broker, () => tenants.intakeDepth()),
    ),
    new DependencyCheck('storage is not reachable', () => storage.check()),
  ];
  return { storage, store, broker, tenants, checks };
}
