/**
 * mergeRange: pageviews and uniques of one URL over [from, to) from a pageviews-over-time view,
 * merging HyperLogLog sketches of the fewest buckets instead of rescanning pageviews: the cover of
 * serving/ranges.ts decompose over the granularities present in the rows. Preconditions: rows are one URL's rows of the view with every
 * granularity it was built with; from/to are multiples of the finest granularity present (else
 * OPERATOR_INPUT_INVALID). Buckets absent from the view had no pageviews and contribute nothing.
 */
import { DagctlError } from '../../core/errors.js';
import type { Row } from '../../storage/types.js';
import { GRANULARITY_SECONDS, type Granularity } from '../../domain/granularity.js';
import { HyperLogLog } from '../lib/sketches/hll.js';
import { decompose } from '../../serving/ranges.js';

export interface RangeResult {
  pageviews: number;
  uniques: number;
  hll: Uint8Array | null;
  /** How many view rows were merged (a measure of the cover's size). */
  rowsMerged: number;
}

export function mergeRange(rows: Row[], from: number, to: number): RangeResult {
  const byGran = new Map<Granularity, Map<number, Row>>();
  for (const r of rows) {
    const g = r.granularity as Granularity;
    if (!(g in GRANULARITY_SECONDS)) continue;
    let m = byGran.get(g);
    if (m === undefined) byGran.set(g, (m = new Map()));
    m.set(r.bucket as number, r);
  }
  const grans = [...byGran.keys()].sort((a, b) => GRANULARITY_SECONDS[b] - GRANULARITY_SECONDS[a]);
  const finest = grans[grans.length - 1];
  if (finest === undefined) return { pageviews: 0, uniques: 0, hll: null, rowsMerged: 0 };
  const step = GRANULARITY_SECONDS[finest];
  if (from % step !== 0 || to % step !== 0 || to < from) {
    throw new DagctlError('OPERATOR_INPUT_INVALID', `range [${from}, ${to}) not aligned on ${finest}`, { from, to, granularity: finest });
  }
  let hll: HyperLogLog | null = null;
  let pageviews = 0, rowsMerged = 0;
  // The cover is serving/ranges.ts decompose (the one implementation of the fewest-bucket cover).
  for (const b of to > from ? decompose(from, to, grans) : []) {
    const r = byGran.get(b.granularity)!.get(b.start);
    if (r === undefined) continue;
    pageviews += r.pageviews as number;
    const h = HyperLogLog.deserialize(r.hll as Uint8Array);
    hll = hll === null ? h : hll.merge(h);
    rowsMerged++;
  }
  return { pageviews, uniques: hll === null ? 0 : hll.count(), hll: hll?.serialize() ?? null, rowsMerged };
}
