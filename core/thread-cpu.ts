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
 */
import { readFileSync } from 'node:fs';

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
