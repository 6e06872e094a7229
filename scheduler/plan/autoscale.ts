/**
 * Autoscaling demand, pure: how many worker slots the work in Redis needs now.
 *
 * Figures read by KEDA's metrics-api scaler (deploy/helm/dagctl, docs/kubernetes.md):
 *   workJobs       queue jobs that are ready or running: BullMQ's wait + prioritized lists, its
 *                  delayed jobs that are due, the active jobs, plus dagctl's own retries whose
 *                  backoff is over (the sweeper turns them into jobs within a few seconds). Running
 *                  jobs are counted so that a busy worker is not scaled away as "idle".
 *   demandSlots    what the chart scales on by default: deadlineSlots for the runs that have a
 *                  deadline, plus workJobs for the rest — workJobs less the deadline runs' queued,
 *                  running and due-retry instances (never below 0). A run with a deadline gets the
 *                  workers its deadline needs, not one per queued job; re-evaluated at every poll
 *                  (time left shrinks, running instances' elapsed time counts), so a run falling
 *                  behind its prediction gets more.
 *   deadlineSlots  for every active run with a deadline (`dagctl run --deadline`), the fewest
 *                  concurrent slots whose list-scheduled makespan of the run's remaining instances
 *                  (T = O + P×H; a running instance counts only what its prediction says is left)
 *                  fits before the deadline — minWorkersForDeadline of makespan.ts — summed over
 *                  runs (runs share workers, so the sum is an upper bound; conservative on
 *                  purpose). A run whose deadline cannot be met (past, or its remaining critical
 *                  path is longer than the time left) asks for as many slots as it has remaining
 *                  instances (capped at maxSlots): the most parallelism that can still help.
 * Both are in slots (one job or instance at a time); KEDA divides by the worker's --concurrency
 * (the trigger's targetValue) to get pods.
 *
 * Simplifications (documented in docs/kubernetes.md): retry backoffs still pending are not modelled
 * as release times; a run's instances that ran past their prediction count as finishing now.
 *
 * Precondition: plans form a DAG (the run's plan always does); statuses of ids missing from the
 * map count as pending.
 */
import { DagctlError } from '../../core/errors.js';
import { TERMINAL_STATES, type InstanceState, type PlannedInstance } from '../model.js';
import { criticalPath } from './graph.js';
import { minWorkersForDeadline } from './makespan.js';

export interface InstanceProgress {
  state: InstanceState;
  startedAt?: number;
  /** Retry backoff: the next attempt may start at this time (pending instances). */
  notBefore?: number;
}

export interface RunProgress {
  runId: string;
  /** Epoch ms; undefined: the run has no deadline and adds nothing to deadlineSlots. */
  deadlineAt?: number;
  plan: readonly PlannedInstance[];
  statuses: ReadonlyMap<string, InstanceProgress> | Readonly<Record<string, InstanceProgress>>;
}

export interface QueueDepth {
  wait: number;
  prioritized: number;
  /** BullMQ delayed jobs whose time has come (score ≤ now). */
  delayedDue: number;
  active: number;
}

export interface RunDemand {
  runId: string;
  remaining: number;
  remainingWorkMs: number;
  criticalPathMs: number;
  deadlineAt?: number;
  /** Time left to the deadline (negative when past). */
  budgetMs?: number;
  slots: number;
  feasible: boolean;
  /** Instances queued or running, and pending ones whose retry backoff is over. */
  inFlight: number;
  dueRetries: number;
  /** Predicted makespan of the remaining instances on `slots` (feasible runs). */
  makespanMs?: number;
  reason?: string;
}

export interface AutoscaleDemand {
  at: number;
  workJobs: number;
  readyJobs: number;
  activeJobs: number;
  dueRetries: number;
  deadlineSlots: number;
  demandSlots: number;
  queues: Record<string, QueueDepth>;
  runs: RunDemand[];
}

function statusOf(statuses: RunProgress['statuses'], id: string): InstanceProgress | undefined {
  return statuses instanceof Map ? statuses.get(id) : (statuses as Readonly<Record<string, InstanceProgress>>)[id];
}

