/** Small statistics over timing samples. */

export function median(values: number[]): number {
  if (values.length === 0) throw new Error('median of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function mean(values: number[]): number {
  if (values.length === 0) throw new Error('mean of no values');
  return values.reduce((a, b) => a + b, 0) / values.length;
}

/** Seconds `run` takes, by the monotonic clock. */
export async function timed(run: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await run();
  return (performance.now() - started) / 1000;
}

/** Samples of both sides of a comparison, in the order they ran: seconds, and the CPU seconds each run cost. */
export interface Samples {
  service: number[];
  reference: number[];
  cpu: { service: number[]; reference: number[] };
}

/**
 * Runs both sides `runs` times each, alternately and in mirrored order
 * (service, reference, reference, service, …), so that drift in the
 * machine's load and caches hits both sides alike. Each side returns its
 * seconds; `cpu` reads the CPU seconds spent so far by every process
 * involved (lib/cpu.ts); `log` gets one line per run.
 */
export async function alternate(
  runs: number,
  service: (run: number) => Promise<number>,
  reference: (run: number) => Promise<number>,
  cpu: () => Promise<number>,
  log: (line: string) => void = console.log,
): Promise<Samples> {
  const samples: Samples = { service: [], reference: [], cpu: { service: [], reference: [] } };
  const sides = { service, reference };
  for (let run = 1; run <= runs; run++) {
    const order = run % 2 === 1 ? (['service', 'reference'] as const) : (['reference', 'service'] as const);
    for (const side of order) {
      const cpuBefore = await cpu();
      const seconds = await sides[side](run);
      const cpuSeconds = (await cpu()) - cpuBefore;
      samples[side].push(seconds);
      samples.cpu[side].push(cpuSeconds);
      log(`run ${run}  ${side.padEnd(9)}  ${seconds.toFixed(3)} s  (CPU ${cpuSeconds.toFixed(2)} s)`);
    }
  }
  return samples;
}

const round2 = (n: number) => Math.round(n * 100) / 100;

/** The medians of a comparison, for a BenchResult: wall seconds and CPU seconds. */
export function summarise(samples: Samples): {
  service: number;
  reference: number;
  cpu: { service: number; reference: number };
} {
  return {
    service: median(samples.service),
    reference: median(samples.reference),
    // /proc counts in 10 ms ticks: more digits would be noise
    cpu: { service: round2(median(samples.cpu.service)), reference: round2(median(samples.cpu.reference)) },
  };
}
