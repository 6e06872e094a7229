/**
 * The recurring batch loop T* = O / (1 − P): the seed examples, divergence at P ≥ 1, elasticity,
 * and COST_INVALID on bad input.
 */
import assert from 'node:assert/strict';
import { isDagctlError } from '../../core/errors.js';
import { adjustedP, elasticity, steadyState, steadyStateChange } from '../../scheduler/plan/steady-state.js';

const close = (a: number, b: number, tol = 0.05): boolean => Math.abs(a - b) <= tol;

describe('plan: steady state', () => {
  it('O = 3.33 h, P = 8/9: T* = 30 h, doubling the cluster → 6 h', () => {
    const r = steadyStateChange({ overheadHours: 3.33, p: 8 / 9, clusterScale: 2 });
    assert.ok(close(r.before.hours, 30), String(r.before.hours));
    assert.ok(close(r.after.hours, 6), String(r.after.hours));
    assert.ok(r.after.converges);
  });

  it('O = 0.889 h, T* = 8 h (P = 8/9): 10% more failures → 72 h', () => {
    const r = steadyStateChange({ overheadHours: 0.889, p: 8 / 9, failureRate: 0.1 });
    assert.ok(close(r.before.hours, 8, 0.01), String(r.before.hours));
    assert.ok(close(r.after.p, 0.98765, 1e-5));
    assert.ok(close(r.after.hours, 72, 0.05), String(r.after.hours));
  });

  it('diverges when P ≥ 1, also after a change', () => {
    assert.deepEqual(steadyState(1, 1), { p: 1, hours: Infinity, converges: false });
    const r = steadyStateChange({ overheadHours: 1, p: 0.95, failureRate: 0.1 });
    assert.ok(r.before.converges && !r.after.converges);
    assert.equal(steadyState(0, 0.5).hours, 0);
  });

  it('elasticity is P/(1 − P) and matches a numeric derivative of ln T*', () => {
    assert.ok(close(elasticity(8 / 9), 8, 1e-9));
    const p = 0.6, dp = 1e-6;
    const numeric = (Math.log(steadyState(2, p + dp).hours) - Math.log(steadyState(2, p).hours)) / (Math.log(p + dp) - Math.log(p));
    assert.ok(close(numeric, elasticity(p), 1e-4));
    assert.equal(elasticity(1.2), Infinity);
  });

  it('scales P by 1/k and by 1/(1 − f)', () => {
    assert.ok(close(adjustedP(0.9, 3), 0.3, 1e-12));
    assert.ok(close(adjustedP(0.5, 1, 0.5), 1, 1e-12));
  });

  it('rejects bad input with COST_INVALID', () => {
    const bad: (() => unknown)[] = [
      () => steadyState(-1, 0.5),
      () => steadyState(1, -0.1),
      () => steadyState(Number.NaN, 0.5),
      () => adjustedP(0.5, 0),
      () => adjustedP(0.5, 1, 1),
      () => adjustedP(0.5, 1, -0.1),
    ];
    for (const f of bad) assert.throws(f, (e) => isDagctlError(e, 'COST_INVALID'));
  });
});
