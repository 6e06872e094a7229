/**
 * Partial vs full recomputation cost (T = O + P×H, per row), for partial-recompute's `auto` mode
 * and for the planner. Both modes scan the master dataset (partial probes a Bloom filter of the
 * new batch's persons while scanning); they differ in what they shuffle and recompute:
 *   partial = new·(scan+shuffle+compute) + master·(scan+probe) + fetched·(shuffle+compute) + oldView·(scan+shuffle+rewrite)
 *   full    = (master+new)·(scan+shuffle+compute) + oldView·rewrite
 * where fetched = master · min(1, affectedPersons/persons + fpRate): the master rows of the new
 * batch's persons (plus Bloom false positives). Persons ≈ old view rows; affected persons ≤ new rows.
 * Partial also reads the old view once and shuffles it by person (partial-recompute v3's 'plan').
 */
export interface PartialCost {
  scanUs: number;
  probeUs: number;
  shuffleUs: number;
  computeUs: number;
  rewriteUs: number;
  falsePositiveRate: number;
}

export const DEFAULT_PARTIAL_COST: PartialCost = { scanUs: 1, probeUs: 0.3, shuffleUs: 4, computeUs: 1, rewriteUs: 2, falsePositiveRate: 0.01 };

export interface PartialDecision { mode: 'partial' | 'full'; partialUs: number; fullUs: number }

export function choosePartialOrFull(newRows: number, masterRows: number, oldViewRows: number, cost: Partial<PartialCost> = {}, newPersons = newRows): PartialDecision {
  const c = { ...DEFAULT_PARTIAL_COST, ...cost };
  const persons = Math.max(1, oldViewRows);
  const fetched = masterRows * Math.min(1, Math.min(newPersons, persons) / persons + c.falsePositiveRate);
  const partialUs = newRows * (c.scanUs + c.shuffleUs + c.computeUs) + masterRows * (c.scanUs + c.probeUs) + fetched * (c.shuffleUs + c.computeUs) + oldViewRows * (c.scanUs + c.shuffleUs + c.rewriteUs);
  const fullUs = (masterRows + newRows) * (c.scanUs + c.shuffleUs + c.computeUs) + oldViewRows * c.rewriteUs;
  // Without an old view there is nothing to patch: full is the only option.
  return { mode: oldViewRows > 0 && partialUs < fullUs ? 'partial' : 'full', partialUs, fullUs };
}
