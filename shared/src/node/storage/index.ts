import type { Config } from '../../config.js';
import { FsStorage } from './fs-storage.js';
import { S3Storage } from './s3-storage.js';
import type { Storage } from './storage.js';

export * from './fs-storage.js';
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
  });
}
