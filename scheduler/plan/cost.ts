/**
 * The cost model T = O + P×H of one task instance.
 *   O  fixed overhead per instance (ms): start-up, listing, opening files;
 *   P  ms per unit of input; H  input size in units: MiB (driver 'bytes') or thousands of rows
 *      (driver 'rows'), per the operator's cost defaults (operators/types.ts).
 * H is the planner's estimate of the instance's input (what a prediction is made from): samples
 * that carry it (plannedBytes/plannedRows, scheduler/cost-sample.ts) are fitted against it, older
 * ones against the size they read.
 *
 * Sources, most specific first, each used once it has ≥ minSamples samples:
 *   1. the task's own samples for the stage (`dag/task` + stage): same params, same data shape;
 *   2. the samples of the operator's stage with the same params (paramsKey, params-key.ts) over
 *      all tasks and DAGs, `dagctl calibrate`'s runs of the shipped DAGs included: the same work
 *      per row (normalizing URLs costs several times normalizing ids, rollup's cost grows with
 *      its granularities);
 *   3. the operator's samples for the stage over all tasks;
 *   4. the operator's samples over all stages;
 *   5. the operator's defaults.
 * Load: on a shared machine a task's wall time moves with the load (1.3–2× between identical runs
 * on 2 busy cores), so samples that recorded their worker thread's CPU time and run-queue wait
 * (cpuMs/waitMs, core/thread-cpu.ts) are fitted twice, on load-independent quantities: the
 * uncontended time U = duration − wait and the CPU time C, each a line O + P×H. A wall time is
 * predicted for the contention k the run will meet (k = (cpu + wait)/cpu): by default the k the
 * most recent samples met, over all operators and weighted by CPU time (recentContention: the last run's, or
 * calibration's — on a loaded 2-core machine this tracked the next run's k within ~25%, where a
 * 100 ms probe was off 2–4×); with a plan-time value given (DAGCTL_CONTENTION, or its probe), that
 * value, a probe's scaled by its bias (probeBias: k met ÷ k probed over recent samples); else the
 * median k of the group's samples. T = U(H) + (k − 1)·C(H), which is
 * again O + P×H with O = O_U + (k − 1)·O_C and P = P_U + (k − 1)·P_C. A group with fewer than
 * minSamples such samples is fitted on wall time as recorded.
 *
 * Fits are relative-error weighted with one outlier-trimming pass (fit.ts fitCostLine); when a
 * group's H values are too close together to tell O from P, P comes from the next source down
 * and only O is fitted. Each estimate says which source it used, how many samples, and the fit's
 * error.
 *
 * Precondition: pure; operators are looked up through operators/registry.ts (or a stand-in).
 */
import { DagctlError } from '../../core/errors.js';
import { getOperator } from '../../operators/registry.js';
import type { AnyOperator, CostDefaults } from '../../operators/types.js';
import type { CostSample } from '../model.js';
import { fitCostLine } from './fit.js';

export type CostLevel = 'task' | 'params' | 'stage' | 'operator';

export interface CostEstimate {
  overheadMs: number;
  workMs: number;
  predictedMs: number;
  source: 'default' | 'fitted';
  /** Which samples the fit used: the task's, the stage's with the same params, the operator's for this stage, or all the operator's. */
  level?: CostLevel;
  /** RMSE of the fit, ms (fitted only). */
  fitError?: number;
  /** Median relative residual |t − O − P·H| / t of the fitted samples (fitted only). */
  relativeError?: number;
  samples: number;
  /** Predicted thread CPU time, ms, when the fit had samples with CPU times. */
  cpuMs?: number;
  /** The contention k the wall time was predicted for, and the raw probe it came from (with cpuMs only). */
  contention?: number;
  probedContention?: number;
}

