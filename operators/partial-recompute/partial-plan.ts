/**
 * Partial vs full recomputation cost (T = O + P×H, per row), for partial-recompute's `auto` mode
 * and for the planner. Both modes read the master dataset; they differ in how and what next:
 *   partial = new·(scan+shuffle+compute) + master·(keyScan+probe) + fetched·(scan+shuffle+compute) + oldView·(scan+rewrite)
 *   full    = (master+new)·(scan+shuffle+compute) + oldView·rewrite
 * where fetched = master · min(1, affectedPersons/persons + fpRate): the master rows of the new
 * batch's persons (plus Bloom false positives). Persons ≈ old view rows; affected persons ≤ new rows.
 * partial-recompute scans the master late-materialized: keyScan is the per-row cost of probing
 * the raw person bytes (no row object), scan the cost of a decoded row; the old view is read once
 * (its files split over the recompute instances, no shuffle) and rewritten like full's.
 * With `mergeOnRead` partial does not rewrite the old view: it scans its person
 * column (oldView·(keyScan+probe)) and writes the recomputed rows only.
 * Defaults (µs per row) fitted to bench/operators.ts benchPartial at 1M master rows (2 cores):
 * full ≈ 8 µs per master row (decode 1, shuffle 5, compute 2); partial's key scan + probe ≈ 0.5;
 * the view's Snappy+statistics encode ≈ 6 µs per row (both modes pay it).
 */
export interface PartialCost {
  scanUs: number;
  keyScanUs: number;
  probeUs: number;
  shuffleUs: number;
  computeUs: number;
  rewriteUs: number;
  falsePositiveRate: number;
}

export const DEFAULT_PARTIAL_COST: PartialCost = { scanUs: 1, keyScanUs: 0.2, probeUs: 0.3, shuffleUs: 5, computeUs: 2, rewriteUs: 6, falsePositiveRate: 0.01 };

export interface PartialDecision { mode: 'partial' | 'full'; partialUs: number; fullUs: number }

export function choosePartialOrFull(newRows: number, masterRows: number, oldViewRows: number, cost: Partial<PartialCost> = {}, newPersons = newRows, mergeOnRead = false): PartialDecision {
  const c = { ...DEFAULT_PARTIAL_COST, ...cost };
  const persons = Math.max(1, oldViewRows);
  const fetched = masterRows * Math.min(1, Math.min(newPersons, persons) / persons + c.falsePositiveRate);
  const oldViewUs = mergeOnRead ? oldViewRows * (c.keyScanUs + c.probeUs) + Math.min(newPersons, persons) * c.rewriteUs : oldViewRows * (c.scanUs + c.rewriteUs);
  const partialUs = newRows * (c.scanUs + c.shuffleUs + c.computeUs) + masterRows * (c.keyScanUs + c.probeUs) + fetched * (c.scanUs + c.shuffleUs + c.computeUs) + oldViewUs;
  const fullUs = (masterRows + newRows) * (c.scanUs + c.shuffleUs + c.computeUs) + oldViewRows * c.rewriteUs;
  // Without an old view there is nothing to patch: full is the only option.
  return { mode: oldViewRows > 0 && partialUs < fullUs ? 'partial' : 'full', partialUs, fullUs };
}
