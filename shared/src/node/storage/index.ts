import type { Config } from '../../config.js';
import { FsStorage } from './fs-storage.js';
import { S3Storage } from './s3-storage.js';
import type { Storage } from './storage.js';

export * from './fs-storage.js';
export * from './retry-strategy.js';
export * from './s3-storage.js';
export * from './storage.js';

/** The storage driver STORAGE_DRIVER names, configured from the rest of the config. */
export function createStorage(config: Config): Storage {
  if (config.STORAGE_DRIVER === 'fs') return new FsStorage(config.STORAGE_DIR);
  return new S3Storage({
    bucket: config.S3_BUCKET!, // the config schema requires it for s3
    region: config.S3_REGION,
    endpoint: config.S3_ENDPOINT,
    accessKeyId: config.S3_ACCESS_KEY_ID,
    secretAccessKey: config.S3_SECRET_ACCESS_KEY,
    forcePathStyle: config.S3_FORCE_PATH_STYLE,
    connectTimeoutMs: config.S3_CONNECT_TIMEOUT_SECONDS * 1000,
    idleTimeoutMs: config.S3_REQUEST_TIMEOUT_SECONDS * 1000,
    retryBudgetMs: config.TRANSIENT_RETRY_SECONDS * 1000,
    // outputs may outgrow inputs (a slowed-down video): room for 8 times the largest input
    maxObjectBytes: config.MAX_FILE_SIZE_MB * 1024 * 1024 * 8,
  });
}
