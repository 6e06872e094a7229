/**
 * buildPlanReport over hand-built instances: per-task sums, cost sources, critical path tasks,
 * makespan and deadline; and the human table has one row per task.
 */
import assert from 'node:assert/strict';
import type { CostModel } from '../../scheduler/plan/cost.js';
import { buildPlanReport } from '../../scheduler/plan/plan.js';
import { formatPlanReport } from '../../scheduler/plan/plan-format.js';
import { inst } from './support/instances.js';

const instances = [
  inst('load.p1', 10, [], 'load'),
  inst('load.p2', 20, [], 'load'),
  { ...inst('agg.b0', 5, ['load.p1', 'load.p2'], 'agg'), costSource: 'fitted' as const, overheadMs: 2, workMs: 3 },
  inst('agg.b1', 5, ['load.p1', 'load.p2'], 'agg'),
  inst('report', 1, ['agg.b0', 'agg.b1']),
];
const cost: CostModel = {
  estimate: () => ({ overheadMs: 0, workMs: 0, predictedMs: 0, source: 'fitted', fitError: 1.5, relativeError: 0.02, samples: 9 }),
};

describe('plan: report', () => {
  it('sums per task and reports critical path, makespan and deadline', () => {
    const r = buildPlanReport(instances, { workers: 2, deadlineMs: 27, cost });
    assert.deepEqual(r.tasks.map((t) => [t.task, t.instances, t.predictedMs, t.costSource]), [['load', 2, 30, 'default'], ['agg', 2, 10, 'mixed'], ['report', 1, 1, 'default']]);
    const agg = r.tasks[1];
    assert.equal(agg?.overheadMs, 7);
    assert.equal(agg?.workMs, 3);
    assert.equal(agg?.fitError, 1.5);
    assert.equal(r.tasks[0]?.fitError, undefined);
    assert.equal(r.totalWorkMs, 41);
    assert.deepEqual(r.criticalPath, { lengthMs: 26, instanceIds: ['load.p2', 'agg.b0', 'report'], tasks: ['load', 'agg', 'report'] });
    assert.deepEqual(r.makespan, { workers: 2, makespanMs: 26 });
    assert.equal(r.generations, 3);
    assert.equal(r.deadline?.metWithWorkers, true);
    assert.deepEqual(r.deadline?.search, { feasible: true, workers: 2, makespanMs: 26 });
  });

  it('formats one table row per task', () => {
    const lines = formatPlanReport(buildPlanReport(instances, { workers: 1, deadlineMs: 10 }), 'demo');
    assert.ok(lines.some((l) => /^load\s+noop\s+2\s/.test(l)));
    assert.ok(lines.some((l) => l.includes('cannot be met')));
  });
});
