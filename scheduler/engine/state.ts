/**
 * RunState: the mutable state of one run — its phase and the status of every planned instance —
 * plus the static PlanIndex derived from the plan (dependents, round groups). JSON-serializable
 * (PlanIndex is rebuilt from the plan, never stored).
 */
import type { InstanceStatus, PlannedInstance, RunPhase } from '../model.js';

export interface RunState {
  runId: string;
  dag: string;
  phase: RunPhase;
  createdAt: number;
  startedAt?: number;
  finishedAt?: number;
  cancelRequested: boolean;
  /** Count of events applied: a run store's sequence number. */
  seq: number;
  instances: Record<string, InstanceStatus & { pendingDeps: number }>;
}

export interface RetryPolicy {
  retries: number;
  backoffMs: number;
  backoffMaxMs: number;
}

export interface PlanIndex {
  policies: Record<string, RetryPolicy>;
  byId: Map<string, PlannedInstance>;
  dependents: Map<string, string[]>;
  /** `<task>.<stage>.r<round>` → instance ids of that round (iterative stages only). */
  rounds: Map<string, string[]>;
  order: string[];
}

export function roundKey(p: Pick<PlannedInstance, 'task' | 'stage' | 'round'>): string {
  return `${p.task}.${p.stage}.r${p.round}`;
}

export function indexPlan(plan: readonly PlannedInstance[], policies: Record<string, RetryPolicy>): PlanIndex {
  const byId = new Map<string, PlannedInstance>();
  const dependents = new Map<string, string[]>();
  const rounds = new Map<string, string[]>();
  for (const p of plan) {
    byId.set(p.id, p);
    if (p.rounds > 1) {
      const k = roundKey(p);
      const list = rounds.get(k);
      if (list === undefined) rounds.set(k, [p.id]);
      else list.push(p.id);
    }
  }
  for (const p of plan) {
    for (const d of p.deps) {
      const list = dependents.get(d);
      if (list === undefined) dependents.set(d, [p.id]);
      else list.push(p.id);
    }
  }
  return { policies, byId, dependents, rounds, order: plan.map((p) => p.id) };
}

export function initialState(runId: string, dag: string, plan: readonly PlannedInstance[], createdAt: number): RunState {
  const instances: RunState['instances'] = {};
  for (const p of plan) instances[p.id] = { state: 'pending', attempts: 0, pendingDeps: p.deps.length };
  return { runId, dag, phase: 'pending', createdAt, cancelRequested: false, seq: 0, instances };
}
