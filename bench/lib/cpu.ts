/**
 * CPU seconds from /proc: on a shared machine the wall time of a run moves
 * with whatever else runs, while the CPU a run costs barely does. USER_HZ
 * is 100 on every Linux we run on, so the figures are in 10 ms steps.
 */
import { readFile } from 'node:fs/promises';

const TICKS_PER_SECOND = 100;

/** CPU seconds (user + system) a process has used itself, and those of its children it has waited for. */
export async function processCpu(pid: number | 'self'): Promise<{ own: number; children: number }> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // after the parenthesised command name: utime, stime, cutime, cstime are fields 14-17 of the line, 12-15 here
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { own: (Number(f[11]) + Number(f[12])) / TICKS_PER_SECOND, children: (Number(f[13]) + Number(f[14])) / TICKS_PER_SECOND };
}

/** A process's CPU seconds with those of its ended children (ffmpeg and ffprobe, for the worker and this process). */
export async function processTreeCpu(pid: number | 'self'): Promise<number> {
  const { own, children } = await processCpu(pid);
  return own + children;
}

/**
 * A meter over this process and the service's processes (gateway, worker,
 * s3rver), each with its ended children: read before and after a run of
 * either side, the difference is what the run cost the machine.
 */
export function cpuMeter(pids: () => number[]): () => Promise<number> {
  return async () => {
    let total = 0;
    for (const pid of ['self' as const, ...pids()]) total += await processTreeCpu(pid);
    return total;
  };
}
