/**
 * Calibration of T = O + P×H: non-negative least squares is optimal under its constraints (KKT),
 * handles all-equal H, and the cost model recovers O and P within 5% from noisy synthetic history.
 */
import assert from 'node:assert/strict';
import { z } from 'zod';
import { isDagctlError } from '../../core/errors.js';
import type { AnyOperator } from '../../operators/types.js';
import type { CostSample } from '../../scheduler/model.js';
import { createCostModel } from '../../scheduler/plan/cost.js';
import { paramsKey } from '../../scheduler/plan/params-key.js';
import { expandDag } from '../../scheduler/plan/expand.js';
import type { DagSpec } from '../../definitions/types.js';
import { fitCostLine, fitNonNegativeLine } from '../../scheduler/plan/fit.js';
import { mulberry32, normal } from './support/prng.js';

const MIB = 1024 * 1024;

function stub(name: string, driver: 'bytes' | 'rows'): AnyOperator {
  return {
    name, version: '1', summary: 'stub', params: z.object({}),
    cost: { overheadMs: 100, perUnitMs: 10, driver },
    inputs: { min: 0, max: 1 }, outputs: { min: 0, max: 1 },
    stages: () => [{ name: 'main', fanout: 'single' }], run: async () => ({}),
  };
}
const OPS = new Map([['scan', stub('scan', 'bytes')], ['count', stub('count', 'rows')]]);
const operators = (n: string): AnyOperator | undefined => OPS.get(n);

function samples(seed: number, n: number, o: number, p: number, noise: number, opts: { operator?: string; stage?: string; rows?: boolean } = {}): CostSample[] {
  const rand = mulberry32(seed);
  return Array.from({ length: n }, (_, i) => {
    const h = 1 + rand() * 499; // MiB, or thousands of rows
    const t = (o + p * h) * (1 + noise * normal(rand));
    return {
      operator: opts.operator ?? 'scan', stage: opts.stage ?? 'main',
      inputBytes: opts.rows === true ? 0 : Math.round(h * MIB), inputRows: opts.rows === true ? Math.round(h * 1000) : 0,
      durationMs: Math.max(0, t), setupMs: 0, at: i,
    };
  });
}

describe('plan: non-negative least squares', () => {
  it('satisfies the KKT conditions on random data, including data that wants O < 0 or P < 0', () => {
    const rand = mulberry32(7);
    for (let trial = 0; trial < 300; trial++) {
      const n = 2 + Math.floor(rand() * 20);
      const slope = (rand() - 0.5) * 20, icpt = (rand() - 0.5) * 500;
      const h = Array.from({ length: n }, () => rand() * 100);
      const t = h.map((x) => icpt + slope * x + normal(rand) * 30);
      const f = fitNonNegativeLine(h, t, 1);
      assert.ok(f.overhead >= 0 && f.perUnit >= 0);
      if (f.degenerate) continue;
      let gO = 0, gP = 0; // gradient of ½·SSE = −Σr, −Σr·h
      h.forEach((x, i) => {
        const r = (t[i] as number) - f.overhead - f.perUnit * x;
        gO -= r;
        gP -= r * x;
      });
      const tol = 1e-6 * (1 + t.reduce((s, x) => s + Math.abs(x), 0) * 100);
      if (f.overhead > 0) assert.ok(Math.abs(gO) < tol, `trial ${trial}: gO=${gO}`);
      else assert.ok(gO > -tol, `trial ${trial}: O at bound but gO=${gO}`);
      if (f.perUnit > 0) assert.ok(Math.abs(gP) < tol, `trial ${trial}: gP=${gP}`);
      else assert.ok(gP > -tol, `trial ${trial}: P at bound but gP=${gP}`);
    }
  });

  it('refits P when O is held at 0 rather than clamping the free solution', () => {
    // Exact line t = −50 + 2h: free fit O = −50. With O = 0 the best P is Σht/Σh², not 2.
    const h = [10, 20, 30, 40];
    const t = h.map((x) => -50 + 2 * x);
    const f = fitNonNegativeLine(h, t, 1);
    const sht = h.reduce((s, x, i) => s + x * (t[i] as number), 0);
    const shh = h.reduce((s, x) => s + x * x, 0);
    assert.equal(f.overhead, 0);
    assert.ok(Math.abs(f.perUnit - sht / shh) < 1e-12);
  });

  it('falls back to the prior P when every H is equal', () => {
    const f = fitNonNegativeLine([5, 5, 5], [30, 32, 34], 4);
    assert.equal(f.degenerate, true);
    assert.equal(f.perUnit, 4);
    assert.ok(Math.abs(f.overhead - 12) < 1e-9);
    assert.equal(fitNonNegativeLine([5, 5], [10, 10], 4).overhead, 0); // mean(t − P·h) < 0 → 0
  });
});

