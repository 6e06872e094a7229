/**
 * serving/ranges.ts property tests: the decomposition is a disjoint exact cover of [from, to) by
 * aligned buckets, has the fewest buckets (against a dynamic-programming minimum over all aligned
 * covers, on small ranges), and per-hour totals summed over its buckets equal summing the hours;
 * rounding widens outwards to whole finest buckets and says so.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isDagctlError } from '../../core/errors.js';
import { GRANULARITY_SECONDS, type Granularity } from '../../domain/granularity.js';
import { decompose, roundRange, type Bucket } from '../../serving/ranges.js';

const H = 3600;
const ALL: Granularity[] = ['h', 'd', 'w', 'm'];
/** Subsets a view may have been built with (rollup's granularities param), always nesting. */
const SETS: Granularity[][] = [['h', 'd', 'w', 'm'], ['h', 'd'], ['h', 'w'], ['h', 'm'], ['d', 'w', 'm'], ['h'], ['d', 'm'], ['w']];
const finestOf = (gs: Granularity[]): number => Math.min(...gs.map((g) => GRANULARITY_SECONDS[g]));

/** Fewest aligned buckets tiling [from, to): DP over finest-bucket positions, every granularity tried. */
function minimumCover(from: number, to: number, gs: Granularity[]): number {
  const f = finestOf(gs);
  const n = (to - from) / f;
  const dp = new Array<number>(n + 1).fill(Infinity);
  dp[0] = 0;
  for (let i = 1; i <= n; i++) {
    const end = from + i * f;
    for (const g of gs) {
      const s = GRANULARITY_SECONDS[g];
      const start = end - s;
      if (start < from || start % s !== 0) continue;
      const j = (start - from) / f;
      if (dp[j]! + 1 < dp[i]!) dp[i] = dp[j]! + 1;
    }
  }
  return dp[n]!;
}

/** An aligned range on the finest granularity of gs, anywhere in 1970..2100, of up to `span` finest units. */
function alignedRange(gs: Granularity[], span: number): fc.Arbitrary<[number, number]> {
  const f = finestOf(gs);
  return fc.tuple(fc.integer({ min: 0, max: Math.floor(4_102_444_800 / f) }), fc.integer({ min: 1, max: span })).map(([a, n]) => [a * f, (a + n) * f]);
}

function checkCover(buckets: Bucket[], from: number, to: number, gs: Granularity[]): void {
  let t = from;
  for (const b of buckets) {
    assert.ok(gs.includes(b.granularity), `granularity ${b.granularity} not in ${gs.join(',')}`);
    const s = GRANULARITY_SECONDS[b.granularity];
    assert.equal(b.start % s, 0, `bucket ${b.granularity}@${b.start} not aligned as rollup aligns it`);
    assert.equal(b.start, t, 'buckets must be contiguous, disjoint and in time order');
    t += s;
  }
  assert.equal(t, to, 'buckets must end exactly at `to`');
}

describe('serving range decomposition', () => {
  it('is a disjoint exact cover by aligned buckets with the fewest buckets (DP minimum)', () => {
    fc.assert(
      fc.property(fc.constantFrom(...SETS).chain((gs) => fc.tuple(fc.constant(gs), alignedRange(gs, finestOf(gs) === H ? 24 * 7 * 4 * 3 : 120))), ([gs, [from, to]]) => {
        const buckets = decompose(from, to, gs);
        checkCover(buckets, from, to, gs);
        assert.equal(buckets.length, minimumCover(from, to, gs));
      }),
      { numRuns: 400 },
    );
  });

  it('uses coarse buckets in the middle, finer ones at the edges (granularity rises then falls)', () => {
    fc.assert(
      fc.property(alignedRange(ALL, 24 * 7 * 4 * 30), ([from, to]) => {
        const sizes: number[] = decompose(from, to, ALL).map((b) => GRANULARITY_SECONDS[b.granularity]);
        const peak = sizes.indexOf(Math.max(...sizes));
        for (let i = 1; i <= peak; i++) assert.ok(sizes[i]! >= sizes[i - 1]!);
        for (let i = peak + 1; i < sizes.length; i++) assert.ok(sizes[i]! <= sizes[i - 1]!);
      }),
    );
  });

  it('totals over the buckets equal summing the hours (per-hour counts rolled up as rollup does)', () => {
    fc.assert(
      fc.property(alignedRange(ALL, 24 * 7 * 4 * 4), fc.integer({ min: 1, max: 2 ** 31 }), ([from, to], seed) => {
        // A deterministic pseudo-random count per hour over a window around the range.
        const count = (hour: number): number => (Math.imul(hour ^ seed, 2654435761) >>> 0) % 97;
        const buckets = decompose(from, to, ALL);
        let viaBuckets = 0;
        for (const b of buckets) {
          // A bucket's count is the sum of its hours (what rollup stores for a coarser bucket).
          for (let t = b.start; t < b.start + GRANULARITY_SECONDS[b.granularity]; t += H) viaBuckets += count(t / H);
        }
        let viaHours = 0;
        for (let t = from; t < to; t += H) viaHours += count(t / H);
        assert.equal(viaBuckets, viaHours);
      }),
    );
  });

  it('rounds unaligned ends outwards to whole finest buckets and reports it', () => {
    fc.assert(
      fc.property(fc.constantFrom(...SETS), fc.integer({ min: 0, max: 4_000_000_000 }), fc.integer({ min: 1, max: 10_000_000 }), (gs, from, len) => {
        const to = from + len;
        const f = finestOf(gs);
        const r = roundRange(from, to, gs);
        assert.ok(r.from <= from && from - r.from < f && r.from % f === 0);
        assert.ok(r.to >= to && r.to - to < f && r.to % f === 0);
        assert.equal(r.rounded, r.from !== from || r.to !== to);
        assert.equal(r.rounded, from % f !== 0 || to % f !== 0);
        checkCover(decompose(r.from, r.to, gs), r.from, r.to, gs);
      }),
    );
  });

  it('the book example: Aug 3 03:00 until Aug 6 03:00 is 21 h + 2 d + 3 h', () => {
    const from = Date.UTC(2015, 7, 3, 3) / 1000, to = Date.UTC(2015, 7, 6, 3) / 1000;
    const b = decompose(from, to, ALL);
    assert.deepEqual(b.map((x) => x.granularity).join(''), 'h'.repeat(21) + 'dd' + 'hhh');
  });

  it('refuses empty, reversed and unaligned ranges with coded errors', () => {
    assert.throws(() => roundRange(10 * H, 10 * H, ALL), (e) => isDagctlError(e, 'QUERY_RANGE_INVALID'));
    assert.throws(() => roundRange(11 * H, 10 * H, ALL), (e) => isDagctlError(e, 'QUERY_RANGE_INVALID'));
    assert.throws(() => roundRange(0.5, 10 * H, ALL), (e) => isDagctlError(e, 'QUERY_RANGE_INVALID'));
    assert.throws(() => decompose(1, 10 * H, ALL), (e) => isDagctlError(e, 'QUERY_RANGE_INVALID'));
    assert.throws(() => decompose(0, 10 * H, []), (e) => isDagctlError(e, 'QUERY_INVALID'));
  });
});
