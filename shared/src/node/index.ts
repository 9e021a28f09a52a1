/** @media-foundry/shared/node — the Node-only runtime both services use: storage, logger, broker, HTTP. */
export * from './broker.js';
export * from './http-server.js';
export * from './logger.js';
export * from './metrics.js';
export * from './storage/index.js';
export * from './trace.js';
export * from './job-store.js';
export * from './tenant-queues.js';
export * from './polled-value.js';
export * from './network-errors.js';
export * from './file-closed.js';
export * from './background-read.js';
export * from './readiness.js';
export * from './url-guard.js';
export * from './webhook-check.js';
