/**
 * CPU seconds from /proc: on a shared machine the wall time of a run moves
 * with whatever else runs, while the CPU a run costs barely does. USER_HZ
 * is 100 on every Linux we run on, so the figures are in 10 ms steps.
 */
import { readdir, readFile } from 'node:fs/promises';

const TICKS_PER_SECOND = 100;

/** CPU seconds (user + system) a process has used itself, and those of its children it has waited for. */
export async function processCpu(pid: number | 'self'): Promise<{ own: number; children: number }> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // after the parenthesised command name: utime, stime, cutime, cstime are fields 14-17 of the line, 12-15 here
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { own: (Number(f[11]) + Number(f[12])) / TICKS_PER_SECOND, children: (Number(f[13]) + Number(f[14])) / TICKS_PER_SECOND };
}

/** The children a process has now (every thread's), by pid; none once it is gone. */
export async function liveChildren(pid: number | 'self'): Promise<number[]> {
  const tasks = await readdir(`/proc/${pid}/task`).catch(() => []);
  const lists = await Promise.all(tasks.map((t) => readFile(`/proc/${pid}/task/${t}/children`, 'utf8').catch(() => '')));
  return lists.flatMap((list) => list.split(' ').filter(Boolean).map(Number));
}

/**
 * CPU seconds of processes with all their descendants: the ended ones they
 * waited for (ffmpeg and ffprobe runs) and the live ones with theirs (the
 * worker's launcher process, and the runs it waited for). A process under
 * two of the roots (the service's, under this one) counts once.
 */
export async function processTreeCpu(...roots: (number | 'self')[]): Promise<number> {
  const seen = new Set<number | 'self'>();
  const visit = async (pid: number | 'self'): Promise<number> => {
    if (seen.has(pid)) return 0;
    seen.add(pid);
    const { own, children } = await processCpu(pid);
    let live = 0;
    for (const child of await liveChildren(pid)) live += await visit(child).catch(() => 0);
    return own + children + live;
  };
  let total = 0;
  for (const root of roots) total += await visit(root);
  return total;
}

/**
 * A meter over this process and the service's processes (gateway, worker,
 * s3rver), each with its descendants: read before and after a run of
 * either side, the difference is what the run cost the machine.
 */
export function cpuMeter(pids: () => number[]): () => Promise<number> {
  return () => processTreeCpu(...pids(), 'self');
}

/**
 * The local RabbitMQ server's pid (its Erlang VM, `beam.smp … -s rabbit boot`),
 * or null when there is none on this machine: the broker shares the cores with
 * every measure, and its CPU per job is part of what a job costs. Other Erlang
 * VMs (`rabbitmq-diagnostics` runs one for a moment) are not it.
 */
export async function localBrokerPid(): Promise<number | null> {
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const comm = await readFile(`/proc/${entry}/comm`, 'utf8').catch(() => '');
    if (comm.trim() !== 'beam.smp') continue;
    const argv = (await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')).split('\0');
    if (argv.some((arg, i) => arg === '-s' && argv[i + 1] === 'rabbit' && argv[i + 2] === 'boot')) return Number(entry);
  }
  return null;
}
