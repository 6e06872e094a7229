/**
 * `dagctl calibrate`: runs the shipped DAGs for real (child processes, generated data at two
 * sizes) and stores their cost samples in the state folder, tagged `calibrate:<dag>/<task>` with
 * the planner's sizes; afterwards a DAG that never ran is planned from fitted costs, not the
 * operators' defaults. On Linux every sample carries its worker thread's CPU time and run-queue
 * wait (within its duration), and the plan then reports the contention it predicted for. Bad
 * --rows is USAGE (exit 2).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { LocalRunStore } from '../../scheduler/stores/local-run-store.js';
import { runCli, workspace, type Workspace } from './support.js';

describe('dagctl calibrate', function () {
  this.timeout(600_000);
  let ws: Workspace;
  before(async () => {
    ws = await workspace({ rows: 2000, days: 2 });
  });
  after(async () => {
    await rm(ws.dir, { recursive: true, force: true });
  });

  it('refuses a size too small to tell O from P (USAGE, exit 2)', async () => {
    const r = await runCli(ws, ['calibrate', '--rows', '100', '--json']);
    assert.equal(r.code, 2, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { error: { code: string } }).error.code, 'USAGE');
  });

  it('stores samples of the built-in operators, and plans then use fitted costs', async () => {
    const before = await runCli(ws, ['plan', ws.dag, '--json']);
    assert.equal(before.code, 0, before.stderr);
    const planned = (out: string): Record<string, string> =>
      Object.fromEntries((JSON.parse(out) as { report: { tasks: { task: string; costSource: string }[] } }).report.tasks.map((t) => [t.task, t.costSource]));
    assert.deepEqual(planned(before.stdout), { normalize: 'default', dedupe: 'default', rollup: 'default' });

    const r = await runCli(ws, ['calibrate', '--rows', '5000', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { samples: number; stages: { operator: string; stage: string; samples: number }[]; uncalibrated: string[] };
    const operators = new Set(out.stages.map((s) => s.operator));
    for (const op of ['normalize', 'dedupe', 'equiv-components', 'rollup', 'partial-recompute']) assert.ok(operators.has(op), `no calibration of ${op}`);
    assert.ok(!out.uncalibrated.includes('normalize'));

    const history = await new LocalRunStore(ws.home).history({ limit: 100_000 });
    assert.equal(history.length, out.samples);
    for (const s of history) {
      assert.match(s.task ?? '', /^calibrate:(superwebanalytics|birthday-inference)\//);
      assert.ok(s.durationMs > 0 && s.plannedRows !== undefined && s.plannedBytes !== undefined, JSON.stringify(s));
    }
    // Both sizes ran: each (operator, stage) of normalize saw inputs of two sizes.
    const sizes = new Set(history.filter((s) => s.operator === 'normalize' && s.task?.endsWith('/normalize-pageviews') === true).map((s) => s.plannedRows));
    assert.ok(sizes.size >= 2, `normalize-pageviews planned sizes ${[...sizes].join(', ')}`);

    const after = await runCli(ws, ['plan', ws.dag, '--json']);
    assert.equal(after.code, 0, after.stderr);
    assert.deepEqual(planned(after.stdout), { normalize: 'fitted', dedupe: 'fitted', rollup: 'fitted' });
    if (existsSync('/proc/thread-self/schedstat')) {
      for (const s of history) {
        assert.ok(s.cpuMs !== undefined && s.cpuMs > 0 && s.waitMs !== undefined && s.waitMs >= 0, JSON.stringify(s));
        assert.ok(s.cpuMs + s.waitMs <= s.durationMs + 5, `CPU + wait within the duration: ${JSON.stringify(s)}`);
      }
      const report = (JSON.parse(after.stdout) as { report: { contention?: number; tasks: { cpuMs?: number }[] } }).report;
      assert.ok(report.contention !== undefined && report.contention >= 1, JSON.stringify(report.contention));
      for (const t of report.tasks) assert.ok(t.cpuMs !== undefined && t.cpuMs > 0, JSON.stringify(t));

      // A run then shows predicted and actual CPU per work instance, and their sums per task.
      const run = await runCli(ws, ['run', ws.dag, '--json']);
      assert.equal(run.code, 0, run.stderr);
      type View = { name: string; stage: string; state: string; skipReason?: string; predictedCpuMs?: number; cpuMs?: number };
      const st = JSON.parse(run.stdout) as { tasks: View[]; taskSummary: { name: string; cpuMs?: number; predictedCpuMs?: number }[] };
      const ran = st.tasks.filter((t) => t.stage !== 'publish' && t.state === 'succeeded');
      assert.ok(ran.length > 0);
      for (const t of ran) assert.ok(t.predictedCpuMs !== undefined && t.predictedCpuMs > 0 && t.cpuMs !== undefined, JSON.stringify(t));
      for (const ts of st.taskSummary) {
        const mine = ran.filter((t) => t.name === ts.name);
        const sum = mine.reduce((a, t) => a + (t.cpuMs ?? 0), 0);
        assert.ok(ts.cpuMs !== undefined && Math.abs(ts.cpuMs - sum) <= mine.length, `${ts.name}: ${ts.cpuMs} vs Σ ${sum}`);
      }
    }
  });
});
