/**
 * The worker's per-stage histogram (`mf_worker_stage_seconds{operation,stage}`
 * on its /metrics), read as the benchmarks read it: totals from two scrapes,
 * and each stage's mean between them (Δsum ÷ Δcount).
 */

export const STAGE_METRIC = 'mf_worker_stage_seconds';
/** The stages the worker reports, in the order a job goes through them. */
export const STAGES = ['queue_wait', 'input_fetch', 'probe', 'ffmpeg', 'output_probe', 'store', 'reply'] as const;

export type Totals = Map<string, { sum: number; count: number }>;

/**
 * `_sum` and `_count` of a histogram from Prometheus text, for one
 * operation, keyed by the value of label `by` ('' without one).
 */
export function histogramTotals(text: string, metric: string, operation: string, by?: string): Totals {
  const totals: Totals = new Map();
  const line = new RegExp(`^${metric}_(sum|count)\\{([^}]*)\\}\\s+(\\S+)`);
  for (const row of text.split('\n')) {
    const m = line.exec(row);
    if (!m) continue;
    const labels = Object.fromEntries([...m[2]!.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1]!, l[2]!]));
    if (labels.operation !== operation) continue;
    const key = by === undefined ? '' : labels[by];
    if (key === undefined) continue;
    const t = totals.get(key) ?? { sum: 0, count: 0 };
    t[m[1] as 'sum' | 'count'] = Number(m[3]);
    totals.set(key, t);
  }
  return totals;
}

/** Mean per key between two scrapes (Δsum ÷ Δcount); null where nothing was observed. */
export function means(before: Totals, after: Totals, keys: Iterable<string>): Map<string, number | null> {
  const out = new Map<string, number | null>();
  for (const key of keys) {
    const a = after.get(key);
    const b = before.get(key) ?? { sum: 0, count: 0 };
    const count = a ? a.count - b.count : 0;
    out.set(key, a && count > 0 ? (a.sum - b.sum) / count : null);
  }
  return out;
}

/** The stage totals of `operation`'s jobs on a worker's /metrics now. */
export async function scrapeStages(metricsUrl: string, operation: string): Promise<Totals> {
  return histogramTotals(await (await fetch(metricsUrl)).text(), STAGE_METRIC, operation, 'stage');
}

/** `input_fetch 0.68 s, ffmpeg 17.2 s, …`: the stages observed between two scrapes, in a job's order, in seconds. */
export function stageLine(before: Totals, after: Totals): string {
  const seen = means(before, after, new Set([...STAGES, ...after.keys()]));
  return [...seen]
    .filter((entry): entry is [string, number] => entry[1] !== null)
    .map(([stage, seconds]) => `${stage} ${seconds < 0.1 ? `${(seconds * 1000).toFixed(1)} ms` : `${seconds.toFixed(2)} s`}`)
    .join(', ');
}
