/**
 * The cost model under load (scheduler/plan/cost.ts): samples that recorded their thread's CPU
 * time and run-queue wait are fitted on uncontended time U = duration − wait and CPU time C, and a
 * wall time is predicted for a given contention k as U + (k − 1)·C. The oracle is the generating
 * lines themselves: samples are made from known U and C lines under a different random load each,
 * so a fit on wall time as recorded cannot recover them. Also planContention (env, probe only when
 * the history has CPU times), the pure contention ratios of core/thread-cpu.ts, and costSampleOf
 * carrying the CPU times.
 */
import assert from 'node:assert/strict';
import { z } from 'zod';
import { contentionOf, medianContention } from '../../core/thread-cpu.js';
import { isDagctlError } from '../../core/errors.js';
import type { AnyOperator } from '../../operators/types.js';
import { costSampleOf } from '../../scheduler/cost-sample.js';
import type { CostSample, InstanceResult, PlannedInstance } from '../../scheduler/model.js';
import { createCostModel, probeBias, recentContention, uncontendedMs } from '../../scheduler/plan/cost.js';
import { planContention } from '../../scheduler/plan/context.js';
import { mulberry32, normal } from './support/prng.js';

const MIB = 1024 * 1024;
const OP: AnyOperator = {
  name: 'scan', version: '1', summary: 'stub', params: z.object({}),
  cost: { overheadMs: 100, perUnitMs: 10, driver: 'bytes' },
  inputs: { min: 0, max: 1 }, outputs: { min: 0, max: 1 },
  stages: () => [{ name: 'main', fanout: 'single' }], run: async () => ({}),
};
const operators = (n: string): AnyOperator | undefined => (n === 'scan' ? OP : undefined);

interface Lines { uO: number; uP: number; cO: number; cP: number }

/** Samples from known lines: CPU C(h), off-CPU time U(h) − C(h), and a wait of (k − 1)·C for a per-sample load k in [1, kMax]. */
function loaded(seed: number, n: number, l: Lines, kMax: number, noise = 0): CostSample[] {
  const rand = mulberry32(seed);
  return Array.from({ length: n }, (_, i) => {
    const h = 1 + rand() * 299;
    const jitter = 1 + noise * normal(rand);
    const cpu = (l.cO + l.cP * h) * jitter;
    const u = (l.uO + l.uP * h) * jitter;
    const k = 1 + rand() * (kMax - 1);
    const wait = (k - 1) * cpu;
    return { operator: 'scan', stage: 'main', task: 'd/t', inputBytes: Math.round(h * MIB), inputRows: 0, durationMs: u + wait, setupMs: 0, cpuMs: cpu, waitMs: wait, at: i };
  });
}

