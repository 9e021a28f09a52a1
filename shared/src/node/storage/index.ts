import type { BaseConfig } from '../../config.js';
import { FsStorage } from './fs-storage.js';
import { S3Storage } from './s3-storage.js';
import type { Storage } from './storage.js';

export * from './fs-storage.js';
export * from './retry-strategy.js';
export * from './s3-storage.js';
export * from './storage.js';

/** The storage driver STORAGE_DRIVER names, configured from the rest of the config. */
export function createStorage(config: Pick<BaseConfig, 'storage' | 'transientRetryMs' | 'maxFileSizeBytes'>): Storage {
  const { storage } = config;
  if (storage.driver === 'fs') return new FsStorage(storage.dir);
  return new S3Storage({
    bucket: storage.bucket,
    region: storage.region,
    endpoint: storage.endpoint,
    accessKeyId: storage.accessKeyId,
    secretAccessKey: storage.secretAccessKey,
    forcePathStyle: storage.forcePathStyle,
    connectTimeoutMs: storage.connectTimeoutMs,
    idleTimeoutMs: storage.requestTimeoutMs,
    retryBudgetMs: config.transientRetryMs,
    // outputs may outgrow inputs (a slowed-down video): room for 8 times the largest input
    maxObjectBytes: config.maxFileSizeBytes * 8,
  });
}
