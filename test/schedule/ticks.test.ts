/**
 * Schedule time arithmetic with an injected "now" (no real clock): cron ticks in a zone with DST
 * (Europe/Berlin, America/New_York) across spring-forward and fall-back, month ends, leap days;
 * `every` periods; each catchup policy of planTicks and each overlap policy of decideOverlap.
 * Expected instants are written out by hand (the oracle), not computed with the library.
 */
import assert from 'node:assert/strict';
import { checkCron, checkTimezone, cronTicks, everyTicks } from '../../core/ticks.js';
import { decideOverlap, intervalOf, planTicks, ticksBetween } from '../../scheduler/schedule/planner.js';
import type { ScheduleSpec } from '../../definitions/types.js';

const T = (iso: string): number => Date.parse(iso);
const iso = (t: number | null): string | null => (t === null ? null : new Date(t).toISOString());
function nextN(src: { next(t: number): number | null }, from: string, n: number): string[] {
  const out: string[] = [];
  let t: number | null = T(from);
  for (let i = 0; i < n && t !== null; i++) {
    t = src.next(t);
    if (t !== null) out.push(new Date(t).toISOString());
  }
  return out;
}
const cron = (expr: string, timezone = 'UTC', extra: Partial<ScheduleSpec> = {}): ScheduleSpec => ({ cron: expr, timezone, catchup: 'latest', overlap: 'skip', ...extra });
const every = (everyMs: number, extra: Partial<ScheduleSpec> = {}): ScheduleSpec => ({ everyMs, timezone: 'UTC', catchup: 'latest', overlap: 'skip', ...extra });

describe('schedule: cron ticks across DST, month ends, leap days', () => {
  it('Europe/Berlin spring forward: 02:30 does not exist on 2026-03-29, the tick runs once right after the gap', () => {
    // CET (+01) until 2026-03-29 01:00Z, then CEST (+02): 02:30 local is 00:30Z before, 00:30Z after.
    assert.deepEqual(nextN(cronTicks('30 2 * * *', 'Europe/Berlin'), '2026-03-27T12:00:00Z', 4), [
      '2026-03-28T01:30:00.000Z', // 02:30 CET
      '2026-03-29T01:00:00.000Z', // the gap: 03:00 CEST, once
      '2026-03-30T00:30:00.000Z', // 02:30 CEST
      '2026-03-31T00:30:00.000Z',
    ]);
  });

  it('Europe/Berlin fall back: 02:30 happens twice on 2026-10-25, the tick runs once (the first)', () => {
    assert.deepEqual(nextN(cronTicks('30 2 * * *', 'Europe/Berlin'), '2026-10-24T12:00:00Z', 3), [
      '2026-10-25T00:30:00.000Z', // 02:30 CEST (first occurrence)
      '2026-10-26T01:30:00.000Z', // 02:30 CET
      '2026-10-27T01:30:00.000Z',
    ]);
  });

  it('America/New_York: a 9:00 daily tick stays at 9:00 local across both changes (UTC offset moves)', () => {
    assert.deepEqual(nextN(cronTicks('0 9 * * *', 'America/New_York'), '2026-03-07T00:00:00Z', 3), [
      '2026-03-07T14:00:00.000Z', // EST −5
      '2026-03-08T13:00:00.000Z', // EDT −4 from 2026-03-08 02:00
      '2026-03-09T13:00:00.000Z',
    ]);
    assert.deepEqual(nextN(cronTicks('0 9 * * *', 'America/New_York'), '2026-10-31T00:00:00Z', 3), [
      '2026-10-31T13:00:00.000Z',
      '2026-11-01T14:00:00.000Z', // EST again from 2026-11-01 02:00
      '2026-11-02T14:00:00.000Z',
    ]);
  });

  it('an interval expression keeps its absolute spacing through the fall-back hour (both 01:xx hours run)', () => {
    // New York 2026-11-01: 01:00–01:59 EDT (05:00Z–05:59Z), then 01:00–01:59 EST (06:00Z–06:59Z).
    assert.deepEqual(nextN(cronTicks('*/30 1 * * *', 'America/New_York'), '2026-11-01T04:00:00Z', 4), [
      '2026-11-01T05:00:00.000Z',
      '2026-11-01T05:30:00.000Z',
      '2026-11-01T06:00:00.000Z',
      '2026-11-01T06:30:00.000Z',
    ]);
  });

  it('the 31st skips short months; the last day of February in a leap year; Feb 29 only in leap years', () => {
    assert.deepEqual(nextN(cronTicks('0 0 31 * *'), '2026-01-01T00:00:00Z', 3), ['2026-01-31T00:00:00.000Z', '2026-03-31T00:00:00.000Z', '2026-05-31T00:00:00.000Z']);
    assert.deepEqual(nextN(cronTicks('0 12 29 2 *'), '2026-01-01T00:00:00Z', 2), ['2028-02-29T12:00:00.000Z', '2032-02-29T12:00:00.000Z']);
    assert.deepEqual(nextN(cronTicks('0 0 28-29 2 *'), '2028-02-27T00:00:00Z', 3), ['2028-02-28T00:00:00.000Z', '2028-02-29T00:00:00.000Z', '2029-02-28T00:00:00.000Z']);
  });

  it('next is strictly after, prev strictly before; a tick’s interval is [previous tick, tick) — 23 h / 25 h on DST days', () => {
    const s = cron('0 0 * * *', 'Europe/Berlin');
    const src = cronTicks('0 0 * * *', 'Europe/Berlin');
    assert.equal(iso(src.next(T('2026-03-29T22:00:00Z'))), '2026-03-30T22:00:00.000Z');
    assert.equal(iso(src.prev(T('2026-03-29T22:00:00Z'))), '2026-03-28T23:00:00.000Z');
    const spring = intervalOf(s, T('2026-03-29T22:00:00Z'));
    assert.equal(spring.end - spring.start, 23 * 3_600_000);
    const fall = intervalOf(s, T('2026-10-25T23:00:00Z'));
    assert.equal(fall.end - fall.start, 25 * 3_600_000);
  });

  it('every: multiples of the period since the epoch; interval = one period', () => {
    const src = everyTicks(1000);
    assert.equal(src.next(5000), 6000);
    assert.equal(src.next(5001), 6000);
    assert.equal(src.prev(5000), 4000);
    assert.equal(src.prev(5001), 5000);
    assert.deepEqual(intervalOf(every(1000), 6000), { start: 5000, end: 6000 });
  });

  it('checkCron / checkTimezone explain what is wrong', () => {
    assert.equal(checkCron('*/5 * * * *', 'Europe/Berlin'), null);
    assert.match(checkCron('0 0 * * * *') ?? '', /5 fields/);
    assert.match(checkCron('@daily') ?? '', /5 fields/);
    assert.notEqual(checkCron('61 * * * *'), null);
    assert.match(checkCron('0 0 30 2 *') ?? '', /never fires/);
    assert.equal(checkTimezone('America/New_York'), null);
    assert.notEqual(checkTimezone('Mars/Olympus_Mons'), null);
  });
});

