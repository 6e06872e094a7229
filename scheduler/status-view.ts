/**
 * The status view of a run (pure): what `dagctl status --json` prints and the table shows. One
 * row per instance with its state, attempts, duration, predicted vs actual time, its error, and
 * why it is waiting (deps not done, retry backoff, cancel) — plus per-task rollups.
 */
import type { FailedAttempt, InstanceState, InstanceStatus, PlannedInstance, RunPhase } from './model.js';
import { DONE_OK } from './model.js';
import type { RunState } from './engine/state.js';
import type { RunRecord } from './ports.js';

export interface InstanceView {
  name: string;
  instance: string;
  stage: string;
  partition: string;
  bucket: number;
  state: InstanceState;
  attempts: number;
  durationMs: number | null;
  predictedMs: number;
  /** The cost model's CPU-time estimate (when fitted from samples with CPU times) and the attempt's thread CPU time and run-queue wait, ms. */
  predictedCpuMs?: number;
  /** The contention k predictedMs is for (with predictedCpuMs). */
  contention?: number;
  cpuMs?: number;
  cpuWaitMs?: number;
  error: string | null;
  errorCode: string | null;
  why: string | null;
  /** Why a skipped instance did not run (memoized, converged, pruned); absent otherwise. */
  skipReason?: 'memoized' | 'converged' | 'pruned';
  metrics?: Record<string, number>;
  /** Rows the instance read and wrote (what its cost sample records); once it has a result. */
  inputRows?: number;
  outputRows?: number;
  worker?: string;
  /**
   * The log tail of its last attempt, when it logged: a finished attempt's result log (ctx.log
   * lines; exec: stdout/stderr tails), or a failed last attempt's (its failure record's).
   */
  log?: string;
  /** Its earlier attempts that failed (error, code, log tail), oldest first; absent when none. */
  earlierAttempts?: FailedAttempt[];
}

export interface TaskView {
  name: string;
  operator: string;
  instances: number;
  counts: Partial<Record<InstanceState, number>>;
  state: InstanceState;
  predictedMs: number;
  actualMs: number;
  /** Σ predicted CPU of its instances that have a CPU prediction, and Σ their measured thread CPU (absent when none has both). */
  predictedCpuMs?: number;
  cpuMs?: number;
  /** Rows its instances sent to rejects (metrics.rejected), by reason (metrics.rejected.<reason>); absent when none. */
  rejected?: number;
  rejectReasons?: Record<string, number>;
}

export interface StatusView {
  runId: string;
  dag: string;
  dagHash: string;
  phase: RunPhase;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  durationMs: number | null;
  counts: Partial<Record<InstanceState, number>>;
  taskSummary: TaskView[];
  tasks: InstanceView[];
}

const iso = (t: number | undefined): string | null => (t === undefined ? null : new Date(t).toISOString());

/**
 * An instance's failed attempts split into its last attempt's (when the instance ended with that
 * failure: same attempt, finished when it was applied) and the earlier ones.
 */
export function splitAttempts(s: InstanceStatus): { last: FailedAttempt | undefined; earlier: FailedAttempt[] } {
  const all = s.failedAttempts ?? [];
  const tail = all[all.length - 1];
  const isLast = tail !== undefined && (s.state === 'failed' || s.state === 'cancelled') && tail.attempt === s.attempts && tail.at === s.finishedAt;
  return isLast ? { last: tail, earlier: all.slice(0, -1) } : { last: undefined, earlier: all };
}

