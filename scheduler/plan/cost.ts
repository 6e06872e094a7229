/**
 * The cost model T = O + P×H of one task instance.
 *   O  fixed overhead per instance (ms): start-up, listing, opening files;
 *   P  ms per unit of input; H  input size in units: MiB (driver 'bytes') or thousands of rows
 *      (driver 'rows'), per the operator's cost defaults (operators/types.ts).
 * Defaults come from the operator. Once run history holds ≥ 3 samples for (operator, stage), O and
 * P are fitted to them (non-negative least squares, fit.ts); with fewer, the operator's samples
 * over all stages are pooled if there are ≥ 3; else the defaults stand. Each estimate says which
 * source it used, how many samples, and the fit's error.
 *
 * Precondition: pure; operators are looked up through operators/registry.ts (or a stand-in).
 */
import { DagctlError } from '../../core/errors.js';
import { getOperator } from '../../operators/registry.js';
import type { AnyOperator, CostDefaults } from '../../operators/types.js';
import type { CostSample } from '../model.js';
import { fitNonNegativeLine } from './fit.js';

export interface CostEstimate {
  overheadMs: number;
  workMs: number;
  predictedMs: number;
  source: 'default' | 'fitted';
  /** RMSE of the fit, ms (fitted only). */
  fitError?: number;
  /** fitError / mean sample duration (fitted only). */
  relativeError?: number;
  samples: number;
}

export interface CostModel {
  estimate(operator: string, stage: string, inputBytes: number, inputRows: number): CostEstimate;
}

export interface CostModelOptions {
  /** Samples needed before fitting (default 3). */
  minSamples?: number;
  /** Only the most recent samples per key are fitted, so behaviour changes fade in (default 500). */
  maxSamplesPerKey?: number;
  operators?: (name: string) => AnyOperator | undefined;
}

const MIB = 1024 * 1024;

/** H of an instance in the driver's units. */
export function costUnits(driver: CostDefaults['driver'], inputBytes: number, inputRows: number): number {
  return driver === 'bytes' ? inputBytes / MIB : inputRows / 1000;
}

interface Fitted {
  overheadMs: number;
  perUnitMs: number;
  rmse: number;
  relativeError: number;
  samples: number;
}

export function createCostModel(history: readonly CostSample[], opts: CostModelOptions = {}): CostModel {
  const minSamples = opts.minSamples ?? 3;
  const maxSamples = opts.maxSamplesPerKey ?? 500;
  const lookup = opts.operators ?? getOperator;
  const byStage = new Map<string, CostSample[]>();
  const byOperator = new Map<string, CostSample[]>();
  for (const s of history) {
    push(byStage, stageKey(s.operator, s.stage), s);
    push(byOperator, s.operator, s);
  }
  const fits = new Map<string, Fitted | null>();

  const defaultsOf = (operator: string): CostDefaults => {
    const op = lookup(operator);
    if (op === undefined) throw new DagctlError('PLAN_FAILED', `cost model: unknown operator "${operator}"`, { operator });
    return op.cost;
  };

  /** Memoized fit of one sample group, or null when it has too few samples. */
  const fitOf = (key: string, samples: CostSample[] | undefined, cost: CostDefaults): Fitted | null => {
    if (fits.has(key)) return fits.get(key) ?? null;
    let result: Fitted | null = null;
    if (samples !== undefined && samples.length >= minSamples) {
      const recent = [...samples].sort((a, b) => a.at - b.at).slice(-maxSamples);
      const h = recent.map((s) => costUnits(cost.driver, s.inputBytes, s.inputRows));
      const t = recent.map((s) => s.durationMs);
      const f = fitNonNegativeLine(h, t, cost.perUnitMs);
      result = { overheadMs: f.overhead, perUnitMs: f.perUnit, rmse: f.rmse, relativeError: f.relativeError, samples: recent.length };
    }
    fits.set(key, result);
    return result;
  };

  return {
    estimate(operator, stage, inputBytes, inputRows) {
      const cost = defaultsOf(operator);
      const units = costUnits(cost.driver, inputBytes, inputRows);
      const fit =
        fitOf(`s:${stageKey(operator, stage)}`, byStage.get(stageKey(operator, stage)), cost) ??
        fitOf(`o:${operator}`, byOperator.get(operator), cost);
      if (fit === null) {
        const workMs = cost.perUnitMs * units;
        return { overheadMs: cost.overheadMs, workMs, predictedMs: cost.overheadMs + workMs, source: 'default', samples: 0 };
      }
      const workMs = fit.perUnitMs * units;
      return { overheadMs: fit.overheadMs, workMs, predictedMs: fit.overheadMs + workMs, source: 'fitted', fitError: fit.rmse, relativeError: fit.relativeError, samples: fit.samples };
    },
  };
}

function stageKey(operator: string, stage: string): string {
  return `${operator}\u0000${stage}`;
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const list = m.get(k);
  if (list === undefined) m.set(k, [v]);
  else list.push(v);
}
