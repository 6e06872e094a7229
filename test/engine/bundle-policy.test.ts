/**
 * The bundling policy (scheduler/bundle-policy.ts), a pure function: which ready instances of one
 * group share a queue job. Pins the rules (short only, target total, member cap, never fewer jobs
 * than minBundles, short ones' order kept, every instance exactly once) and the DAGCTL_BUNDLE_* overrides.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isDagctlError } from '../../core/errors.js';
import { DEFAULT_BUNDLE_POLICY, bundlePolicyFromEnv, planBundles, type BundleCandidate, type BundlePolicy } from '../../scheduler/bundle-policy.js';

const cands = (n: number, ms = 1, prefix = 'i'): BundleCandidate[] => Array.from({ length: n }, (_, i) => ({ id: `${prefix}${i}`, predictedMs: ms }));
const P: BundlePolicy = { maxMemberMs: 5, targetMs: 50, maxMembers: 64, minBundles: 32 };

describe('bundle policy', () => {
  it('a wide fan-out of 1 ms instances: bundles of targetMs / 1 ms, at least minBundles of them', () => {
    const jobs = planBundles(cands(9998), P);
    assert.equal(jobs[0]?.length, 50);
    assert.ok(jobs.length >= 32);
    assert.equal(jobs.length, Math.ceil(9998 / 50));
  });

  it('a lone instance, a small fan-out, or too few to keep minBundles jobs: all singles', () => {
    assert.deepEqual(planBundles(cands(1), P), [['i0']]);
    assert.ok(planBundles(cands(16), P).every((j) => j.length === 1));
    assert.ok(planBundles(cands(63), P).every((j) => j.length === 1));
    // 64 short ones: two per job keeps 32 jobs.
    const jobs = planBundles(cands(64), P);
    assert.equal(jobs.length, 32);
    assert.ok(jobs.every((j) => j.length === 2));
  });

  it('long instances always go alone; bundles of the short ones keep their order', () => {
    const mixed = [...cands(100, 1, 's'), { id: 'long', predictedMs: 5 }, ...cands(100, 1, 't')];
    const jobs = planBundles(mixed, P);
    assert.ok(jobs.some((j) => j.length === 1 && j[0] === 'long'));
    assert.deepEqual(jobs.flat().filter((id) => id !== 'long'), mixed.map((c) => c.id).filter((id) => id !== 'long'));
  });

  it('members per bundle are capped by the target total and by maxMembers', () => {
    assert.equal(planBundles(cands(5000, 4), P)[0]?.length, 12); // 12 × 4 ms = 48 ≤ 50
    assert.equal(planBundles(cands(5000, 0), P)[0]?.length, 64);
    assert.equal(planBundles(cands(5000, 0), { ...P, maxMembers: 10 })[0]?.length, 10);
  });

  it('maxMembers 1 turns bundling off', () => {
    assert.ok(planBundles(cands(5000), { ...P, maxMembers: 1 }).every((j) => j.length === 1));
  });

  it('property: every instance exactly once, short ones in order; bundles within caps; ≥ minBundles jobs when bundling', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ ms: fc.double({ min: 0, max: 20, noNaN: true }) }), { maxLength: 3000 }),
        fc.record({ maxMemberMs: fc.integer({ min: 0, max: 10 }), targetMs: fc.integer({ min: 0, max: 100 }), maxMembers: fc.integer({ min: 0, max: 100 }), minBundles: fc.integer({ min: 0, max: 64 }) }),
        (xs, p) => {
          const cs = xs.map((x, i) => ({ id: `x${i}`, predictedMs: x.ms }));
          const jobs = planBundles(cs, p);
          const ms = new Map(cs.map((c) => [c.id, c.predictedMs]));
          assert.deepEqual([...jobs.flat()].sort(), cs.map((c) => c.id).sort());
          // Long instances go out at once; the short ones keep dispatch order.
          const short = (id: string): boolean => (ms.get(id) ?? Infinity) < p.maxMemberMs;
          if (jobs.some((j) => j.length > 1)) assert.deepEqual(jobs.flat().filter(short), cs.map((c) => c.id).filter(short));
          for (const j of jobs) {
            if (j.length === 1) continue;
            assert.ok(j.length <= p.maxMembers);
            assert.ok(j.every((id) => (ms.get(id) ?? Infinity) < p.maxMemberMs));
            const total = j.reduce((s, id) => s + (ms.get(id) ?? 0), 0);
            assert.ok(total <= p.targetMs + 1e-9, `total ${total}`);
          }
          if (jobs.some((j) => j.length > 1)) assert.ok(jobs.length >= Math.max(1, p.minBundles));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('DAGCTL_BUNDLE_* override the defaults; a bad value is a USAGE error', () => {
    assert.deepEqual(bundlePolicyFromEnv({}), DEFAULT_BUNDLE_POLICY);
    assert.deepEqual(bundlePolicyFromEnv({ DAGCTL_BUNDLE_MAX_MEMBERS: '1', DAGCTL_BUNDLE_TARGET_MS: '20' }), { ...DEFAULT_BUNDLE_POLICY, maxMembers: 1, targetMs: 20 });
    assert.throws(() => bundlePolicyFromEnv({ DAGCTL_BUNDLE_MIN_BUNDLES: 'many' }), (e: unknown) => isDagctlError(e, 'USAGE'));
  });
});
