/**
 * Steady state of a recurring batch loop. Each run processes the data that arrived since the
 * previous run started: with O hours of fixed overhead per run and P hours of processing per hour
 * of data, a run covering T hours of data takes O + P×T; the loop settles where the run time
 * equals the data window, T* = O + P×T*, so T* = O / (1 − P). When P ≥ 1 the backlog grows every
 * run and there is no steady state (diverges).
 *
 * Changes act on P: scaling the cluster by k divides it by k; a failure rate f (a fraction of
 * work redone) multiplies it by 1/(1 − f). The elasticity of T* with respect to P is
 * d ln T* / d ln P = P / (1 − P): near P = 1 small changes in P swing T* hugely.
 *
 * Precondition: none; bad inputs throw DagctlError COST_INVALID.
 */
import { DagctlError } from '../../core/errors.js';

export interface SteadyState {
  /** P after the change (hours of processing per hour of data). */
  p: number;
  /** T* in hours; Infinity when it diverges. */
  hours: number;
  converges: boolean;
}

export interface SteadyStateInput {
  overheadHours: number;
  p: number;
  /** k > 0: the cluster is k times its size (default 1). */
  clusterScale?: number;
  /** 0 ≤ f < 1: fraction of work lost to failures and redone (default 0). */
  failureRate?: number;
}

export interface SteadyStateChange {
  overheadHours: number;
  before: SteadyState;
  after: SteadyState;
  /** P/(1 − P) before the change; Infinity when it diverges. */
  elasticity: number;
}

function check(ok: boolean, what: string, value: number): void {
  if (!ok) throw new DagctlError('COST_INVALID', `${what}: ${value} is out of range`, { [what]: value });
}

/** T* = O / (1 − P). */
export function steadyState(overheadHours: number, p: number): SteadyState {
  check(Number.isFinite(overheadHours) && overheadHours >= 0, 'overhead', overheadHours);
  check(Number.isFinite(p) && p >= 0, 'p', p);
  const converges = p < 1;
  return { p, hours: converges ? overheadHours / (1 - p) : Infinity, converges };
}

export function elasticity(p: number): number {
  return p < 1 ? p / (1 - p) : Infinity;
}

/** P after scaling the cluster by k and adding failure rate f. */
export function adjustedP(p: number, clusterScale = 1, failureRate = 0): number {
  check(Number.isFinite(clusterScale) && clusterScale > 0, 'clusterScale', clusterScale);
  check(Number.isFinite(failureRate) && failureRate >= 0 && failureRate < 1, 'failureRate', failureRate);
  return p / clusterScale / (1 - failureRate);
}

export function steadyStateChange(input: SteadyStateInput): SteadyStateChange {
  const before = steadyState(input.overheadHours, input.p);
  const after = steadyState(input.overheadHours, adjustedP(input.p, input.clusterScale, input.failureRate));
  return { overheadHours: input.overheadHours, before, after, elasticity: elasticity(input.p) };
}