export interface CostModel {
  /**
   * `task` (`dag/task`) selects the task's own samples when there are enough; `paramsHash`
   * (paramsKey of the task's parsed params) the samples of any task with the same operator, stage and params.
   */
  estimate(operator: string, stage: string, inputBytes: number, inputRows: number, task?: string, paramsHash?: string): CostEstimate;
  /**
   * An iterative stage's mean rounds per run in the history (samples of all rounds ÷ samples of
   * round 1: each round has the same instances), from the most specific group (task, params,
   * stage) holding samples of round 1; undefined without such history.
   */
  expectedRounds?(operator: string, stage: string, task?: string, paramsHash?: string): number | undefined;
}

export interface CostModelOptions {
  /** Samples needed before fitting (default 3). */
  minSamples?: number;
  /** Only the most recent samples per key are fitted, so behaviour changes fade in (default 500). */
  maxSamplesPerKey?: number;
  operators?: (name: string) => AnyOperator | undefined;
  /**
   * A plan-time contention k: wall time is predicted as U + (k′ − 1)·C with k′ = max(1, k × bias),
   * bias = probeBias(history) when `probed`, else 1. Default: recentContention(history).
   */
  contention?: number;
  /** `contention` came from probeContention (scaled by its measured bias), not a given value. */
  probed?: boolean;
}

const MIB = 1024 * 1024;

/** H of an instance in the driver's units. */
export function costUnits(driver: CostDefaults['driver'], inputBytes: number, inputRows: number): number {
  return driver === 'bytes' ? inputBytes / MIB : inputRows / 1000;
}

/** H of a sample: the planned size when recorded, else the size it read. */
export function sampleUnits(driver: CostDefaults['driver'], s: CostSample): number {
  return costUnits(driver, s.plannedBytes ?? s.inputBytes, s.plannedRows ?? s.inputRows);
}

export interface Fitted {
  /** The line fitted: uncontended time U for timed samples, else wall time. */
  overheadMs: number;
  perUnitMs: number;
  rmse: number;
  relativeError: number;
  samples: number;
  level: CostLevel;
  /** The CPU line and the samples' median contention, for timed samples. */
  cpu?: { overheadMs: number; perUnitMs: number; contention: number };
}

/** A sample that recorded its thread's CPU time and run-queue wait. */
function isTimed(s: CostSample): s is CostSample & { cpuMs: number; waitMs: number } {
  return s.cpuMs !== undefined && s.waitMs !== undefined && s.cpuMs > 0 && s.waitMs >= 0;
}

/** The uncontended time of a timed sample: its duration less its run-queue wait, never below its CPU time. */
export function uncontendedMs(s: { durationMs: number; cpuMs: number; waitMs: number }): number {
  return Math.max(s.cpuMs, s.durationMs - s.waitMs);
}

/**
 * How the plan-time probe compares with what instances then met: the median over the most recent
 * `window` samples that carry CPU times and their run's probe of (cpu + wait)/cpu ÷ probedContention;
 * undefined with fewer than minSamples such samples.
 */
export function probeBias(history: readonly CostSample[], minSamples = 3, window = 200): number | undefined {
  const probed = history.filter((s) => isTimed(s) && s.probedContention !== undefined && s.probedContention >= 1).sort((a, b) => a.at - b.at).slice(-window);
  if (probed.length === 0 || probed.length < minSamples) return undefined;
  return median(probed.map((s) => ((s.cpuMs ?? 0) + (s.waitMs ?? 0)) / (s.cpuMs ?? 1) / (s.probedContention ?? 1)));
}

/**
 * The contention the most recent `window` samples with CPU times met (all operators), weighted by
 * CPU time — Σ(cpu + wait) / Σ cpu, as a task's wall time sums its instances (short instances meet
 * less wait than long ones) — undefined with fewer than minSamples.
 */
