/**
 * The run variables a DAG file may use in its datasets and tasks, as `${run.<name>}`:
 *   intervalStart, intervalEnd          the run's logical interval [start, end) as ISO-8601 UTC
 *                                       instants (2026-03-29T00:00:00.000Z);
 *   intervalStartDate, intervalEndDate  the same instants as YYYY-MM-DD dates in the schedule's
 *                                       time zone (UTC without one), for date partitions.
 *   changedPartitions                   a data-triggered run (`triggers:`): the date partitions
 *                                       (YYYY-MM-DD, comma-separated, sorted) of the new commits it
 *                                       was started for; a dataset's `partitions:` takes it.
 * A scheduled tick T has the interval [previous tick, T); a backfill interval likewise; a
 * data-triggered run [the DAG's previous trigger, this one).
 *
 * Validation without an interval (`dagctl validate`, `dagctl run`) checks the file with
 * SAMPLE_INTERVAL and marks the DagSpec `usesRunVars`, so a run never starts with a made-up
 * interval (cli `run` refuses such a DAG; `scheduler` and `backfill` give the real one).
 */
import type { RunInterval } from './types.js';

export const RUN_VAR_NAMES = ['intervalStart', 'intervalEnd', 'intervalStartDate', 'intervalEndDate', 'changedPartitions'] as const;

/** Run variables only a data-triggered run gives. */
export const TRIGGER_RUN_VARS: readonly string[] = ['changedPartitions'];

/** The sample partition list files are validated with when no trigger gave one. */
export const SAMPLE_CHANGED_PARTITIONS: readonly string[] = ['1970-01-01'];

/** 1970-01-01 to 1970-01-02 UTC: only used to validate the shape of a file that uses ${run.x}. */
export const SAMPLE_INTERVAL: RunInterval = { start: 0, end: 86_400_000 };

export function runVars(interval: RunInterval, timezone = 'UTC', changedPartitions: readonly string[] = SAMPLE_CHANGED_PARTITIONS): Record<string, string> {
  return {
    changedPartitions: changedPartitions.join(','),
    intervalStart: new Date(interval.start).toISOString(),
    intervalEnd: new Date(interval.end).toISOString(),
    intervalStartDate: localDate(interval.start, timezone),
    intervalEndDate: localDate(interval.end, timezone),
  };
}

/**
 * YYYY-MM-DD of instant `t` in `timezone` (en-CA formats dates that way). UTC needs no Intl
 * formatter (its first construction loads time-zone data: ~50 ms of every CLI start-up).
 */
export function localDate(t: number, timezone: string): string {
  if (timezone === 'UTC') return new Date(t).toISOString().slice(0, 10);
  return new Intl.DateTimeFormat('en-CA', { timeZone: timezone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(t));
}