describe('plan: cost model under load', () => {
  it('recovers the uncontended and CPU lines from samples measured under varying load, and predicts for the given contention', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const rand = mulberry32(100 + seed);
      const cO = 20 + rand() * 200, cP = 1 + rand() * 20;
      const l: Lines = { cO, cP, uO: cO + rand() * 100, uP: cP * (1 + rand() * 0.3) };
      const model = createCostModel(loaded(seed, 60, l, 3), { operators, contention: 2.5 });
      for (const hMiB of [5, 50, 250]) {
        const e = model.estimate('scan', 'main', hMiB * MIB, 0, 'd/t');
        const u = l.uO + l.uP * hMiB, c = l.cO + l.cP * hMiB;
        assert.equal(e.source, 'fitted');
        assert.equal(e.contention, 2.5);
        assert.ok(Math.abs((e.cpuMs ?? NaN) - c) / c < 1e-6, `seed ${seed} h ${hMiB}: cpu ${e.cpuMs} vs ${c}`);
        assert.ok(Math.abs(e.predictedMs - (u + 1.5 * c)) / (u + 1.5 * c) < 1e-6, `seed ${seed} h ${hMiB}: wall ${e.predictedMs} vs ${u + 1.5 * c}`);
        // T = O + P×H still adds up.
        assert.ok(Math.abs(e.overheadMs + e.workMs - e.predictedMs) < 1e-9);
      }
    }
  });

  it('beats a fit on wall time as recorded when the load changes between history and run', () => {
    const l: Lines = { cO: 100, cP: 10, uO: 150, uP: 11 };
    const history = loaded(7, 40, l, 4, 0.05);
    const timed = createCostModel(history, { operators, contention: 1 });
    const wallOnly = createCostModel(history.map(({ cpuMs: _c, waitMs: _w, ...s }) => s), { operators });
    const h = 100, truth = l.uO + l.uP * h; // an idle machine: k = 1
    const errTimed = Math.abs(timed.estimate('scan', 'main', h * MIB, 0, 'd/t').predictedMs - truth) / truth;
    const errWall = Math.abs(wallOnly.estimate('scan', 'main', h * MIB, 0, 'd/t').predictedMs - truth) / truth;
    assert.ok(errTimed < 0.05, `timed fit off by ${errTimed}`);
    assert.ok(errWall > 0.5, `the wall fit should carry the history's load (~2.5×), off by ${errWall}`);
  });

  it('without a given contention uses what the most recent samples met, over all operators', () => {
    const l: Lines = { cO: 50, cP: 5, uO: 50, uP: 5 };
    // 200 old samples met k = 5, the latest 100 (another stage) k = 2: the window holds the latest.
    const old = loaded(21, 200, l, 1).map((s) => ({ ...s, waitMs: 4 * (s.cpuMs ?? 0), durationMs: 5 * (s.cpuMs ?? 0) }));
    const recent = loaded(22, 100, l, 1).map((s, i) => ({ ...s, stage: 'other', at: 1000 + i, waitMs: s.cpuMs ?? 0, durationMs: 2 * (s.cpuMs ?? 0) }));
    assert.ok(Math.abs((recentContention([...old, ...recent]) ?? NaN) - 2) < 1e-12);
    assert.ok(Math.abs((recentContention(old) ?? NaN) - 5) < 1e-12);
    assert.equal(recentContention(old.slice(0, 2)), undefined);
    // Weighted by CPU time: 10 ms at k = 9 and 90 ms at k = 1 met (100 + 80) / 100 (a median of k would say 1).
    const mk = (cpu: number, wait: number, at: number): CostSample => ({ operator: 'scan', stage: 'main', inputBytes: 1, inputRows: 0, durationMs: cpu + wait, setupMs: 0, cpuMs: cpu, waitMs: wait, at });
    assert.ok(Math.abs((recentContention([mk(10, 80, 1), mk(45, 0, 2), mk(45, 0, 3)]) ?? NaN) - 1.8) < 1e-12);
    const e = createCostModel([...old, ...recent], { operators }).estimate('scan', 'main', 10 * MIB, 0, 'd/t');
    assert.ok(Math.abs((e.contention ?? NaN) - 2) < 1e-12, String(e.contention));
    assert.ok(Math.abs(e.predictedMs - 2 * 100) / 200 < 1e-6, String(e.predictedMs)); // U = C = 100 at 10 MiB
  });

  it('without a given contention, a single group uses Σ(cpu + wait) / Σ cpu of its samples', () => {
    const l: Lines = { cO: 50, cP: 5, uO: 50, uP: 5 };
    const history = loaded(11, 31, l, 3);
    const k = history.reduce((a, s) => a + (s.cpuMs ?? 0) + (s.waitMs ?? 0), 0) / history.reduce((a, s) => a + (s.cpuMs ?? 0), 0);
    const e = createCostModel(history, { operators }).estimate('scan', 'main', 10 * MIB, 0, 'd/t');
    assert.ok(Math.abs((e.contention ?? NaN) - k) < 1e-12, `${e.contention} vs ${k}`);
    // A contention below 1 is read as 1 (no negative wait).
    const low = createCostModel(history, { operators, contention: 0.5 }).estimate('scan', 'main', 10 * MIB, 0, 'd/t');
    assert.ok(Math.abs(low.predictedMs - 100) / 100 < 1e-6, `${low.predictedMs}`);
  });

  it('scales the probe by its bias: what instances met ÷ what the probe of their run saw', () => {
    const l: Lines = { cO: 100, cP: 10, uO: 100, uP: 10 };
    // Every sample met k = 2 × its run's probe (probes 1.2, 1.5, 2).
    const history = loaded(13, 30, l, 1).map((s, i) => {
      const probed = [1.2, 1.5, 2][i % 3] as number;
      const cpu = s.cpuMs ?? 0;
      return { ...s, probedContention: probed, waitMs: (2 * probed - 1) * cpu, durationMs: cpu + (2 * probed - 1) * cpu };
    });
    assert.ok(Math.abs((probeBias(history) ?? NaN) - 2) < 1e-12);
    const e = createCostModel(history, { operators, contention: 1.5, probed: true }).estimate('scan', 'main', 20 * MIB, 0, 'd/t');
    const c = l.cO + l.cP * 20;
    // A given (not probed) k is used as it is.
    assert.equal(createCostModel(history, { operators, contention: 1.5 }).estimate('scan', 'main', 20 * MIB, 0, 'd/t').contention, 1.5);
    assert.ok(Math.abs((e.contention ?? NaN) - 3) < 1e-12);
    assert.equal(e.probedContention, 1.5);
    assert.ok(Math.abs(e.predictedMs - (c + 2 * c)) / (3 * c) < 1e-6, `${e.predictedMs} vs ${3 * c}`);
    // Too few probed samples: no bias, the probe as measured.
    assert.equal(probeBias(history.slice(0, 2)), undefined);
    assert.equal(createCostModel(history.slice(0, 5).map(({ probedContention: _p, ...s }) => s), { operators, contention: 1.5, probed: true }).estimate('scan', 'main', MIB, 0, 'd/t').contention, 1.5);
  });

  it('falls back to the wall-time fit when fewer than minSamples samples have CPU times', () => {
    const l: Lines = { cO: 50, cP: 5, uO: 50, uP: 5 };
    const plain = loaded(3, 20, l, 2).map(({ cpuMs: _c, waitMs: _w, ...s }) => s);
    const two = loaded(4, 2, l, 2).map((s, i) => ({ ...s, at: 100 + i }));
    const e = createCostModel([...plain, ...two], { operators, contention: 3 }).estimate('scan', 'main', 10 * MIB, 0, 'd/t');
    assert.equal(e.cpuMs, undefined);
    assert.equal(e.contention, undefined);
    assert.equal(e.samples, 22);
  });

  it('with minSamples 0 and only samples without CPU times, still fits wall time (finite, no contention)', () => {
    const l: Lines = { cO: 50, cP: 5, uO: 50, uP: 5 };
    const plain = loaded(5, 20, l, 2).map(({ cpuMs: _c, waitMs: _w, ...s }) => s);
    const e = createCostModel(plain, { operators, minSamples: 0 }).estimate('scan', 'main', 10 * MIB, 0, 'd/t');
    assert.ok(Number.isFinite(e.predictedMs) && e.predictedMs > 0, `predicted ${e.predictedMs}`);
    assert.equal(e.cpuMs, undefined);
    assert.equal(e.contention, undefined);
    assert.equal(recentContention(plain, 0), undefined);
    assert.equal(probeBias(plain, 0), undefined);
  });

  it('rejects a sample hit by a one-off stall (per-group outlier pass)', () => {
    const l: Lines = { cO: 100, cP: 10, uO: 120, uP: 10 };
    const history = loaded(5, 30, l, 2);
    const bad = history[10] as CostSample;
    history[10] = { ...bad, durationMs: bad.durationMs * 20, cpuMs: (bad.cpuMs ?? 0) * 20 };
    const e = createCostModel(history, { operators, contention: 1 }).estimate('scan', 'main', 100 * MIB, 0, 'd/t');
    const truth = l.uO + l.uP * 100;
    assert.ok(Math.abs(e.predictedMs - truth) / truth < 1e-6, `${e.predictedMs} vs ${truth}`);
  });

  it('the uncontended time of a sample is its duration less its wait, never below its CPU time', () => {
    assert.equal(uncontendedMs({ durationMs: 1000, cpuMs: 300, waitMs: 600 }), 400);
    assert.equal(uncontendedMs({ durationMs: 800, cpuMs: 300, waitMs: 600 }), 300);
  });
});

