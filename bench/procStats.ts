/** What the benchmarks read about a process from /proc, and the order statistics they report. */
import { readdirSync, readFileSync } from 'node:fs';

/**
 * CPU seconds a process has run, all its threads, from /proc/<pid>/task/<tid>/schedstat
 * (nanoseconds). /proc/<pid>/stat counts in 10 ms ticks, which is 5 to 10% of one 50 MB transfer.
 */
export const cpuSeconds = (pid: number): number =>
  readdirSync(`/proc/${pid}/task`).reduce((sum, tid) => {
    try {
      return sum + Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]) / 1e9;
    } catch {
      return sum; // a thread that ended between the listing and the read
    }
  }, 0);

/**
 * User and system CPU seconds of `pid`, all its threads, from /proc/<pid>/stat (10 ms ticks:
 * good over a run of a second or more, as the split of a thousand requests' CPU).
 */
export const userSystemSeconds = (pid: number): { user: number; system: number } => {
  // The fields after the command's closing parenthesis; utime and stime are the 12th and 13th.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(f[11]) / 100, system: Number(f[12]) / 100 };
};

/** RssAnon: the process's own memory, without the pages of its binary and libraries that are shared with others. */
export const memKb = (pid: number, field: 'VmRSS' | 'VmHWM' | 'RssAnon'): number =>
  Number(new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);

/** This process's CPU seconds (the benchmark client's share). */
export const selfCpu = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

export const percentile = (xs: readonly number[], p: number): number =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))]!;
export const median = (xs: readonly number[]): number => percentile(xs, 50);

/**
 * Voluntary and involuntary context switches of every thread of `pid` so far: each is a wake-up,
 * the count `powertop` ranks by. A count, not a time, so it holds on a noisy host.
 */
export const contextSwitches = (pid: number): number =>
  readdirSync(`/proc/${pid}/task`).reduce((n, tid) => {
    try {
      const status = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
      const count = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+)$`, 'm').exec(status)?.[1] ?? 0);
      return n + count('voluntary_ctxt_switches') + count('nonvoluntary_ctxt_switches');
    } catch {
      return n; // a thread that ended between the listing and the read
    }
  }, 0);

/** What `pid` costs while nobody asks anything of it, over `ms`: wake-ups and CPU ms a second. */
export const idleCost = async (pid: number, ms: number): Promise<{ wakeupsPerSecond: number; cpuMsPerSecond: number }> => {
  const s0 = contextSwitches(pid);
  const c0 = cpuSeconds(pid);
  await new Promise((r) => setTimeout(r, ms));
  const seconds = ms / 1000;
  return { wakeupsPerSecond: (contextSwitches(pid) - s0) / seconds, cpuMsPerSecond: ((cpuSeconds(pid) - c0) * 1000) / seconds };
};
