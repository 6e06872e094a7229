/**
 * bench/costmodel.ts's figures (pure): per-task sums of predicted and actual wall and CPU time
 * (a task's CPU figures only when every instance that ran had both), and the worst factor and
 * median relative error, against hand-computed values.
 */
import assert from 'node:assert/strict';
import { accuracy, perTask } from '../../bench/costmodel.js';

describe('bench/costmodel figures', () => {
  it('sums wall, CPU and wait per task; a task with an instance lacking CPU times is not CPU-complete', () => {
    const m = perTask([
      { name: 'a', stage: 's', durationMs: 100, predictedMs: 80, predictedCpuMs: 50, cpuMs: 60, cpuWaitMs: 30 },
      { name: 'a', stage: 's', durationMs: 300, predictedMs: 320, predictedCpuMs: 150, cpuMs: 140, cpuWaitMs: 10 },
      { name: 'b', stage: 's', durationMs: 200, predictedMs: 100, cpuMs: 90 },
      { name: 'b', stage: 's', durationMs: null, predictedMs: 5 },
      // A publish instance counts in wall time only.
      { name: 'a', stage: 'publish', durationMs: 50, predictedMs: 50, cpuMs: 20, cpuWaitMs: 5 },
    ]);
    assert.deepEqual(m.get('a'), { predicted: 450, actual: 450, predictedCpu: 200, actualCpu: 200, cpuComplete: true, wait: 40 });
    assert.deepEqual(m.get('b'), { predicted: 105, actual: 200, predictedCpu: 0, actualCpu: 0, cpuComplete: false, wait: 0 });
  });

  it('worst factor is max(p/a, a/p); the median relative error is over tasks with a > 0', () => {
    const r = accuracy([{ p: 100, a: 200 }, { p: 300, a: 100 }, { p: 110, a: 100 }, { p: 5, a: 0 }]);
    assert.equal(r.n, 3);
    assert.equal(r.worst, 3);
    assert.ok(Math.abs(r.median - 0.5) < 1e-12); // errors 0.5, 2, 0.1
  });
});
