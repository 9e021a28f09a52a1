/**
 * `npm run bench`: every measure, one after another, each as its own child
 * process (`node bench/dist/<name>.js --json`), so that one measure's
 * processes never share the machine with another's; then a table of what
 * they printed last (BENCH_RESULT). Targets are printed, never asserted:
 * the exit code is 0 whether they are met or not.
 *
 *   npm run bench [-- --quick] [-- --runs N] [-- --only tiny-job,throughput] [-- --storage fs] [-- --input-probe ffprobe]
 */
import { spawn } from 'node:child_process';
import { access } from 'node:fs/promises';
import { availableParallelism, loadavg, totalmem } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type BenchResult, formatRatio, formatValue, parseResultLine, ratioOf, targetMet } from './lib/result.js';

interface Measure {
  name: string;
  /** What it compares, for the listing. */
  what: string;
  /** Whether it takes the common options (--quick, --storage). */
  common: boolean;
  /** Its own options in a quick run (measures without --quick). */
  quickArgs?: string[];
}

const MEASURES: Measure[] = [
  { name: 'tiny-job', what: 'PNG thumbnail of a 10 s 360p URL input: service vs the same ffmpeg', common: true },
  {
    name: 'remote-tiny-job',
    what: 'the tiny job with its origin across a network (20 ms to the first byte, 50 MB/s): service vs the same ffmpeg',
    common: true,
  },
  { name: 'large-input', what: 'thumbnail at 5 s of a ~200 MB URL input: service vs ffmpeg; bytes fetched', common: true },
  { name: 'compress', what: '60 s 720p compress: service vs ffmpeg with the same arguments', common: true },
  {
    name: 'idle-connections',
    what: 'memory per idle WebSocket: gateway vs a bare uWebSockets.js server',
    common: false,
    quickArgs: ['--connections', '5000'],
  },
  { name: 'throughput', what: '40 thumbnails from 4 clients on 2 slots: service vs 40 ffmpeg, 2 at a time', common: true },
  { name: 'stages', what: "where a tiny job's time goes (worker stage histogram)", common: true },
  { name: 'pipeline', what: '60 s 720p trim → speed → scale → compress: one pipeline job vs four jobs in a row', common: true },
  { name: 'short-video', what: 'speed ×2 of a 3 s 240p URL input (an MP4 out): service vs the same ffmpeg', common: true },
  { name: 'gif', what: '2 s GIF at 10 fps of a 10 s 360p URL input: service vs the same ffmpeg', common: true },
];

/** A measure that ran too long is stopped (SIGTERM: it cleans up), the rest go on. */
const MEASURE_TIMEOUT_MS = 45 * 60_000;

interface Outcome {
  measure: Measure;
  result: BenchResult | null;
  /** Why there is no result. */
  failure?: string;
  seconds: number;
}

