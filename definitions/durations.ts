/**
 * Durations as DAG files write them: a string (`30s`, `1h30m`, core/duration.ts) or a bare number
 * of milliseconds. One function, so the BAD_DURATION rule and the resolver agree exactly.
 *
 * Precondition: none.
 */
import { parseDuration } from '../core/duration.js';

/** Milliseconds, or null when the value is not a valid non-negative duration. */
export function durationMs(value: string | number): number | null {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? Math.round(value) : null;
  return parseDuration(value);
}
