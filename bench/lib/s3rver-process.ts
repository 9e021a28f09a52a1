import { fork } from 'node:child_process';

export interface S3Endpoint {
  endpoint: string;
  bucket: string;
  /** STORAGE_DRIVER=s3 and the S3_* variables the services need for it. */
  env: Record<string, string>;
}

/**
 * s3rver in its own process (s3rver-child.ts), so that it does not share an
 * event loop with the benchmark's clients or its media server: each side of
 * a comparison then talks to the same separate server process, as services
 * talk to S3 in production.
 */
export async function startS3rverProcess(): Promise<{ s3: S3Endpoint; pid: number; stop: () => Promise<void> }> {
  const child = fork(new URL('s3rver-child.js', import.meta.url), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  try {
    const s3 = await new Promise<S3Endpoint>((resolve, reject) => {
      child.once('message', (m) => resolve(m as S3Endpoint));
      child.once('error', reject);
      void exited.then(() =>
        reject(new Error(`s3rver process exited (${String(child.exitCode ?? child.signalCode)}) before it was ready`)),
      );
    });
    return { s3, pid: child.pid!, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