/** Runs one measure's script, echoing its output indented, and returns the BENCH_RESULT it printed last. */
async function runMeasure(measure: Measure, args: string[]): Promise<Outcome> {
  const script = fileURLToPath(new URL(`${measure.name}.js`, import.meta.url));
  const started = performance.now();
  const elapsed = () => (performance.now() - started) / 1000;
  if (
    !(await access(script).then(
      () => true,
      () => false,
    ))
  )
    return { measure, result: null, failure: `not built (${script} is missing)`, seconds: 0 };
  const child = spawn(process.execPath, [script, '--json', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const timer = setTimeout(() => child.kill('SIGTERM'), MEASURE_TIMEOUT_MS);
  let result: BenchResult | null = null;
  const lines = createInterface({ input: child.stdout });
  lines.on('line', (line) => {
    const parsed = parseResultLine(line);
    if (parsed) result = parsed;
    else console.log(`  │ ${line}`);
  });
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.once('close', (c, s) => resolve([c, s])),
  );
  clearTimeout(timer);
  if (result) return { measure, result, seconds: elapsed() };
  return { measure, result: null, failure: `no result (exit ${code ?? signal})`, seconds: elapsed() };
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

const USAGE = `usage: npm run bench [-- --quick] [-- --runs N] [-- --only name,name] [-- --storage s3|fs] [-- --input-probe ffprobe] [-- --ffmpeg-prestart false] [-- --list]
  --quick        fewer runs and smaller inputs: a smoke run, not figures to quote
  --runs N       timed runs per side for the measures that time runs (tiny-job, large-input, compress, throughput, stages, pipeline)
  --only names   only these measures (--list names them)
  --storage      the storage the service runs on: s3 (s3rver, the default) or fs
  --input-probe  ffprobe: describe inputs with ffprobe instead of the worker's own readers
  --ffmpeg-prestart false: start the worker's ffmpeg per job instead of loading it ahead (FFMPEG_PRESTART)
  --list         the measures, one line each
  --help         this`;

/** Says what is wrong with the command line, and how it is used, then exits (no stack trace). */
function usageError(problem: string): never {
  console.error(`${problem}\n${USAGE}`);
  process.exit(2);
}

function options() {
  let values;
  try {
    values = parseArgs({
      args: process.argv.slice(2),
      options: {
        only: { type: 'string' },
        quick: { type: 'boolean', default: false },
        runs: { type: 'string' },
        storage: { type: 'string' },
        'input-probe': { type: 'string' },
        'ffmpeg-prestart': { type: 'string' },
        list: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    }).values;
  } catch (err) {
    usageError((err as Error).message); // an unknown option or a missing value
  }
  if (values.runs !== undefined && !/^[1-9]\d*$/.test(values.runs))
    usageError(`--runs must be a positive whole number, not '${values.runs}'`);
  const unknown = values.only?.split(',').filter((name) => !MEASURES.some((m) => m.name === name.trim())) ?? [];
  if (unknown.length > 0) usageError(`unknown measure(s) ${unknown.join(', ')}; known: ${MEASURES.map((m) => m.name).join(', ')}`);
  return values;
}

async function main(): Promise<void> {
  const values = options();
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (values.list) {
    for (const m of MEASURES) console.log(`${m.name.padEnd(18)} ${m.what}`);
    return;
  }
  const only = values.only?.split(',').map((s) => s.trim()) ?? null;
  const selected = MEASURES.filter((m) => only === null || only.includes(m.name));
  const commonArgs = [
    ...(values.quick ? ['--quick'] : []),
    ...(values.runs ? ['--runs', values.runs] : []),
    ...(values.storage ? ['--storage', values.storage] : []),
    ...(values['input-probe'] ? ['--input-probe', values['input-probe']] : []),
    ...(values['ffmpeg-prestart'] ? ['--ffmpeg-prestart', values['ffmpeg-prestart']] : []),
  ];

  const started = performance.now();
  console.log(
    `media-foundry bench${values.quick ? ' (quick)' : ''}: ${selected.map((m) => m.name).join(', ')}; ` +
      `${availableParallelism()} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`,
  );
  const outcomes: Outcome[] = [];
  for (const [i, measure] of selected.entries()) {
    const load = loadavg()
      .map((l) => l.toFixed(2))
      .join(' ');
    console.log(`\n── ${measure.name} (${i + 1}/${selected.length}): ${measure.what} — load average ${load}`);
    const args = measure.common ? commonArgs : values.quick ? (measure.quickArgs ?? []) : [];
    const outcome = await runMeasure(measure, args);
    outcomes.push(outcome);
    console.log(`── ${measure.name}: ${outcome.failure ?? 'done'} in ${outcome.seconds.toFixed(0)} s`);
  }

  const rows = [['measure', 'service', 'reference', 'ratio', 'target', 'met', 'CPU ratio']];
  for (const o of outcomes) {
    if (!o.result) {
      rows.push([o.measure.name, '—', '—', '—', '—', o.failure ?? 'failed', '—']);
      continue;
    }
    for (const r of [o.result, ...(o.result.more ?? [])]) {
      const met = targetMet(r);
      rows.push([
        r.name,
        formatValue(r.service, r.unit),
        formatValue(r.reference, r.unit),
        formatRatio(r.ratio),
        r.target,
        met === null ? '—' : met ? 'met' : 'not met',
        r.cpu ? formatRatio(ratioOf(r.cpu.service, r.cpu.reference)) : '—',
      ]);
    }
  }
  console.log(`\n${table(rows)}`);
  const stages = outcomes.find((o) => o.result?.stages)?.result?.stages;
  if (stages) {
    const ms = (s: number | null | undefined) => (s === null || s === undefined ? 'n/a' : `${(s * 1000).toFixed(1)} ms`);
    console.log(
      `\nstages of a tiny job (mean): ${Object.entries(stages)
        .map(([k, v]) => `${k} ${ms(v)}`)
        .join(', ')}`,
    );
  }
  for (const o of outcomes) if (o.result?.notes) console.log(`\n${o.result.name}: ${o.result.notes}`);
  console.log(
    `\nCPU ratio: median CPU seconds of a service run ÷ a reference run, every process involved (steadier than wall time on a shared machine)`,
  );
  console.log(`total ${((performance.now() - started) / 60_000).toFixed(1)} min; targets are printed, not asserted`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 2;
});
