import { parseArgs, type ParseArgsConfig } from 'node:util';

/** Options every measure takes. */
export interface CommonOptions {
  /** Print the BENCH_RESULT line last (for the runner). */
  json: boolean;
  /** Fewer runs and smaller inputs: a smoke run, not figures to quote. */
  quick: boolean;
  /** Timed runs per side; each measure has its own default (full and quick). */
  runs: number | null;
  /** Where the service keeps inputs and outputs: `s3` (s3rver in its own process, as production uses S3) or `fs`. */
  storage: 's3' | 'fs';
  /** The worker's INPUT_PROBE: `auto` (MP4 headers read in-process) or `ffprobe` (the path before, for a side-by-side figure). */
  inputProbe: 'auto' | 'ffprobe';
}

type ExtraOptions = NonNullable<ParseArgsConfig['options']>;

/**
 * The common options plus a measure's own (`extra`), from the command line.
 * Returns the common ones normalised and the measure's raw values.
 */
export function parseOptions(
  argv: string[],
  extra: ExtraOptions = {},
): { common: CommonOptions; values: Record<string, string | boolean | undefined> } {
  const parsed = parseArgs({
    args: argv,
    options: {
      json: { type: 'boolean', default: false },
      quick: { type: 'boolean', default: false },
      runs: { type: 'string' },
      storage: { type: 'string', default: 's3' },
      'input-probe': { type: 'string', default: 'auto' },
      ...extra,
    },
  });
  const values = parsed.values as Record<string, string | boolean | undefined>;
  const runs = values.runs === undefined ? null : Number(values.runs);
  if (runs !== null && !(Number.isInteger(runs) && runs > 0))
    throw new Error(`--runs must be a positive whole number, not ${String(values.runs)}`);
  if (values.storage !== 's3' && values.storage !== 'fs') throw new Error(`--storage must be s3 or fs, not ${String(values.storage)}`);
  const inputProbe = values['input-probe'];
  if (inputProbe !== 'auto' && inputProbe !== 'ffprobe')
    throw new Error(`--input-probe must be auto or ffprobe, not ${String(inputProbe)}`);
  return {
    common: { json: values.json === true, quick: values.quick === true, runs, storage: values.storage, inputProbe },
    values,
  };
}

/** Runs per side: `--runs`, else the measure's default for a full or a quick run. */
export function runsFor(options: CommonOptions, full: number, quick: number): number {
  return options.runs ?? (options.quick ? quick : full);
}