describe('schedule: planTicks per catchup policy (injected now)', () => {
  const hour = 3_600_000;
  const base = T('2026-06-01T00:00:00Z');

  it('nothing due: no ticks, cursor unchanged', () => {
    const p = planTicks({ schedule: every(hour, { catchup: 'all' }), cursor: base, now: base + hour - 1 });
    assert.deepEqual(p, { run: [], skipped: 0, cursor: base, more: false });
  });

  it('all: every missed tick, oldest first; max caps a plan and `more` continues it', () => {
    const s = every(hour, { catchup: 'all' });
    const p = planTicks({ schedule: s, cursor: base, now: base + 5 * hour + 10 });
    assert.deepEqual(p.run, [1, 2, 3, 4, 5].map((i) => base + i * hour));
    assert.equal(p.cursor, base + 5 * hour);
    const capped = planTicks({ schedule: s, cursor: base, now: base + 5 * hour, max: 2 });
    assert.deepEqual(capped, { run: [base + hour, base + 2 * hour], skipped: 0, cursor: base + 2 * hour, more: true });
    const rest = planTicks({ schedule: s, cursor: capped.cursor, now: base + 5 * hour, max: 10 });
    assert.deepEqual(rest.run, [3, 4, 5].map((i) => base + i * hour));
    assert.equal(rest.more, false);
  });

  it('latest: only the newest missed tick, the others counted as skipped', () => {
    const p = planTicks({ schedule: every(hour, { catchup: 'latest' }), cursor: base, now: base + 5 * hour + 10 });
    assert.deepEqual(p, { run: [base + 5 * hour], skipped: 4, cursor: base + 5 * hour, more: false });
  });

  it('none: the newest tick runs while on time, a late one is dropped too', () => {
    const s = every(hour, { catchup: 'none' });
    assert.deepEqual(planTicks({ schedule: s, cursor: base, now: base + 3 * hour + 50 }).run, [base + 3 * hour]);
    const late = planTicks({ schedule: s, cursor: base, now: base + 3 * hour + 61_000 });
    assert.deepEqual(late, { run: [], skipped: 3, cursor: base + 3 * hour, more: false });
    assert.deepEqual(planTicks({ schedule: s, cursor: base, now: base + 3 * hour + 5000, graceMs: 1000 }).run, []);
  });

  it('catchup all over a DST change in Berlin: hourly ticks are 1 h apart in UTC (no tick lost or doubled)', () => {
    const s = cron('0 * * * *', 'Europe/Berlin', { catchup: 'all' });
    const p = planTicks({ schedule: s, cursor: T('2026-10-24T23:00:00Z'), now: T('2026-10-25T03:00:00Z') });
    assert.deepEqual(p.run.map(iso), ['2026-10-25T00:00:00.000Z', '2026-10-25T01:00:00.000Z', '2026-10-25T02:00:00.000Z', '2026-10-25T03:00:00.000Z']);
  });

  it('ticksBetween: [from, to) for backfill, across a month end', () => {
    const s = cron('0 0 * * *');
    assert.deepEqual(ticksBetween(s, T('2026-01-30T00:00:00Z'), T('2026-02-02T00:00:00Z')).map(iso), ['2026-01-30T00:00:00.000Z', '2026-01-31T00:00:00.000Z', '2026-02-01T00:00:00.000Z']);
  });
});

describe('schedule: decideOverlap', () => {
  it('start when nothing is unfinished, whatever the policy', () => {
    for (const p of ['skip', 'queue', 'cancel-previous'] as const) assert.deepEqual(decideOverlap(p, []), { action: 'start' });
  });
  it('skip / queue / cancel-previous with an unfinished run', () => {
    assert.deepEqual(decideOverlap('skip', ['r1']), { action: 'skip' });
    assert.deepEqual(decideOverlap('queue', ['r1']), { action: 'queue' });
    assert.deepEqual(decideOverlap('cancel-previous', ['r1', 'r2']), { action: 'cancel-previous', cancel: ['r1', 'r2'] });
  });
});
