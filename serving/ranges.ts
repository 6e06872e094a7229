/**
 * Range decomposition for the serving layer (pure): covers [from, to) (epoch seconds) with the
 * fewest view buckets of the given granularities, aligned exactly as rollup aligns them
 * (domain/granularity.ts: a bucket of g starts at a multiple of g's seconds since the epoch,
 * so h | d | w | m nest and every coarser bucket is tiled by finer ones).
 *
 *   roundRange(from, to, granularities) → { from, to, rounded }   the range the answer covers
 *   decompose(from, to, granularities)  → Bucket[]                 the fewest buckets, in time order
 *
 * Rounding: a range whose ends are not multiples of the finest granularity present (h for the
 * SuperWebAnalytics views) is widened outwards — from down, to up — to whole finest buckets, since
 * a bucket's count cannot be split; the answer then covers the widened range and says so
 * (`rounded: true`, with both ranges). It never narrows a range.
 *
 * Fewest buckets: because the granularities nest, a greedy walk from `from` that takes, at each
 * point, the coarsest bucket that starts there and ends by `to` is optimal (any cover must split at
 * the points where no coarser aligned bucket fits; test/serving/ranges.test.ts checks it against a
 * dynamic-programming minimum). The result is coarse in the middle, finer towards both edges.
 */
import { DagctlError } from '../core/errors.js';
import { GRANULARITY_SECONDS, type Granularity } from '../domain/granularity.js';

export interface Bucket {
  granularity: Granularity;
  /** Start, epoch seconds (a multiple of the granularity's seconds). */
  start: number;
}

export interface RoundedRange {
  from: number;
  to: number;
  /** true when [from, to) was widened to whole buckets of the finest granularity. */
  rounded: boolean;
}

/** The granularities sorted finest first, each checked to divide the next (rollup's invariant). */
const nestedOf = new WeakMap<object, Granularity[]>();

export function nested(granularities: Iterable<Granularity>): Granularity[] {
  // A view's granularities are one array, queried again and again: its answer is kept (callers never mutate either).
  const known = nestedOf.get(granularities);
  if (known !== undefined) return known;
  const gs = [...new Set(granularities)].sort((a, b) => GRANULARITY_SECONDS[a] - GRANULARITY_SECONDS[b]);
  if (gs.length === 0) throw new DagctlError('QUERY_INVALID', 'no granularities to cover a range with');
  for (let k = 1; k < gs.length; k++) {
    if (GRANULARITY_SECONDS[gs[k]!] % GRANULARITY_SECONDS[gs[k - 1]!] !== 0) {
      throw new DagctlError('INTERNAL', `granularities ${gs.join(',')} do not nest`);
    }
  }
  if (Array.isArray(granularities)) nestedOf.set(granularities, gs);
  return gs;
}

/** [from, to) widened to whole buckets of the finest granularity (from down, to up). */
export function roundRange(from: number, to: number, granularities: Iterable<Granularity>): RoundedRange {
  if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to)) throw new DagctlError('QUERY_RANGE_INVALID', `range ends must be whole seconds: [${from}, ${to})`, { from, to });
  if (from >= to) throw new DagctlError('QUERY_RANGE_INVALID', `empty range: from (${from}) must be before to (${to})`, { from, to });
  const s = GRANULARITY_SECONDS[nested(granularities)[0]!];
  const f = floorTo(from, s);
  const t = floorTo(to, s) === to ? to : floorTo(to, s) + s;
  return { from: f, to: t, rounded: f !== from || t !== to };
}

/**
 * The fewest buckets exactly covering [from, to). `from` and `to` must be multiples of the finest
 * granularity (use roundRange first), from < to.
 */
export function decompose(from: number, to: number, granularities: Iterable<Granularity>): Bucket[] {
  const gs = nested(granularities);
  const fine = GRANULARITY_SECONDS[gs[0]!];
  if (floorTo(from, fine) !== from || floorTo(to, fine) !== to || from >= to) {
    throw new DagctlError('QUERY_RANGE_INVALID', `[${from}, ${to}) is not a non-empty range of whole ${gs[0]} buckets`, { from, to });
  }
  const out: Bucket[] = [];
  for (let t = from; t < to; ) {
    // The finest granularity always fits (t and to are aligned on it), so this always advances.
    for (let k = gs.length - 1; k >= 0; k--) {
      const g = gs[k]!, s = GRANULARITY_SECONDS[g];
      if (floorTo(t, s) === t && t + s <= to) {
        out.push({ granularity: g, start: t });
        t += s;
        break;
      }
    }
  }
  return out;
}

function floorTo(x: number, s: number): number {
  return x - (((x % s) + s) % s);
}
