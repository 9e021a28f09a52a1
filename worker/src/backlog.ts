/** The worker's view of the backlog for /health and /metrics: the intake queue plus every tenant queue it knows of. */
import { type Logger, PolledValue, type TenantQueues } from '@media-foundry/shared/node';
import type { TenantDirectory } from './scheduler/tenant-directory.js';

export class BacklogProbe {
  private readonly intake: PolledValue;

  constructor(
    tenants: TenantQueues,
    private readonly directory: TenantDirectory,
    logger: Logger,
  ) {
    this.intake = new PolledValue(() =>
      tenants.intakeDepth().catch((err: unknown) => {
        logger.debug({ err }, 'intake depth not read');
        return null;
      }),
    );
  }

  start(): void {
    this.intake.start();
  }

  stop(): void {
    this.intake.stop();
  }

  /** Jobs waiting (not running); null while the intake queue cannot be read. */
  total(): number | null {
    const intake = this.intake.current();
    if (intake === null) return null;
    return intake + this.directory.all().reduce((sum, t) => sum + (t.waiting ? (t.depth ?? 0) : 0), 0);
  }
}
