/**
 * The calling thread's scheduler times, for telling a phase's own cost from the time it waited for
 * a CPU on a loaded machine: `cpuMs` (time running on a CPU) and `waitMs` (time runnable but
 * waiting on a run queue), from Linux's /proc/thread-self/schedstat (nanoseconds). Per thread, so
 * a worker thread's figures are its own (process.cpuUsage() sums every thread). null where the
 * file does not exist (not Linux) or does not parse: callers then report no such figures.
 *
 *   const t0 = threadTimes();
 *   …work…
 *   const d = timesSince(t0); // { cpuMs, waitMs } | null
 *
 * Contention: how much longer CPU-bound work takes than its CPU time on this machine right now,
 * k = (cpu + wait) / cpu ≥ 1 (1 on an idle machine, ~N/cores with N runnable threads). The cost
 * model fits CPU and uncontended time (wall − wait) and multiplies the CPU part by the k a run will
 * meet. `probeContention` measures k by spinning the calling thread in short windows (its median,
 * so one preempted window does not decide it); `contentionOf` is the pure ratio.
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';

export interface ThreadTimes {
  cpuMs: number;
  waitMs: number;
}

/** A schedstat line ("<run ns> <wait ns> <timeslices>") as milliseconds; null unless it has that shape. */
export function parseSchedstat(text: string): ThreadTimes | null {
  const m = /^(\d+) (\d+) \d+\s*$/.exec(text);
  if (m === null) return null;
  return { cpuMs: Number(m[1]) / 1e6, waitMs: Number(m[2]) / 1e6 };
}

/** The calling thread's times so far, or null where they cannot be read. */
export function threadTimes(): ThreadTimes | null {
  try {
    return parseSchedstat(readFileSync('/proc/thread-self/schedstat', 'utf8'));
  } catch {
    return null;
  }
}

/** The calling thread's times since `start` (a threadTimes() of the same thread); null when either is unknown. */
export function timesSince(start: ThreadTimes | null): ThreadTimes | null {
  const now = threadTimes();
  if (start === null || now === null) return null;
  return { cpuMs: now.cpuMs - start.cpuMs, waitMs: now.waitMs - start.waitMs };
}

/** k = (cpu + wait) / cpu of one measured stretch, ≥ 1; null without CPU time to divide by. */
export function contentionOf(t: ThreadTimes): number | null {
  if (!(t.cpuMs > 0) || !(t.waitMs >= 0)) return null;
  return (t.cpuMs + t.waitMs) / t.cpuMs;
}

/** The median of the windows' k (windows without CPU time ignored); null when none had any. */
export function medianContention(windows: readonly ThreadTimes[]): number | null {
  const ks = windows.map(contentionOf).filter((k): k is number => k !== null).sort((a, b) => a - b);
  if (ks.length === 0) return null;
  const m = ks.length >> 1;
  return ks.length % 2 === 1 ? (ks[m] as number) : ((ks[m - 1] as number) + (ks[m] as number)) / 2;
}

export interface ContentionProbe {
  /** Median k of the windows. */
  contention: number;
  /** The 1-minute load average when measured (context for reports). */
  load1: number;
  windows: number;
  /** Wall time the probe spun, ms. */
  spentMs: number;
}

/**
 * Spins the calling thread for `windows` stretches of `windowMs` wall time each and returns the
 * median k; null where thread times cannot be read (not Linux). It costs windows × windowMs of
 * wall time (and up to that much CPU) on the calling thread.
 */
export function probeContention(windows = 5, windowMs = 20): ContentionProbe | null {
  const measured: ThreadTimes[] = [];
  const t0 = performance.now();
  for (let w = 0; w < windows; w++) {
    const start = threadTimes();
    if (start === null) return null;
    const until = performance.now() + windowMs;
    let x = 0;
    while (performance.now() < until) x = (x + 1) % 1_000_003;
    const d = timesSince(start);
    if (d === null || x < 0) return null;
    measured.push(d);
  }
  const k = medianContention(measured);
  return k === null ? null : { contention: k, load1: loadavg()[0] ?? 0, windows, spentMs: performance.now() - t0 };
}
