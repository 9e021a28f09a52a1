/**
 * The one line every measure prints last with `--json`, and what the runner
 * reads back: `BENCH_RESULT {"name":…,"service":…,"reference":…,"ratio":…,…}`.
 */

/** Printed before the JSON of a result, so the runner finds it among the measure's other output. */
export const RESULT_PREFIX = 'BENCH_RESULT ';

export interface BenchResult {
  /** The measure's name (its script is bench/<name>.ts). */
  name: string;
  /** The service's figure, in `unit`; null when it could not be measured. */
  service: number | null;
  /** The reference's figure (raw ffmpeg on the same input, same machine), in `unit`. */
  reference: number | null;
  /** service ÷ reference; null when either is missing. */
  ratio: number | null;
  /** Unit of `service` and `reference`: 's', 'bytes', … */
  unit: string;
  /** What the ratio should be, as `≤ 1.3`; `—` when there is none. */
  target: string;
  /** What was compared and under which conditions, in a sentence or two. */
  notes: string;
  /**
   * Median CPU seconds of a run on each side, every process involved (this
   * one, the service's, and the ffmpeg/ffprobe they ran): what a run costs
   * the machine, steadier than wall time when other work shares it.
   */
  cpu?: { service: number; reference: number };
  /** Measure 6 (stages): mean seconds per worker stage; null for a stage the worker does not report. */
  stages?: Record<string, number | null>;
  /** More rows of the same run (large-input: the bytes fetched, next to the time). */
  more?: BenchResult[];
}

/** service ÷ reference, or null when either is missing or the reference is zero. */
export function ratioOf(service: number | null, reference: number | null): number | null {
  return service === null || reference === null || reference === 0 ? null : service / reference;
}

/** The result of a timing comparison: the medians of both sides (as `summarise` gives them), in seconds, and their ratio. */
export function timingResult(
  name: string,
  medians: { service: number; reference: number; cpu: { service: number; reference: number } },
  target: string,
  notes: string,
): BenchResult {
  const { service, reference, cpu } = medians;
  return { name, service, reference, ratio: ratioOf(service, reference), unit: 's', cpu, target, notes };
}

/**
 * Whether a result meets its target: true, false, or null when there is no
 * target or no figure. A target is one or more clauses joined by `and`:
 * `≤ N` or `≤ N×` bounds the ratio, `≤ N <unit>` (e.g. `≤ 1200 B`) bounds
 * the service's own figure.
 */
export function targetMet(result: Pick<BenchResult, 'service' | 'ratio' | 'target'>): boolean | null {
  const verdicts: boolean[] = [];
  for (const clause of result.target.split(/\band\b/)) {
    const m = /^\s*(?:≤|<=)\s*([0-9.]+)\s*(×|x)?\s*([A-Za-z%]\S*)?/.exec(clause);
    if (!m) continue;
    const value = m[3] ? result.service : result.ratio;
    if (value === null) return null;
    verdicts.push(value <= Number(m[1]));
  }
  return verdicts.length === 0 ? null : verdicts.every(Boolean);
}

/** The result on a BENCH_RESULT line, or null for any other line. */
export function parseResultLine(line: string): BenchResult | null {
  if (!line.startsWith(RESULT_PREFIX)) return null;
  const parsed = JSON.parse(line.slice(RESULT_PREFIX.length)) as Partial<BenchResult>;
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  return {
    ...parsed,
    name: String(parsed.name ?? '?'),
    service: num(parsed.service),
    reference: num(parsed.reference),
    ratio: num(parsed.ratio),
    unit: String(parsed.unit ?? ''),
    target: String(parsed.target ?? '—'),
    notes: String(parsed.notes ?? ''),
  };
}

/** The CPU figures of a result, for its notes. */
export function cpuNote(cpu: { service: number; reference: number }): string {
  return `CPU seconds per run (median, all processes): service ${cpu.service.toFixed(2)}, reference ${cpu.reference.toFixed(2)} (${formatRatio(ratioOf(cpu.service, cpu.reference))}×)`;
}

/** A figure with its unit, for people: seconds to ms precision, bytes in MiB. */
export function formatValue(value: number | null, unit: string): string {
  if (value === null) return 'n/a';
  if (unit === 's') return value < 10 ? `${value.toFixed(3)} s` : `${value.toFixed(1)} s`;
  if (unit === 'bytes') return `${(value / 1024 / 1024).toFixed(1)} MiB`;
  return `${Number(value.toPrecision(4))} ${unit}`;
}

export function formatRatio(ratio: number | null): string {
  return ratio === null ? 'n/a' : ratio < 0.1 ? ratio.toFixed(4) : ratio.toFixed(2);
}

/** Prints a result for people, and with `json` the BENCH_RESULT line last. */
export function reportResult(result: BenchResult, json: boolean): void {
  for (const r of [result, ...(result.more ?? [])]) {
    const met = targetMet(r);
    const verdict = met === null ? '' : met ? '  (target met)' : '  (target not met)';
    console.log(
      `${r.name}: service ${formatValue(r.service, r.unit)}, reference ${formatValue(r.reference, r.unit)}, ` +
        `ratio ${formatRatio(r.ratio)}, target ${r.target}${verdict}`,
    );
  }
  if (json) console.log(RESULT_PREFIX + JSON.stringify(result));
}