describe('plan: contention', () => {
  it('contentionOf is (cpu + wait) / cpu, null without CPU time; medianContention takes the median window', () => {
    assert.equal(contentionOf({ cpuMs: 20, waitMs: 60 }), 4);
    assert.equal(contentionOf({ cpuMs: 0, waitMs: 60 }), null);
    assert.equal(medianContention([{ cpuMs: 10, waitMs: 0 }, { cpuMs: 10, waitMs: 90 }, { cpuMs: 10, waitMs: 10 }, { cpuMs: 0, waitMs: 5 }]), 2);
    assert.equal(medianContention([{ cpuMs: 10, waitMs: 10 }, { cpuMs: 10, waitMs: 30 }]), 3);
    assert.equal(medianContention([]), null);
  });

  it('planContention: a number in DAGCTL_CONTENTION is used as given, `probe` probes only for a history with CPU times, a bad value is COST_INVALID', () => {
    let probes = 0;
    const probe = (): number => (probes++, 1.7);
    const timed: CostSample = { operator: 'scan', stage: 'main', inputBytes: 1, inputRows: 0, durationMs: 10, setupMs: 0, cpuMs: 5, waitMs: 1, at: 0 };
    const untimed: CostSample = { operator: 'scan', stage: 'main', inputBytes: 1, inputRows: 0, durationMs: 10, setupMs: 0, at: 0 };
    assert.deepEqual(planContention([timed], '2.25', probe), { k: 2.25, probed: false });
    assert.equal(planContention([timed], undefined, probe), undefined);
    assert.equal(planContention([timed], '', probe), undefined);
    assert.equal(probes, 0);
    assert.equal(planContention([untimed], 'probe', probe), undefined);
    assert.equal(probes, 0);
    assert.deepEqual(planContention([untimed, timed], 'probe', probe), { k: 1.7, probed: true });
    assert.equal(probes, 1);
    for (const bad of ['0.5', 'fast', 'NaN', '1e300', 'Infinity']) {
      assert.throws(() => planContention([timed], bad, probe), (e: unknown) => isDagctlError(e) && e.code === 'COST_INVALID');
    }
  });
});

describe('costSampleOf: CPU times', () => {
  const inst = { operator: 'scan', stage: 'main', task: 't', inputBytes: 5, inputRows: 6, rounds: 1, round: 1 } as PlannedInstance;
  const result = { memoized: false, fingerprint: '', outputs: [], metrics: {}, inputBytes: 7, inputRows: 8, outputRows: 0, durationMs: 100, setupMs: 1 } as InstanceResult;
  it('carries the thread CPU time and wait when the runner measured both, and neither otherwise', () => {
    const s = costSampleOf('d', inst, { ...result, cpuMs: 40, cpuWaitMs: 30 }, 9);
    assert.equal(s.cpuMs, 40);
    assert.equal(s.waitMs, 30);
    assert.equal(costSampleOf('d', { ...inst, probedContention: 1.4 }, result, 9).probedContention, 1.4);
    const none = costSampleOf('d', inst, { ...result, cpuMs: 40 }, 9);
    assert.equal('cpuMs' in none, false);
    assert.equal('waitMs' in none, false);
  });
});
