/**
 * costSampleOf: the run-history sample of one completed (not memoized) work instance, as the cost
 * model (scheduler/plan/cost.ts) fits it. It records the task it came from (`dag/task`) and the
 * size the planner estimated for the instance (plannedBytes/plannedRows) next to the size it
 * actually read: predictions are made from planned sizes, so the model fits durations against
 * those, the hash of the task's operator params (the model's params level), and the
 * thread's CPU time and run-queue wait when the runner measured them (the model fits CPU and
 * uncontended time from them). One implementation for the embedded driver and the BullMQ workers.
 */
import type { CostSample, InstanceResult, PlannedInstance } from './model.js';

export function costSampleOf(dag: string, inst: PlannedInstance, result: InstanceResult, at: number): CostSample {
  const s: CostSample = {
    operator: inst.operator,
    stage: inst.stage,
    task: `${dag}/${inst.task}`,
    inputBytes: result.inputBytes,
    inputRows: result.inputRows,
    plannedBytes: inst.inputBytes,
    plannedRows: inst.inputRows,
    durationMs: result.durationMs,
    setupMs: result.setupMs,
    at,
  };
  if (inst.paramsHash !== undefined) s.paramsHash = inst.paramsHash;
  if (inst.rounds > 1) s.round = inst.round;
  if (result.cpuMs !== undefined && result.cpuWaitMs !== undefined) {
    s.cpuMs = result.cpuMs;
    s.waitMs = result.cpuWaitMs;
  }
  if (inst.probedContention !== undefined) s.probedContention = inst.probedContention;
  return s;
}
