/**
 * The `schedule` rule:
 *   BAD_SCHEDULE  exactly one of `cron` / `every`; `every` a duration > 0 (whole ms); `timezone`
 *                 only with `cron` (an `every` period is anchored in UTC);
 *   BAD_TIMEZONE  `timezone` is not an IANA zone;
 *   BAD_CRON      `cron` is not a 5-field expression that fires (core/ticks.ts).
 */
import { checkCron, checkTimezone } from '../../core/ticks.js';
import { durationMs } from '../durations.js';
import type { Rule } from './types.js';

export const validSchedule: Rule = {
  name: 'valid-schedule',
  check(draft, report) {
    const s = draft.schedule;
    if (s === undefined) return;
    if ((s.cron === undefined) === (s.every === undefined)) {
      report.add('BAD_SCHEDULE', ['schedule'], 'a schedule needs exactly one of `cron` or `every`');
      return;
    }
    if (s.every !== undefined) {
      const ms = durationMs(s.every);
      if (ms === null || ms <= 0) report.add('BAD_SCHEDULE', ['schedule', 'every'], `"${s.every}" is not a period greater than zero (e.g. 30s, 10m, 1d)`);
      if (s.timezone !== undefined) report.add('BAD_SCHEDULE', ['schedule', 'timezone'], '`timezone` applies to `cron` only: an `every` period is anchored at the Unix epoch (UTC)');
      return;
    }
    const tz = s.timezone ?? 'UTC';
    const tzProblem = checkTimezone(tz);
    if (tzProblem !== null) {
      report.add('BAD_TIMEZONE', ['schedule', 'timezone'], tzProblem);
      return;
    }
    const cronProblem = checkCron(s.cron ?? '', tz);
    if (cronProblem !== null) report.add('BAD_CRON', ['schedule', 'cron'], cronProblem);
  },
};
