/** @media-foundry/shared/node — the Node-only runtime both services use: storage, logger, broker, HTTP. */
export { type Backends, connectBackends } from './backends.js';
export {
  type AmqpConnectionManager,
  type AmqpOptions,
  type Broker,
  type Channel,
  type ChannelWrapper,
  type ConfirmChannel,
  connectBroker,
  type ConsumeMessage,
  declareJobTopology,
  type GetMessage,
} from './broker.js';
export { type HttpReply, type HttpRoutes, processMemory, type ServiceProbes, serviceRoutes, startHttpServer } from './http-server.js';
export { createLogger, type Logger } from './logger.js';
export { type CommonGauges, createRegistry, JOB_SECONDS_BUCKETS, prom, type Registry, serviceMetrics } from './metrics.js';
export {
  assertSafeKey,
  BudgetRetryStrategy,
  classifyS3Error,
  createStorage,
  FsStorage,
  isNotFound,
  partSizeFor,
  type PutOptions,
  readJson,
  REQUEST_RETRY_MS,
  S3_MAX_PARTS,
  S3_MIN_PART_BYTES,
  S3Storage,
  type S3StorageOptions,
  type Storage,
  StorageError,
  type StoredObject,
  writeJson,
} from './storage/index.js';
export { childTrace, formatTraceparent, parseTraceparent, type TraceContext } from './trace.js';
export { sha256, sha256Hex } from './hash.js';
export { JobStore, tenantKey } from './job-store.js';
export { isPreconditionFailed, isQueueMissing, SpareChannel, type TenantQueueOptions, TenantQueues } from './tenant-queues.js';
export { PolledValue } from './polled-value.js';
export { TRANSIENT_NETWORK_CODES } from './network-errors.js';
export { fileClosed } from './file-closed.js';
export { BackgroundRead, type BackgroundReadTiming, type Reading } from './background-read.js';
export { brokerProblems, DependencyCheck, READINESS_CHECK, readinessProblems, whenConnected } from './readiness.js';
export {
  addressProblem,
  bareHost,
  embeddedIPv4,
  embeddedIPv4s,
  literalUrlProblem,
  parseAllowlist,
  type UrlAllowlist,
} from './url-guard.js';
export { webhookProblem } from './webhook-check.js';
export { waitFor } from './wait.js';