/**
 * The run's instances that are not finished, with deps narrowed to unfinished ones and a running
 * instance's predictedMs reduced by the time it has run (never below 0).
 */
export function remainingInstances(run: RunProgress, now: number): PlannedInstance[] {
  const open = new Set<string>();
  for (const p of run.plan) {
    const s = statusOf(run.statuses, p.id);
    if (s === undefined || !TERMINAL_STATES.has(s.state)) open.add(p.id);
  }
  const out: PlannedInstance[] = [];
  for (const p of run.plan) {
    if (!open.has(p.id)) continue;
    const s = statusOf(run.statuses, p.id);
    const ran = s?.state === 'running' && s.startedAt !== undefined ? Math.max(0, now - s.startedAt) : 0;
    out.push({ ...p, deps: p.deps.filter((d) => open.has(d)), predictedMs: Math.max(0, p.predictedMs - ran) });
  }
  return out;
}

/** Slots one run needs to meet its deadline (0 without a deadline or with nothing left). */
export function runDemand(run: RunProgress, now: number, maxSlots: number): RunDemand {
  if (!Number.isInteger(maxSlots) || maxSlots < 1) throw new DagctlError('USAGE', `maxSlots must be a positive integer, got ${maxSlots}`);
  const rest = remainingInstances(run, now);
  let work = 0;
  for (const p of rest) work += p.predictedMs;
  const cp = rest.length === 0 ? 0 : criticalPath(rest).lengthMs;
  let inFlight = 0;
  let dueRetries = 0;
  for (const p of run.plan) {
    const s = statusOf(run.statuses, p.id);
    if (s?.state === 'queued' || s?.state === 'running') inFlight++;
    else if (s?.state === 'pending' && s.notBefore !== undefined && s.notBefore <= now) dueRetries++;
  }
  const base = { runId: run.runId, remaining: rest.length, remainingWorkMs: work, criticalPathMs: cp, inFlight, dueRetries };
  if (run.deadlineAt === undefined) return { ...base, slots: 0, feasible: true };
  const budgetMs = run.deadlineAt - now;
  const withDeadline = { ...base, deadlineAt: run.deadlineAt, budgetMs };
  if (rest.length === 0) return { ...withDeadline, slots: 0, feasible: true, makespanMs: 0 };
  const widest = Math.min(maxSlots, rest.length);
  if (budgetMs <= 0) return { ...withDeadline, slots: widest, feasible: false, reason: `deadline passed ${-budgetMs}ms ago` };
  if (work === 0) return { ...withDeadline, slots: 1, feasible: true, makespanMs: 0 };
  const search = minWorkersForDeadline(rest, budgetMs, maxSlots);
  if (search.feasible) return { ...withDeadline, slots: search.workers, feasible: true, makespanMs: search.makespanMs };
  return { ...withDeadline, slots: widest, feasible: false, reason: search.reason };
}

/** The whole report: queue depths and the active runs in, the scaling figures out. */
export function autoscaleDemand(input: { now: number; maxSlots: number; queues: Record<string, QueueDepth>; runs: readonly RunProgress[] }): AutoscaleDemand {
  let ready = 0;
  let active = 0;
  for (const q of Object.values(input.queues)) {
    ready += q.wait + q.prioritized + q.delayedDue;
    active += q.active;
  }
  const runs = input.runs.map((r) => runDemand(r, input.now, input.maxSlots));
  let slots = 0;
  let dueRetries = 0;
  let deadlineWork = 0;
  for (const r of runs) {
    slots += r.slots;
    dueRetries += r.dueRetries;
    if (r.deadlineAt !== undefined) deadlineWork += r.inFlight + r.dueRetries;
  }
  const workJobs = ready + active + dueRetries;
  const deadlineSlots = Math.min(input.maxSlots, slots);
  return {
    at: input.now,
    workJobs,
    readyJobs: ready,
    activeJobs: active,
    dueRetries,
    deadlineSlots,
    demandSlots: Math.min(input.maxSlots, deadlineSlots + Math.max(0, workJobs - deadlineWork)),
    queues: input.queues,
    runs,
  };
}