export function buildStatus(record: RunRecord, state: RunState, now: number): StatusView {
  const byId = new Map(record.plan.map((p) => [p.id, p]));
  const tasks: InstanceView[] = [];
  const counts: Partial<Record<InstanceState, number>> = {};
  const perTask = new Map<string, TaskView>();
  for (const t of record.dag.tasks) {
    perTask.set(t.name, { name: t.name, operator: t.operator, instances: 0, counts: {}, state: 'pending', predictedMs: 0, actualMs: 0 });
  }
  for (const p of record.plan) {
    const s = state.instances[p.id];
    if (s === undefined) continue;
    counts[s.state] = (counts[s.state] ?? 0) + 1;
    const duration = s.startedAt !== undefined ? (s.finishedAt ?? now) - s.startedAt : null;
    const view: InstanceView = {
      name: p.task,
      instance: p.id,
      stage: p.stage,
      partition: p.partition,
      bucket: p.bucket,
      state: s.state,
      attempts: s.attempts,
      durationMs: s.result?.durationMs !== undefined ? Math.round(s.result.durationMs) : duration,
      predictedMs: Math.round(p.predictedMs),
      error: s.error ?? null,
      errorCode: s.errorCode ?? null,
      why: whyOf(p, s, state, byId, now),
      ...(s.state === 'skipped' && s.skipReason !== undefined ? { skipReason: s.skipReason } : {}),
    };
    if (s.result !== undefined && Object.keys(s.result.metrics).length > 0) view.metrics = s.result.metrics;
    if (s.result !== undefined) {
      view.inputRows = s.result.inputRows;
      view.outputRows = s.result.outputRows;
      if (s.result.cpuMs !== undefined) view.cpuMs = Math.round(s.result.cpuMs);
      if (s.result.cpuWaitMs !== undefined) view.cpuWaitMs = Math.round(s.result.cpuWaitMs);
    }
    if (p.predictedCpuMs !== undefined) view.predictedCpuMs = Math.round(p.predictedCpuMs);
    if (p.contention !== undefined) view.contention = p.contention;
    if (s.worker !== undefined) view.worker = s.worker;
    const { last, earlier } = splitAttempts(s);
    const log = s.result?.log ?? last?.log;
    if (log !== undefined) view.log = log;
    if (earlier.length > 0) view.earlierAttempts = earlier;
    tasks.push(view);
    const tv = perTask.get(p.task);
    if (tv !== undefined) {
      tv.instances++;
      tv.counts[s.state] = (tv.counts[s.state] ?? 0) + 1;
      tv.predictedMs += p.predictedMs;
      tv.actualMs += view.durationMs ?? 0;
      if (p.predictedCpuMs !== undefined && s.result?.cpuMs !== undefined) {
        tv.predictedCpuMs = (tv.predictedCpuMs ?? 0) + p.predictedCpuMs;
        tv.cpuMs = (tv.cpuMs ?? 0) + s.result.cpuMs;
      }
      const m = s.result?.metrics;
      if (m !== undefined && (m.rejected ?? 0) > 0) {
        tv.rejected = (tv.rejected ?? 0) + (m.rejected ?? 0);
        const reasons = (tv.rejectReasons ??= {});
        for (const [k, v] of Object.entries(m)) if (k.startsWith('rejected.')) reasons[k.slice('rejected.'.length)] = (reasons[k.slice('rejected.'.length)] ?? 0) + v;
      }
    }
  }
  for (const tv of perTask.values()) tv.state = rollup(tv.counts);
  return {
    runId: record.runId,
    dag: record.dag.name,
    dagHash: record.dagHash,
    phase: state.phase,
    createdAt: new Date(record.createdAt).toISOString(),
    startedAt: iso(state.startedAt),
    finishedAt: iso(state.finishedAt),
    durationMs: state.startedAt === undefined ? null : (state.finishedAt ?? now) - state.startedAt,
    counts,
    taskSummary: [...perTask.values()],
    tasks,
  };
}

/** A task's state from its instances': the most telling one. */
function rollup(c: Partial<Record<InstanceState, number>>): InstanceState {
  for (const s of ['failed', 'running', 'queued', 'upstream_failed', 'cancelled', 'pending'] as const) if ((c[s] ?? 0) > 0) return s;
  if ((c.succeeded ?? 0) > 0) return 'succeeded';
  return (c.skipped ?? 0) > 0 ? 'skipped' : 'pending';
}

/** Why an instance is in its state, in words (null when nothing to say). */
export function whyOf(p: PlannedInstance, s: RunState['instances'][string], state: RunState, byId: Map<string, PlannedInstance>, now: number): string | null {
  switch (s.state) {
    case 'pending': {
      if (state.cancelRequested) return 'run is being cancelled';
      if (s.notBefore !== undefined) return `retry ${s.attempts + 1} after backoff, in ${Math.max(0, Math.round((s.notBefore - now) / 1000))}s (last error: ${s.error ?? 'unknown'})`;
      const waiting = p.deps.filter((d) => !DONE_OK.has(state.instances[d]?.state ?? 'pending'));
      if (waiting.length === 0) return 'ready';
      const shown = waiting.slice(0, 3).join(', ');
      return `waiting for ${waiting.length} upstream instance(s): ${shown}${waiting.length > 3 ? ', …' : ''}`;
    }
    case 'queued':
      return 'waiting for a free worker';
    case 'failed':
      return `failed after ${s.attempts} attempt(s): ${s.errorCode ?? ''} ${s.error ?? ''}`.trim();
    case 'upstream_failed': {
      const failed = p.deps.filter((d) => {
        const st = state.instances[d]?.state;
        return st === 'failed' || st === 'upstream_failed';
      });
      const root = failed.map((d) => rootFailure(d, state, byId)).filter((x): x is string => x !== null);
      return `not run: upstream ${[...new Set(root)].slice(0, 3).join(', ') || failed.join(', ')} failed`;
    }
    case 'skipped':
      if (s.skipReason === 'converged') return 'not needed: the iteration converged earlier';
      if (s.skipReason === 'pruned') return 'not needed: an earlier stage of the task narrowed its fan-out';
      return 'memoized: identical inputs, params and operator version were committed before';
    case 'cancelled':
      return 'cancelled';
    default:
      return null;
  }
}

function rootFailure(id: string, state: RunState, byId: Map<string, PlannedInstance>): string | null {
  const seen = new Set<string>();
  let cur: string | undefined = id;
  while (cur !== undefined && !seen.has(cur)) {
    seen.add(cur);
    const st = state.instances[cur]?.state;
    if (st === 'failed') return cur;
    const deps: string[] = byId.get(cur)?.deps ?? [];
    cur = deps.find((d: string) => {
      const x = state.instances[d]?.state;
      return x === 'failed' || x === 'upstream_failed';
    });
  }
  return null;
}
