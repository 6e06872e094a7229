/**
 * The KEDA + HPA model of the scaling benchmark (bench/lib/keda-hpa.ts), pinned on hand-worked
 * sequences: scale-up to ceil(metric / target) within the per-period limits, the tolerance band,
 * the scale-down stabilisation window and rate limit, min/max, activation from zero and the
 * cooldown back to zero.
 */
import assert from 'node:assert/strict';
import { CHART_DEFAULTS, KedaHpa } from '../../bench/lib/keda-hpa.js';

const model = (over: Partial<ConstructorParameters<typeof KedaHpa>[0]> = {}): KedaHpa =>
  new KedaHpa({ ...CHART_DEFAULTS, target: 4, minReplicas: 1, maxReplicas: 20, ...over });

describe('KEDA + HPA model', () => {
  it('scales up to ceil(metric / target), limited per period to max(2×, +4) and to maxReplicas', () => {
    const m = model();
    assert.equal(m.step(0, 40, 1), 5); // wants 10; 1 → max(2, 1 + 4) = 5
    assert.equal(m.step(1000, 40, 5), 5); // same 15 s period: base 1, limit 5
    assert.equal(m.step(15_000, 40, 5), 10); // new period: base 5 → max(10, 9)
    assert.equal(model({ maxReplicas: 3 }).step(0, 400, 1), 3);
  });

  it('holds inside the tolerance band', () => {
    const m = model();
    assert.equal(m.step(0, 17, 4), 4); // 17 / 16 = 1.06: within 10%
    assert.equal(model().step(0, 18, 4), 5); // 18 / 16 = 1.125: ceil(18 / 4) = 5
  });

  it('scales down only to the highest recommendation of the stabilisation window, at most 50% per minute', () => {
    const m = model({ scaleDownWindowMs: 10_000 });
    assert.equal(m.step(0, 40, 10), 10);
    assert.equal(m.step(5000, 4, 10), 10); // window still holds the 10
    assert.equal(m.step(11_000, 4, 10), 5); // window: [1] → 1, but at most 50% of 10 per minute
    assert.equal(m.step(30_000, 4, 5), 5); // same minute: base 10 → limit 5
    assert.equal(m.step(71_000, 4, 5), 3); // next minute: base 5 → 5 − 2 = 3
    assert.equal(m.step(140_000, 0, 3), 2);
    assert.equal(m.step(200_000, 0, 2), 1); // never below max(1, min) while min ≥ 1
    assert.equal(m.step(260_000, 0, 1), 1);
  });

  it('with minReplicas 0: an active metric starts pods from zero; idle for the cooldown goes back to zero', () => {
    const m = model({ minReplicas: 0, cooldownMs: 30_000, scaleDownWindowMs: 0 });
    assert.equal(m.step(0, 0, 0), 0);
    assert.equal(m.step(1000, 3, 0), 1);
    assert.equal(m.step(2000, 3, 1), 1);
    assert.equal(m.step(10_000, 0, 1), 1); // inactive, cooldown not over
    assert.equal(m.step(31_999, 0, 1), 1);
    assert.equal(m.step(32_000, 0, 1), 0);
  });
});
