/**
 * Schedule ticks as instants (ms since the epoch), pure: a 5-field cron expression read in an IANA
 * time zone (croner does the calendar and DST arithmetic), or a fixed period anchored at the epoch.
 *
 *   next(t)  the first tick strictly after t, or null when the expression never fires again;
 *   prev(t)  the last tick strictly before t, or null.
 *
 * DST (croner's rules, pinned by test/schedule/ticks.test.ts): a fixed-time expression (single
 * minute and hour, e.g. `30 2 * * *`) whose local time falls into a spring-forward gap fires once,
 * at the first instant after the gap; when a fall-back repeats its local time it fires once, at the
 * first occurrence. Interval expressions (`*\/15 * * * *`) keep their absolute spacing.
 *
 * checkCron / checkTimezone return why a value is invalid (null when valid), for validation.
 */
import { Cron } from 'croner';

export interface TickSource {
  next(t: number): number | null;
  prev(t: number): number | null;
}

/** Why `tz` is not an IANA time zone this runtime knows, or null. */
export function checkTimezone(tz: string): string | null {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return null;
  } catch {
    return `"${tz}" is not an IANA time zone (e.g. UTC, Europe/Berlin, America/New_York)`;
  }
}

/** Why `expr` is not a usable 5-field cron expression, or null. Assumes a valid time zone. */
export function checkCron(expr: string, tz = 'UTC'): string | null {
  const fields = expr.trim().split(/\s+/);
  if (fields.length !== 5 || expr.trim().startsWith('@')) return `"${expr}" must have 5 fields: minute hour day-of-month month day-of-week`;
  let cron: Cron;
  try {
    cron = new Cron(expr, { timezone: tz, paused: true, mode: '5-part' });
  } catch (e) {
    return `"${expr}": ${e instanceof Error ? e.message.replace(/^CronPattern: /, '') : String(e)}`;
  }
  if (cron.nextRun(new Date(0)) === null) return `"${expr}" never fires`;
  return null;
}

export function cronTicks(expr: string, tz = 'UTC'): TickSource {
  const cron = new Cron(expr, { timezone: tz, paused: true, mode: '5-part' });
  return {
    next: (t) => cron.nextRun(new Date(t))?.getTime() ?? null,
    prev: (t) => cron.previousRuns(1, new Date(t))[0]?.getTime() ?? null,
  };
}

/** Ticks at every multiple of `periodMs` since 1970-01-01T00:00:00Z. */
export function everyTicks(periodMs: number): TickSource {
  if (!Number.isInteger(periodMs) || periodMs <= 0) throw new RangeError(`period must be a positive integer of ms, got ${periodMs}`);
  return {
    next: (t) => (Math.floor(t / periodMs) + 1) * periodMs,
    prev: (t) => (Math.ceil(t / periodMs) - 1) * periodMs,
  };
}

/**
 * The instant a backfill bound names: a bare date (YYYY-MM-DD) is midnight in `tz`; anything
 * else must be an ISO-8601 instant with Z or an offset. null when it is neither.
 */
export function parseBound(text: string, tz = 'UTC'): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (m === null) {
    if (!/(Z|[+-]\d{2}:?\d{2})$/.test(text)) return null;
    const t = Date.parse(text);
    return Number.isNaN(t) ? null : t;
  }
  const utc = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  if (new Date(utc).toISOString().slice(0, 10) !== text) return null;
  // Local midnight: subtract the zone's offset there (twice: the offset may change that day).
  let t = utc - offsetMs(utc, tz);
  t = utc - offsetMs(t, tz);
  return t;
}

/** The UTC offset of `tz` at instant t, ms (local wall time − UTC). */
function offsetMs(t: number, tz: string): number {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' }).formatToParts(new Date(t));
  const get = (type: string): number => Number(parts.find((p) => p.type === type)?.value);
  const wall = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return wall - Math.floor(t / 1000) * 1000;
}
