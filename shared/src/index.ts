/**
 * @media-foundry/shared — the browser-safe surface: schemas, types and
 * constants of the protocol, the job messages, the operations and the config.
 * Node-only helpers (storage, logger, broker) are in `@media-foundry/shared/node`.
 */
export * from './binary-frame.js';
export * from './client-message.js';
export * from './config.js';
export * from './errors.js';
export * from './jobs.js';
export * from './operations/index.js';
export * from './protocol.js';
export * from './retry.js';
export * from './topology.js';
export * from './validation.js';
