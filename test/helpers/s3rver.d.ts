declare module 's3rver' {
  interface S3rverOptions {
    address?: string;
    port?: number;
    silent?: boolean;
    directory: string;
    resetOnClose?: boolean;
    configureBuckets?: { name: string }[];
  }
  export default class S3rver {
    constructor(options: S3rverOptions);
    run(): Promise<{ address: string; port: number }>;
    close(): Promise<void>;
  }
}

declare module 's3rver/lib/stores/filesystem.js' {
  /** The parts of s3rver's file store that `mendS3rverFolderCleanUp` (s3.ts) replaces or uses. */
  export interface FilesystemStoreInternals {
    getBucketPath(bucket: string): string;
    getResourcePath(bucket: string, key: string, type: 'object' | 'object.md5' | 'metadata.json'): string;
    deleteObject(bucket: string, key: string): Promise<void>;
  }
  const FilesystemStore: { prototype: FilesystemStoreInternals };
  export default FilesystemStore;
}