export function recentContention(history: readonly CostSample[], minSamples = 3, window = 100): number | undefined {
  const timed = history.filter(isTimed).sort((a, b) => a.at - b.at).slice(-window);
  if (timed.length === 0 || timed.length < minSamples) return undefined;
  let cpu = 0, wait = 0;
  for (const s of timed) {
    cpu += s.cpuMs;
    wait += s.waitMs;
  }
  return cpu > 0 ? (cpu + wait) / cpu : undefined;
}

function median(xs: readonly number[]): number {
  const v = [...xs].sort((a, b) => a - b);
  const m = v.length >> 1;
  return v.length === 0 ? 0 : v.length % 2 === 1 ? (v[m] as number) : ((v[m - 1] as number) + (v[m] as number)) / 2;
}

/**
 * Fits one group of samples (the most recent maxSamples): U and C lines over its timed samples when
 * it has ≥ minSamples of them, else a wall-time line over all.
 */
export function fitGroup(samples: readonly CostSample[], driver: CostDefaults['driver'], priorPerUnit: number, minSamples: number, maxSamples: number, level: CostLevel): Fitted | null {
  if (samples.length < minSamples) return null;
  const recent = [...samples].sort((a, b) => a.at - b.at).slice(-maxSamples);
  const timed = recent.filter(isTimed);
  if (timed.length > 0 && timed.length >= minSamples) {
    const h = timed.map((s) => sampleUnits(driver, s));
    const u = fitCostLine(h, timed.map(uncontendedMs), priorPerUnit, minSamples);
    const cpuShare = median(timed.map((s) => s.cpuMs / uncontendedMs(s)));
    const c = fitCostLine(h, timed.map((s) => s.cpuMs), u.perUnit * cpuShare, minSamples);
    const contention = median(timed.map((s) => (s.cpuMs + s.waitMs) / s.cpuMs));
    return { overheadMs: u.overhead, perUnitMs: u.perUnit, rmse: u.rmse, relativeError: u.relativeError, samples: timed.length, level, cpu: { overheadMs: c.overhead, perUnitMs: c.perUnit, contention } };
  }
  const h = recent.map((s) => sampleUnits(driver, s));
  const f = fitCostLine(h, recent.map((s) => s.durationMs), priorPerUnit, minSamples);
  return { overheadMs: f.overhead, perUnitMs: f.perUnit, rmse: f.rmse, relativeError: f.relativeError, samples: recent.length, level };
}

