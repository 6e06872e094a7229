/**
 * The tick planner and the overlap decision: pure functions of (schedule, cursor, now), so the
 * scheduler service, backfill and the tests share one definition of "which ticks run".
 *
 *   ticksOf(schedule)           the schedule's TickSource (core/ticks.ts);
 *   intervalOf(schedule, tick)  the tick's logical interval [previous tick, tick);
 *   planTicks({...})            the ticks in (cursor, now] and what to do with them per `catchup`:
 *       all     every due tick runs (oldest first; at most `max`, then `more` says continue);
 *       latest  only the newest due tick runs, older ones are skipped;
 *       none    the newest due tick runs only while it is on time (now − tick ≤ graceMs, default
 *               the smaller of 60 s and the schedule's period there); every other is skipped.
 *     `cursor` is the last tick already handled (run or skipped); the returned cursor is the new one.
 *   ticksBetween(schedule, from, to)  the ticks in [from, to) (backfill), oldest first.
 *   decideOverlap(policy, unfinished)  a tick while runs of the DAG are unfinished.
 */
import { cronTicks, everyTicks, type TickSource } from '../../core/ticks.js';
import type { RunInterval, ScheduleSpec } from '../../definitions/types.js';

export function ticksOf(s: ScheduleSpec): TickSource {
  if (s.everyMs !== undefined) return everyTicks(s.everyMs);
  if (s.cron !== undefined) return cronTicks(s.cron, s.timezone);
  throw new RangeError('a schedule has cron or everyMs');
}

export function intervalOf(s: ScheduleSpec, tick: number, src: TickSource = ticksOf(s)): RunInterval {
  const start = s.everyMs !== undefined ? tick - s.everyMs : (src.prev(tick) ?? tick);
  return { start, end: tick };
}

export interface TickPlan {
  /** Ticks to run now, oldest first. */
  run: number[];
  /** How many due ticks the catchup policy drops. */
  skipped: number;
  /** The new cursor: the newest tick handled by this plan. */
  cursor: number;
  /** `all` stopped at `max`: more due ticks remain after `cursor`. */
  more: boolean;
}

export const DEFAULT_MAX_TICKS = 1000;
const NONE_GRACE_CAP_MS = 60_000;

export function planTicks(args: { schedule: ScheduleSpec; cursor: number; now: number; max?: number; graceMs?: number; src?: TickSource }): TickPlan {
  const { schedule, cursor, now } = args;
  const src = args.src ?? ticksOf(schedule);
  const first = src.next(cursor);
  if (first === null || first > now) return { run: [], skipped: 0, cursor, more: false };
  if (schedule.catchup === 'all') {
    const max = args.max ?? DEFAULT_MAX_TICKS;
    const run: number[] = [];
    let t: number | null = first;
    while (t !== null && t <= now && run.length < max) {
      run.push(t);
      t = src.next(t);
    }
    const last = run[run.length - 1] ?? cursor;
    return { run, skipped: 0, cursor: last, more: t !== null && t <= now };
  }
  const latest = src.prev(now + 1) ?? first;
  const skippedBefore = schedule.everyMs !== undefined ? Math.max(0, Math.round((latest - first) / schedule.everyMs)) : countBetween(src, cursor, latest);
  if (schedule.catchup === 'latest') return { run: [latest], skipped: skippedBefore, cursor: latest, more: false };
  const period = (src.next(latest) ?? latest + NONE_GRACE_CAP_MS) - latest;
  const grace = args.graceMs ?? Math.min(NONE_GRACE_CAP_MS, period);
  if (now - latest <= grace) return { run: [latest], skipped: skippedBefore, cursor: latest, more: false };
  return { run: [], skipped: skippedBefore + 1, cursor: latest, more: false };
}

/** Ticks strictly between a and b (counting stops at 1e6: a report figure, not a loop bound). */
function countBetween(src: TickSource, a: number, b: number): number {
  let n = 0;
  for (let t = src.next(a); t !== null && t < b && n < 1_000_000; t = src.next(t)) n++;
  return n;
}

/** The ticks in [from, to), oldest first (backfill). */
export function ticksBetween(s: ScheduleSpec, from: number, to: number, src: TickSource = ticksOf(s)): number[] {
  const out: number[] = [];
  for (let t = src.next(from - 1); t !== null && t < to; t = src.next(t)) out.push(t);
  return out;
}

export type OverlapPolicy = ScheduleSpec['overlap'];

export type OverlapDecision =
  | { action: 'start' }
  /** Do not run this tick. */
  | { action: 'skip' }
  /** Create the tick's run now, start it when the unfinished ones are done. */
  | { action: 'queue' }
  /** Cancel these runs, then start the tick's run. */
  | { action: 'cancel-previous'; cancel: string[] };

/** `unfinished`: the DAG's runs not finished yet (pending or running), oldest first. */
export function decideOverlap(policy: OverlapPolicy, unfinished: readonly string[]): OverlapDecision {
  if (unfinished.length === 0) return { action: 'start' };
  if (policy === 'skip') return { action: 'skip' };
  if (policy === 'queue') return { action: 'queue' };
  return { action: 'cancel-previous', cancel: [...unfinished] };
}
