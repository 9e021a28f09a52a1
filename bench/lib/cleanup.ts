import { UsageError } from './cli.js';

/** Steps run once, last registered first, on success, failure or Ctrl-C alike; a failing step does not stop the others. */
export class Cleanup {
  private readonly steps: { name: string; run: () => Promise<unknown> }[] = [];
  private done: Promise<void> | null = null;

  add(name: string, run: () => Promise<unknown>): void {
    this.steps.push({ name, run });
  }

  run(): Promise<void> {
    this.done ??= (async () => {
      for (const step of this.steps.reverse()) {
        try {
          await step.run();
        } catch (err) {
          console.error(`cleanup: ${step.name} failed: ${(err as Error).message}`);
        }
      }
    })();
    return this.done;
  }
}

/**
 * Runs a measure's `main` with a Cleanup that always runs: at the end, on an
 * error (exit code 1) and on SIGINT/SIGTERM (exit code 130).
 */
export function runMain(main: (cleanup: Cleanup) => Promise<void>): void {
  const cleanup = new Cleanup();
  const onSignal = (signal: NodeJS.Signals) => {
    console.error(`\n${signal}: cleaning up`);
    void cleanup.run().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  void main(cleanup)
    .catch((err: unknown) => {
      if (err instanceof UsageError) {
        console.error(err.message ? `${err.message}\n${err.usage}` : err.usage);
        process.exitCode = err.exitCode;
        return;
      }
      console.error(err);
      process.exitCode = 1;
    })
    .finally(() => cleanup.run())
    .finally(() => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      // a handle something forgot to close must not hold the runner: stdout has flushed by then
      setTimeout(() => process.exit(), 5000).unref();
    });
}
