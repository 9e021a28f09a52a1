/**
 * ffmpeg's `-progress pipe:1` output: blocks of `key=value` lines, each
 * ending with `progress=continue` or `progress=end`. Pure parsing and maths.
 */
import { forwardPercentage } from '@media-foundry/shared';

export interface ProgressBlock {
  /** Media time written so far, in seconds. */
  outTimeSeconds: number | null;
  frame: number | null;
  fps: number | null;
  totalSizeBytes: number | null;
  /** Encode speed relative to real time (1.5 = 1.5x). */
  speed: number | null;
  end: boolean;
}

/** Accumulates lines and yields a block on every `progress=` line. */
export class ProgressParser {
  private fields = new Map<string, string>();

  /** Feeds one line; returns a finished block, or null mid-block. */
  push(line: string): ProgressBlock | null {
    const eq = line.indexOf('=');
    if (eq <= 0) return null;
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    if (key !== 'progress') {
      this.fields.set(key, value);
      return null;
    }
    const f = this.fields;
    this.fields = new Map();
    const number = (k: string) => {
      const v = f.get(k);
      if (v === undefined || v === 'N/A') return null;
      const n = Number.parseFloat(v);
      return Number.isFinite(n) ? n : null;
    };
    // out_time_ms is microseconds too (an old ffmpeg naming mistake); prefer out_time_us
    const us = number('out_time_us') ?? number('out_time_ms');
    return {
      outTimeSeconds: us === null ? null : Math.max(0, us / 1e6),
      frame: number('frame'),
      fps: number('fps'),
      totalSizeBytes: number('total_size'),
      speed: number('speed'), // "1.5x" parses as 1.5
      end: value === 'end',
    };
  }
}

/**
 * The spec's `ffmpeg_log` line, e.g. `frame=123 fps=45 size=1024kB time=00:00:05.00 speed=1.5x`.
 * A rate of 0 (`fps=0`, `speed=0x`: what ffmpeg reports before it has
 * measured anything, and fps always for audio) says nothing and is left out.
 */
export function formatProgressLine(b: ProgressBlock): string {
  const parts: string[] = [];
  if (b.frame !== null) parts.push(`frame=${b.frame}`);
  if (b.fps !== null && b.fps > 0) parts.push(`fps=${b.fps}`);
  if (b.totalSizeBytes !== null) parts.push(`size=${Math.round(b.totalSizeBytes / 1024)}kB`);
  if (b.outTimeSeconds !== null) parts.push(`time=${formatClock(b.outTimeSeconds)}`);
  if (b.speed !== null && b.speed > 0) parts.push(`speed=${b.speed}x`);
  return parts.join(' ');
}

function formatClock(seconds: number): string {
  // truncate to centiseconds once, as ffmpeg's own stats line does (never "00:00:60.00")
  const cs = Math.floor(seconds * 100 + 1e-6);
  const h = Math.floor(cs / 360_000);
  const m = Math.floor((cs % 360_000) / 6000);
  const s = (cs % 6000) / 100;
  return `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}:${s.toFixed(2).padStart(5, '0')}`;
}

/**
 * Overall percentage of a plan of `runs` ffmpeg runs, run `runIndex` being
 * `fraction` done (0–1). Stays below 100 until the job is really finished.
 */
export function planPercentage(runIndex: number, runs: number, fraction: number): number {
  const clamped = Math.min(Math.max(fraction, 0), 1);
  const pct = ((runIndex + clamped) / runs) * 100;
  return Math.min(99.9, Math.round(pct * 10) / 10);
}

/**
 * Overall percentage of a plan whose runs write `runSeconds` each, run
 * `runIndex` being `fraction` done: each run counts by the media seconds it
 * writes (a run of unknown length, such as one thumbnail, counts as the
 * average of the others, or 1 s when none is known). Stays below 100 until
 * the job is really finished.
 */
export function weightedPercentage(runSeconds: readonly (number | null)[], runIndex: number, fraction: number): number {
  const known = runSeconds.filter((s): s is number => s !== null && s > 0);
  const fallback = known.length > 0 ? known.reduce((a, b) => a + b, 0) / known.length : 1;
  const weights = runSeconds.map((s) => (s !== null && s > 0 ? s : fallback));
  const total = weights.reduce((a, b) => a + b, 0);
  const done = weights.slice(0, runIndex).reduce((a, b) => a + b, 0);
  const clamped = Math.min(Math.max(fraction, 0), 1);
  const pct = ((done + clamped * (weights[runIndex] ?? 0)) / total) * 100;
  return Math.min(99.9, Math.round(pct * 10) / 10);
}

/** The percentage function of a plan: weighted by `runSeconds` when it gives them, else every run alike. */
export function planProgress(plan: {
  runs: readonly unknown[];
  runSeconds?: readonly (number | null)[];
}): (runIndex: number, fraction: number) => number {
  const seconds = plan.runSeconds;
  return seconds ? (i, f) => weightedPercentage(seconds, i, f) : (i, f) => planPercentage(i, plan.runs.length, f);
}

/**
 * Passes on at most one update per `intervalMs`, keeps the percentage from
 * going backwards, and always passes a stage change at once.
 */
export class ProgressThrottle<T extends { percentage: number; stage: string }> {
  private lastSent = -Infinity;
  private lastStage: string | null = null;
  private highest = 0;

  constructor(
    private readonly intervalMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** The update to send (percentage made monotonic), or null to drop it. `always`: an event worth sending whatever the interval. */
  offer(update: T, always = false): T | null {
    const t = this.now();
    if (!always && update.stage === this.lastStage && t - this.lastSent < this.intervalMs) return null;
    this.highest = forwardPercentage(this.highest, update.percentage);
    this.lastSent = t;
    this.lastStage = update.stage;
    return { ...update, percentage: this.highest };
  }
}
