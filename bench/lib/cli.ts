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
  /** The worker's FFMPEG_PRESTART: ffmpeg loaded ahead of each job (`true`, the default) or started per job (the path before). */
  ffmpegPrestart: boolean;
}

type ExtraOptions = NonNullable<ParseArgsConfig['options']>;

/** A command line the measure cannot take (or `--help`): runMain prints the problem and the usage, not a stack. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly usage: string,
    /** 0 for `--help`, 2 for a mistake. */
    readonly exitCode = 2,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/** What the common options' values look like, in a usage line. */
const VALUE_HINTS: Record<string, string> = { runs: 'N', storage: 's3|fs', 'input-probe': 'auto|ffprobe', 'ffmpeg-prestart': 'true|false' };

/** `usage: node bench/dist/<script> [--flag] [--name value] …` for the options a measure takes. */
function usageOf(options: ExtraOptions): string {
  const script = process.argv[1]?.replace(/.*\/bench\//, 'bench/') ?? 'bench/dist/<measure>.js';
  const each = Object.entries(options).map(([name, o]) =>
    o.type === 'boolean' ? `[--${name}]` : `[--${name} ${VALUE_HINTS[name] ?? 'value'}]`,
  );
  return `usage: node ${script} ${each.join(' ')}`;
}

/** parseArgs, its errors (an unknown option, a missing value) and `--help` as UsageErrors. */
function parseOrExplain(argv: string[], options: ExtraOptions): Record<string, string | boolean | undefined> {
  const usage = usageOf(options);
  if (argv.includes('--help') || argv.includes('-h')) throw new UsageError('', usage, 0);
  try {
    return parseArgs({ args: argv, options }).values as Record<string, string | boolean | undefined>;
  } catch (err) {
    throw new UsageError((err as Error).message, usage);
  }
}

/**
 * The common options plus a measure's own (`extra`), from the command line.
 * Returns the common ones normalised and the measure's raw values.
 */
export function parseOptions(
  argv: string[],
  extra: ExtraOptions = {},
): { common: CommonOptions; values: Record<string, string | boolean | undefined> } {
  const options: ExtraOptions = {
    json: { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
    runs: { type: 'string' },
    storage: { type: 'string', default: 's3' },
    'input-probe': { type: 'string', default: 'auto' },
    'ffmpeg-prestart': { type: 'string', default: 'true' },
    ...extra,
  };
  const values = parseOrExplain(argv, options);
  const wrong = (problem: string) => new UsageError(problem, usageOf(options));
  const runs = values.runs === undefined ? null : Number(values.runs);
  if (runs !== null && !(Number.isInteger(runs) && runs > 0))
    throw wrong(`--runs must be a positive whole number, not ${String(values.runs)}`);
  if (values.storage !== 's3' && values.storage !== 'fs') throw wrong(`--storage must be s3 or fs, not ${String(values.storage)}`);
  const inputProbe = values['input-probe'];
  if (inputProbe !== 'auto' && inputProbe !== 'ffprobe') throw wrong(`--input-probe must be auto or ffprobe, not ${String(inputProbe)}`);
  const prestart = values['ffmpeg-prestart'];
  if (prestart !== 'true' && prestart !== 'false') throw wrong(`--ffmpeg-prestart must be true or false, not ${String(prestart)}`);
  return {
    common: {
      json: values.json === true,
      quick: values.quick === true,
      runs,
      storage: values.storage,
      inputProbe,
      ffmpegPrestart: prestart === 'true',
    },
    values,
  };
}

/** Runs per side: `--runs`, else the measure's default for a full or a quick run. */
export function runsFor(options: CommonOptions, full: number, quick: number): number {
  return options.runs ?? (options.quick ? quick : full);
}

/**
 * The options of a measure that takes none of the common ones
 * (idle-connections, upload-throughput): each of `names` as `--name value`
 * on the command line, else BENCH_<NAME> in the environment (`chunk-kb`:
 * BENCH_CHUNK_KB), else the default its reader is given; `flags` only on the
 * command line.
 */
export function ownOptions(argv: string[], names: string[], flags: string[] = []) {
  const options: ExtraOptions = Object.fromEntries([
    ...names.map((name) => [name, { type: 'string' } as const]),
    ...flags.map((flag) => [flag, { type: 'boolean', default: false } as const]),
  ]);
  const values = parseOrExplain(argv, options);
  const read = (name: string, fallback: number, ok: (n: number) => boolean, what: string): number => {
    const given = values[name] ?? process.env[`BENCH_${name.toUpperCase().replaceAll('-', '_')}`];
    const value = typeof given === 'string' ? given : undefined;
    const n = Number(value ?? fallback);
    if (!ok(n)) throw new UsageError(`--${name} must be ${what}, not ${JSON.stringify(value)}`, usageOf(options));
    return n;
  };
  return {
    /** A positive number. */
    number: (name: string, fallback: number) => read(name, fallback, (n) => Number.isFinite(n) && n > 0, 'a positive number'),
    /** A whole number of at least `min`. */
    whole: (name: string, fallback: number, min = 1) =>
      read(name, fallback, (n) => Number.isInteger(n) && n >= min, `a whole number of at least ${min}`),
    flag: (name: string): boolean => values[name] === true,
  };
}