export function createCostModel(history: readonly CostSample[], opts: CostModelOptions = {}): CostModel {
  const minSamples = opts.minSamples ?? 3;
  const maxSamples = opts.maxSamplesPerKey ?? 500;
  const lookup = opts.operators ?? getOperator;
  const byTask = new Map<string, CostSample[]>();
  const byParams = new Map<string, CostSample[]>();
  const byStage = new Map<string, CostSample[]>();
  const byOperator = new Map<string, CostSample[]>();
  for (const s of history) {
    if (s.task !== undefined) push(byTask, taskKey(s.task, s.stage), s);
    if (s.paramsHash !== undefined) push(byParams, paramsGroupKey(s.operator, s.stage, s.paramsHash), s);
    push(byStage, stageKey(s.operator, s.stage), s);
    push(byOperator, s.operator, s);
  }
  const fits = new Map<string, Fitted | null>();
  const bias = opts.contention !== undefined && opts.probed === true ? probeBias(history, minSamples) : undefined;
  const plannedK = opts.contention === undefined ? recentContention(history, minSamples) : opts.contention * (bias ?? 1);

  const defaultsOf = (operator: string): CostDefaults => {
    const op = lookup(operator);
    if (op === undefined) throw new DagctlError('PLAN_FAILED', `cost model: unknown operator "${operator}"`, { operator });
    return op.cost;
  };

  /** Memoized fit of one sample group, or null when it has too few samples. */
  const fitOf = (key: string, level: Fitted['level'], samples: CostSample[] | undefined, cost: CostDefaults, priorPerUnit: () => number): Fitted | null => {
    if (fits.has(key)) return fits.get(key) ?? null;
    const result = samples === undefined || samples.length < minSamples ? null : fitGroup(samples, cost.driver, priorPerUnit(), minSamples, maxSamples, level);
    fits.set(key, result);
    return result;
  };

  const roundsOf = (samples: CostSample[] | undefined): number | undefined => {
    if (samples === undefined) return undefined;
    let all = 0, first = 0;
    for (const s of samples) {
      if (s.round === undefined) continue;
      all++;
      if (s.round === 1) first++;
    }
    return first === 0 ? undefined : all / first;
  };

  return {
    expectedRounds(operator, stage, task, paramsHash) {
      return (
        (task === undefined ? undefined : roundsOf(byTask.get(taskKey(task, stage)))) ??
        (paramsHash === undefined ? undefined : roundsOf(byParams.get(paramsGroupKey(operator, stage, paramsHash)))) ??
        roundsOf(byStage.get(stageKey(operator, stage)))
      );
    },
    estimate(operator, stage, inputBytes, inputRows, task, paramsHash) {
      const cost = defaultsOf(operator);
      const units = costUnits(cost.driver, inputBytes, inputRows);
      const opFit = (): Fitted | null => fitOf(`o:${operator}`, 'operator', byOperator.get(operator), cost, () => cost.perUnitMs);
      const stageFit = (): Fitted | null =>
        fitOf(`s:${stageKey(operator, stage)}`, 'stage', byStage.get(stageKey(operator, stage)), cost, () => opFit()?.perUnitMs ?? cost.perUnitMs);
      const paramsFit = (): Fitted | null => {
        if (paramsHash === undefined) return null;
        const key = paramsGroupKey(operator, stage, paramsHash);
        return fitOf(`p:${key}`, 'params', byParams.get(key), cost, () => (stageFit() ?? opFit())?.perUnitMs ?? cost.perUnitMs);
      };
      const taskFit = (): Fitted | null =>
        task === undefined ? null : fitOf(`t:${taskKey(task, stage)}`, 'task', byTask.get(taskKey(task, stage)), cost, () => (paramsFit() ?? stageFit() ?? opFit())?.perUnitMs ?? cost.perUnitMs);
      const fit = taskFit() ?? paramsFit() ?? stageFit() ?? opFit();
      if (fit === null) {
        const workMs = cost.perUnitMs * units;
        return { overheadMs: cost.overheadMs, workMs, predictedMs: cost.overheadMs + workMs, source: 'default', samples: 0 };
      }
      const base = { source: 'fitted' as const, level: fit.level, fitError: fit.rmse, relativeError: fit.relativeError, samples: fit.samples };
      if (fit.cpu === undefined) {
        const workMs = fit.perUnitMs * units;
        return { ...base, overheadMs: fit.overheadMs, workMs, predictedMs: fit.overheadMs + workMs };
      }
      const k = Math.max(1, plannedK ?? fit.cpu.contention);
      const overheadMs = fit.overheadMs + (k - 1) * fit.cpu.overheadMs;
      const workMs = (fit.perUnitMs + (k - 1) * fit.cpu.perUnitMs) * units;
      return { ...base, overheadMs, workMs, predictedMs: overheadMs + workMs, cpuMs: fit.cpu.overheadMs + fit.cpu.perUnitMs * units, contention: k, ...(opts.contention === undefined || opts.probed !== true ? {} : { probedContention: opts.contention }) };
    },
  };
}

function taskKey(task: string, stage: string): string {
  return `${task}\u0000${stage}`;
}

function paramsGroupKey(operator: string, stage: string, paramsHash: string): string {
  return `${operator}\u0000${stage}\u0000${paramsHash}`;
}

function stageKey(operator: string, stage: string): string {
  return `${operator}\u0000${stage}`;
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const list = m.get(k);
  if (list === undefined) m.set(k, [v]);
  else list.push(v);
}