describe('plan: cost model', () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    it(`recovers O and P within 5% from noisy samples (seed ${seed})`, () => {
      const O = 2000, P = 37;
      const model = createCostModel(samples(seed, 200, O, P, 0.03), { operators });
      const e = model.estimate('scan', 'main', 100 * MIB, 0);
      assert.equal(e.source, 'fitted');
      assert.equal(e.samples, 200);
      assert.ok(Math.abs(e.overheadMs - O) / O < 0.05, `O = ${e.overheadMs}`);
      assert.ok(Math.abs(e.workMs / 100 - P) / P < 0.05, `P = ${e.workMs / 100}`);
      assert.ok(e.fitError !== undefined && e.fitError > 0);
      assert.ok(e.relativeError !== undefined && e.relativeError < 0.1);
    });
  }

  it('uses thousands of rows as H for the rows driver', () => {
    const model = createCostModel(samples(9, 50, 300, 2, 0, { operator: 'count', rows: true }), { operators });
    const e = model.estimate('count', 'main', 123 * MIB, 10_000);
    assert.ok(Math.abs(e.overheadMs - 300) < 0.01 && Math.abs(e.workMs - 20) < 0.01, JSON.stringify(e));
  });

  it('uses defaults below 3 samples, then the stage fit, then the operator pool', () => {
    const two = createCostModel(samples(1, 2, 500, 5, 0), { operators });
    assert.deepEqual(two.estimate('scan', 'main', 2 * MIB, 0), { overheadMs: 100, workMs: 20, predictedMs: 120, source: 'default', samples: 0 });
    const history = [...samples(2, 10, 500, 5, 0, { stage: 'map' }), ...samples(3, 10, 900, 1, 0, { stage: 'reduce' })];
    const model = createCostModel(history, { operators });
    const map = model.estimate('scan', 'map', 10 * MIB, 0);
    assert.ok(Math.abs(map.overheadMs - 500) < 1e-6 && map.samples === 10);
    const pooled = model.estimate('scan', 'publish', 10 * MIB, 0);
    assert.equal(pooled.source, 'fitted');
    assert.equal(pooled.samples, 20);
  });

  it("prefers the task's own samples, fitted against the planned size, over the operator's", () => {
    // Another task of the same operator is 10× slower per unit; this task's samples read 2× the
    // rows the planner estimated (plannedRows): predictions, made from planned sizes, must use those.
    const other = samples(4, 20, 100, 50, 0, { operator: 'count', rows: true }).map((s) => ({ ...s, task: 'd/other' }));
    const mine = samples(5, 20, 100, 5, 0, { operator: 'count', rows: true }).map((s) => ({ ...s, task: 'd/mine', plannedRows: s.inputRows, inputRows: 2 * s.inputRows }));
    const model = createCostModel([...other, ...mine], { operators });
    const e = model.estimate('count', 'main', 0, 40_000, 'd/mine');
    assert.equal(e.level, 'task');
    assert.ok(Math.abs(e.predictedMs - (100 + 5 * 40)) < 0.01, JSON.stringify(e));
    assert.equal(model.estimate('count', 'main', 0, 40_000, 'd/new').level, 'stage'); // no history of its own: the pool
  });

  it('a new task is predicted from the samples of the same operator, stage and params, over the pooled stage', () => {
    // Calibration ran the operator with two param sets: ids only (cheap, P = 2) and URLs (P = 20).
    const ids = samples(7, 20, 100, 2, 0, { operator: 'count', rows: true }).map((s) => ({ ...s, task: 'calibrate:d/ids', paramsHash: paramsKey({ urls: [] }) }));
    const urls = samples(8, 20, 100, 20, 0, { operator: 'count', rows: true }).map((s) => ({ ...s, task: 'calibrate:d/urls', paramsHash: paramsKey({ urls: ['url'] }) }));
    const model = createCostModel([...ids, ...urls], { operators });
    const e = model.estimate('count', 'main', 0, 40_000, 'mine/urls', paramsKey({ urls: ['url'] }));
    assert.equal(e.level, 'params');
    assert.equal(e.samples, 20);
    assert.ok(Math.abs(e.predictedMs - (100 + 20 * 40)) < 0.01, JSON.stringify(e));
    const cheap = model.estimate('count', 'main', 0, 40_000, 'mine/ids', paramsKey({ urls: [] }));
    assert.ok(Math.abs(cheap.predictedMs - (100 + 2 * 40)) < 0.01, JSON.stringify(cheap));
    // Params never seen: the stage's pool; no params hash at all: the pool too.
    assert.equal(model.estimate('count', 'main', 0, 40_000, 'mine/x', paramsKey({ urls: ['a', 'b'] })).level, 'stage');
    assert.equal(model.estimate('count', 'main', 0, 40_000).level, 'stage');
    // The params key ignores key order.
    assert.equal(paramsKey({ a: 1, b: [2, 3] }), paramsKey({ b: [2, 3], a: 1 }));
    assert.notEqual(paramsKey({ b: [2, 3] }), paramsKey({ b: [3, 2] }));
  });

  it('learns how many rounds an iterative stage runs, and the planner charges that many', () => {
    // Two past runs of a 4-bucket stage: one converged after 1 round, one after 2 → 1.5 rounds a run.
    const round = (r: number, at: number): CostSample[] => Array.from({ length: 4 }, (_, b) => ({ operator: 'equiv-components', stage: 'propagate', task: 'calibrate:d/cc', paramsHash: 'p1', round: r, inputBytes: 0, inputRows: 1000, durationMs: 100, setupMs: 0, at: at + b }));
    const history = [...round(1, 0), ...round(1, 10), ...round(2, 20)];
    const model = createCostModel(history);
    assert.equal(model.expectedRounds?.('equiv-components', 'propagate', 'mine/cc', 'p1'), 1.5); // the params level
    assert.equal(model.expectedRounds?.('equiv-components', 'propagate', 'mine/cc', 'other'), 1.5); // the pooled stage
    assert.equal(model.expectedRounds?.('equiv-components', 'emit'), undefined); // no rounds recorded
    const dag: DagSpec = {
      name: 'mine', params: {}, sourceHash: 't', sourceFile: 't.yaml',
      datasets: { equivs: { name: 'equivs', uri: 'file:///e', format: 'parquet', view: false }, ids: { name: 'ids', uri: 'file:///i', format: 'parquet', view: false, producer: 'cc' } },
      tasks: [{ name: 'cc', operator: 'equiv-components', inputs: ['equivs'], outputs: ['ids'], dependsOn: [], params: { buckets: 4 }, retries: 0, timeoutMs: 60_000, retryBackoffMs: 10, retryBackoffMaxMs: 1000 }],
    };
    const sources = { equivs: [{ path: 'a.parquet', rows: 1000, bytes: 10_000, sha256: 'x' }] };
    const charged = (cost: Parameters<typeof expandDag>[2]): number[] => {
      const perRound = new Map<number, number>();
      for (const i of expandDag(dag, sources, cost)) if (i.stage === 'propagate') perRound.set(i.round, (perRound.get(i.round) ?? 0) + i.predictedMs);
      return [...perRound.entries()].sort((a, b) => a[0] - b[0]).slice(0, 5).map(([, ms]) => ms);
    };
    const unit = { estimate: () => ({ overheadMs: 10, workMs: 0, predictedMs: 10, source: 'default' as const }) };
    assert.deepEqual(charged(unit), [40, 40, 40, 40, 0]); // no history: the stage's default of 4 rounds
    assert.deepEqual(charged({ ...unit, expectedRounds: () => 1.5 }), [40, 20, 0, 0, 0]);
  });

  it("takes P from the next level when a task's sizes are all about equal", () => {
    const pool = samples(6, 20, 200, 10, 0);
    const same = Array.from({ length: 8 }, (_, i) => ({ operator: 'scan', stage: 'main', task: 'd/t', inputBytes: (100 + i) * MIB, inputRows: 0, durationMs: 300 + 10 * (100 + i) + (i % 2 === 0 ? 50 : -50), setupMs: 0, at: 100 + i }));
    const e = createCostModel([...pool, ...same], { operators }).estimate('scan', 'main', 100 * MIB, 0, 'd/t');
    assert.equal(e.level, 'task');
    assert.ok(Math.abs(e.workMs - 10 * 100) < 50, JSON.stringify(e)); // P of the operator's pool (which holds these too)
    assert.ok(Math.abs(e.overheadMs - 300) < 30, JSON.stringify(e));
  });

  it('fitCostLine: unbiased under proportional noise, and a cold outlier does not move the fit', () => {
    const rand = mulberry32(11);
    const h = Array.from({ length: 60 }, () => 1 + rand() * 200);
    const t = h.map((x) => (50 + 4 * x) * Math.exp(0.2 * normal(rand) - 0.02)); // median-unbiased noise, ±20%
    t[0] = (t[0] as number) * 8; // a cold first instance
    const f = fitCostLine(h, t, 1);
    assert.ok(Math.abs(f.perUnit - 4) / 4 < 0.1, `P = ${f.perUnit}`);
    assert.ok(f.relativeError < 0.25, `median relative residual ${f.relativeError}`);
  });

  it('rejects unknown operators with PLAN_FAILED', () => {
    assert.throws(() => createCostModel([], { operators }).estimate('nope', 'main', 0, 0), (e) => isDagctlError(e, 'PLAN_FAILED'));
  });
});
