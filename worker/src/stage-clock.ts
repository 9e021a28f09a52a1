/**
 * Where a job's time goes: wall time per stage, kept per job and exported as
 * `mf_worker_stage_seconds{operation,stage}` when the job ends, so the fixed
 * cost of a tiny job can be read off /metrics and the 'job completed' log.
 */

/** A job's stages, in the order they happen. */
export const STAGES = ['queue_wait', 'input_fetch', 'probe', 'ffmpeg', 'output_probe', 'store', 'reply'] as const;
export type Stage = (typeof STAGES)[number];

export class StageClock {
  private readonly ms = new Map<Stage, number>();

  /** Adds `ms` to `stage` (a stage may run several times: one probe per input). */
  add(stage: Stage, ms: number): void {
    this.ms.set(stage, (this.ms.get(stage) ?? 0) + Math.max(0, ms));
  }

  /** Runs `step`, its wall time counted to `stage` whether it succeeds or not. */
  async time<T>(stage: Stage, step: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await step();
    } finally {
      this.add(stage, performance.now() - started);
    }
  }

  /** Stages that ran, in order, with their seconds. */
  entries(): [Stage, number][] {
    return STAGES.filter((s) => this.ms.has(s)).map((s) => [s, this.ms.get(s)! / 1000]);
  }

  /** Milliseconds per stage that ran, rounded, for logs. */
  summary(): Partial<Record<Stage, number>> {
    return Object.fromEntries(STAGES.filter((s) => this.ms.has(s)).map((s) => [s, Math.round(this.ms.get(s)!)]));
  }
}
