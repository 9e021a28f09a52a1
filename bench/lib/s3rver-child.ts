/**
 * The child side of s3rver-process.ts: the tests' s3rver, without the
 * fault-injecting proxy they put in front of it (startBareS3), in a process
 * of its own, serving until told to stop or the parent goes away; then its
 * directory is removed.
 */
import { loadTestHelpers } from './helpers.js';
import type { S3Endpoint } from './s3rver-process.js';

async function main(): Promise<void> {
  const { s3: s3Helpers } = await loadTestHelpers();
  const s3 = await s3Helpers.startBareS3('bench');
  let closing: Promise<void> | null = null;
  const close = () => {
    closing ??= s3.close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(`s3rver: close failed: ${(err as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', close);
  process.on('SIGINT', close);
  process.on('disconnect', close);
  const ready: S3Endpoint = { endpoint: s3.endpoint, bucket: s3.bucket, env: s3.env };
  process.send!(ready);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
