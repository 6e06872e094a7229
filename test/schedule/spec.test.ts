/**
 * `schedule:` and `${run.x}` in DAG files: structure (zod) and the valid-schedule rule report bad
 * cron expressions and time zones with their line; a valid schedule resolves into the DagSpec;
 * run variables interpolate the interval given, and without one the DagSpec says it needs one.
 */
import assert from 'node:assert/strict';
import { validateDagText } from '../../definitions/validate.js';
import { dagText } from '../definitions/support/dag-text.js';
import { testOperators } from '../definitions/support/operators.js';

const TASKS = 'tasks:\n  - { name: a, operator: noop }\n';
const check = (body: string, interval?: { start: number; end: number }) =>
  validateDagText(dagText(body), '/dags/sched.yaml', interval === undefined ? { operators: testOperators } : { operators: testOperators, interval });

describe('spec: schedule', () => {
  it('resolves cron + timezone and the policies (defaults latest / skip)', () => {
    const r = check(`schedule:\n  cron: "30 2 * * *"\n  timezone: Europe/Berlin\n${TASKS}`);
    assert.deepEqual(r.issues, []);
    assert.deepEqual(r.dag?.schedule, { cron: '30 2 * * *', timezone: 'Europe/Berlin', catchup: 'latest', overlap: 'skip' });
    const e = check(`schedule: { every: 10m, catchup: all, overlap: queue }\n${TASKS}`);
    assert.deepEqual(e.dag?.schedule, { everyMs: 600_000, timezone: 'UTC', catchup: 'all', overlap: 'queue' });
  });

  it('an invalid cron expression: BAD_CRON at its line', () => {
    const r = check(`schedule:\n  cron: "61 * * * *"\n${TASKS}`);
    assert.deepEqual(r.issues.map((i) => [i.code, i.line, i.path]), [['BAD_CRON', 6, 'schedule.cron']]);
    assert.equal(r.dag, undefined);
    assert.deepEqual(check(`schedule:\n  cron: "0 0 * * * *"\n${TASKS}`).issues.map((i) => i.code), ['BAD_CRON']);
  });

  it('an unknown time zone: BAD_TIMEZONE at its line', () => {
    const r = check(`schedule:\n  cron: "0 0 * * *"\n  timezone: Europe/Atlantis\n${TASKS}`);
    assert.deepEqual(r.issues.map((i) => [i.code, i.line, i.path]), [['BAD_TIMEZONE', 7, 'schedule.timezone']]);
  });

  it('BAD_SCHEDULE: both or neither of cron/every, a zero period, timezone with every; SCHEMA_INVALID for an unknown policy', () => {
    assert.deepEqual(check(`schedule: { cron: "0 0 * * *", every: 1h }\n${TASKS}`).issues.map((i) => i.code), ['BAD_SCHEDULE']);
    assert.deepEqual(check(`schedule: { catchup: all }\n${TASKS}`).issues.map((i) => i.code), ['BAD_SCHEDULE']);
    assert.deepEqual(check(`schedule: { every: 0s }\n${TASKS}`).issues.map((i) => i.code), ['BAD_SCHEDULE']);
    assert.deepEqual(check(`schedule: { every: 1h, timezone: UTC }\n${TASKS}`).issues.map((i) => i.code), ['BAD_SCHEDULE']);
    assert.deepEqual(check(`schedule: { every: 1h, catchup: sometimes }\n${TASKS}`).issues.map((i) => i.code), ['SCHEMA_INVALID']);
  });

  it('${run.intervalStart} / ${run.intervalStartDate} interpolate the interval given (dates in the schedule zone)', () => {
    const body = `schedule: { cron: "0 0 * * *", timezone: America/New_York }\ndatasets:\n  in: { uri: in }\n  out: { uri: "out/date=\${run.intervalStartDate}/\${run.intervalEnd}" }\ntasks:\n  - { name: a, operator: test-io, inputs: [in], outputs: [out] }\n`;
    const start = Date.parse('2026-03-08T05:00:00Z'); // 00:00 EST
    const end = Date.parse('2026-03-09T04:00:00Z'); // 00:00 EDT
    const r = check(body, { start, end });
    assert.deepEqual(r.issues.filter((i) => i.severity === 'error'), []);
    assert.match(r.dag?.datasets.out?.uri ?? '', /out\/date=2026-03-08\/2026-03-09T04:00:00\.000Z$/);
    assert.equal(r.dag?.usesRunVars, true);
    assert.deepEqual(r.dag?.interval, { start, end });
    const noInterval = check(body);
    assert.equal(noInterval.dag?.usesRunVars, true);
    assert.equal(noInterval.dag?.interval, undefined);
  });

  it('an unknown run variable is UNRESOLVED_PARAM', () => {
    const r = check('datasets:\n  in: { uri: in }\n  out: { uri: "out/${run.nope}" }\ntasks:\n  - { name: a, operator: test-io, inputs: [in], outputs: [out] }\n');
    assert.deepEqual(r.issues.filter((i) => i.severity === 'error').map((i) => i.code), ['UNRESOLVED_PARAM']);
  });
});
