/**
 * CPU time of processes, from /proc (Linux): a figure of work done that a busy machine does not
 * inflate the way it inflates wall time.
 */
import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100;

/** User + system CPU seconds of a process and its threads; 0 when it is gone or not readable. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** The processes of the PostgreSQL cluster in `dataDir`: the postmaster and its children. */
export function clusterPids(dataDir: string): number[] {
  const all = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  const info = all.flatMap((d) => {
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      return [{ pid: Number(d), ppid, cmd }];
    } catch {
      return [];
    }
  });
  const postmaster = info.find((p) => p.cmd.includes(dataDir) && p.cmd[0]!.endsWith('postgres'));
  if (!postmaster) return [];
  return [postmaster.pid, ...info.filter((p) => p.ppid === postmaster.pid).map((p) => p.pid)];
}

/** CPU seconds of `pids` now; their difference over a span is the work done in it. */
export function totalCpuSeconds(pids: readonly number[]): number {
  return pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
}
