/**
 * The plan report: what `dagctl plan` shows about a set of planned instances — per task O, P×H
 * and T summed over its instances with the cost source and fit error, total work, the critical
 * path, the predicted makespan on N workers and, given a deadline, the fewest workers meeting it.
 *
 * Precondition: pure; instances come from expandDag (scheduler/plan/expand.ts) or tests. The
 * optional cost model is only asked for fit errors (PlannedInstance does not carry them).
 */
import type { PlannedInstance } from '../model.js';
import type { CostModel } from './cost.js';
import { criticalPath, topologicalGenerations, totalWorkMs } from './graph.js';
import { indexInstances } from './instance-index.js';
import { minWorkersForDeadline, simulateMakespan } from './makespan.js';
import type { DeadlineResult } from './makespan.js';

export const DEFAULT_PLAN_WORKERS = 4;
/** Upper bound of the deadline search when the caller gives none. */
export const DEFAULT_MAX_WORKERS = 1024;

export interface TaskCostRow {
  task: string;
  operator: string;
  instances: number;
  overheadMs: number;
  workMs: number;
  predictedMs: number;
  /** 'mixed' when some instances (stages) use defaults and others fitted values. */
  costSource: 'default' | 'fitted' | 'mixed';
  /** Largest RMSE (ms) and relative error of the fits used by the task's instances. */
  fitError?: number;
  relativeError?: number;
  /** Σ predicted thread CPU time of the instances whose fit had CPU times (T = U + (k − 1)·CPU). */
  cpuMs?: number;
}

export interface PlanReport {
  instances: number;
  /** The contention k wall times were predicted for (the instances' PlannedInstance.contention), when the model used one. */
  contention?: number;
  tasks: TaskCostRow[];
  totalWorkMs: number;
  generations: number;
  criticalPath: { lengthMs: number; instanceIds: string[]; tasks: string[] };
  makespan: { workers: number; makespanMs: number };
  deadline?: { deadlineMs: number; metWithWorkers: boolean; search: DeadlineResult };
}

export interface PlanReportOptions {
  workers?: number;
  deadlineMs?: number;
  maxWorkers?: number;
  cost?: CostModel;
  /** The DAG's name: fit errors are then the ones of each task's own fit (`dag/task`). */
  dag?: string;
}

export function buildPlanReport(instances: readonly PlannedInstance[], opts: PlanReportOptions = {}): PlanReport {
  const idx = indexInstances(instances);
  const workers = opts.workers ?? DEFAULT_PLAN_WORKERS;
  const cp = criticalPath(instances, idx);
  const ms = simulateMakespan(instances, workers, idx);
  const report: PlanReport = {
    instances: instances.length,
    tasks: taskRows(instances, opts.cost, opts.dag),
    totalWorkMs: totalWorkMs(instances),
    generations: topologicalGenerations(instances, idx).length,
    criticalPath: { lengthMs: cp.lengthMs, instanceIds: cp.ids, tasks: distinctInOrder(cp.ids.map((id) => instances[idx.indexOf.get(id) ?? -1]?.task ?? id)) },
    makespan: { workers, makespanMs: ms.makespanMs },
  };
  const k = instances.find((i) => i.contention !== undefined)?.contention;
  if (k !== undefined) report.contention = k;
  if (opts.deadlineMs !== undefined) {
    const search = minWorkersForDeadline(instances, opts.deadlineMs, opts.maxWorkers ?? Math.max(workers, DEFAULT_MAX_WORKERS));
    report.deadline = { deadlineMs: opts.deadlineMs, metWithWorkers: ms.makespanMs <= opts.deadlineMs, search };
  }
  return report;
}

function taskRows(instances: readonly PlannedInstance[], cost: CostModel | undefined, dag: string | undefined): TaskCostRow[] {
  const rows = new Map<string, TaskCostRow>();
  const fitOf = new Map<string, { fitError?: number; relativeError?: number }>();
  for (const inst of instances) {
    let row = rows.get(inst.task);
    if (row === undefined) {
      row = { task: inst.task, operator: inst.operator, instances: 0, overheadMs: 0, workMs: 0, predictedMs: 0, costSource: inst.costSource };
      rows.set(inst.task, row);
    }
    row.instances++;
    row.overheadMs += inst.overheadMs;
    row.workMs += inst.workMs;
    row.predictedMs += inst.predictedMs;
    if (inst.predictedCpuMs !== undefined) row.cpuMs = (row.cpuMs ?? 0) + inst.predictedCpuMs;
    if (row.costSource !== inst.costSource) row.costSource = 'mixed';
    if (cost !== undefined && inst.costSource === 'fitted') {
      const key = `${inst.task}\u0000${inst.stage}`;
      let fit = fitOf.get(key);
      if (fit === undefined) {
        fit = safeFit(cost, inst.operator, inst.stage, dag === undefined ? undefined : `${dag}/${inst.task}`, inst.paramsHash);
        fitOf.set(key, fit);
      }
      if (fit.fitError !== undefined) row.fitError = Math.max(row.fitError ?? 0, fit.fitError);
      if (fit.relativeError !== undefined) row.relativeError = Math.max(row.relativeError ?? 0, fit.relativeError);
    }
  }
  return [...rows.values()];
}

function safeFit(cost: CostModel, operator: string, stage: string, task: string | undefined, paramsHash: string | undefined): { fitError?: number; relativeError?: number } {
  try {
    const e = cost.estimate(operator, stage, 0, 0, task, paramsHash);
    return { fitError: e.fitError, relativeError: e.relativeError };
  } catch {
    return {}; // an operator the model does not know: no fit error to show
  }
}

function distinctInOrder(xs: readonly string[]): string[] {
  return [...new Set(xs)];
}
