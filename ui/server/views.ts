/**
 * The web UI's views (pure): run list items, the run page (instances with predicted T = O + P×H vs
 * actual, Gantt offsets, per-task rollups from scheduler/status-view.ts), live patches (the rows
 * that changed between two views), the DAG graph in layers (longest-path layering, barycentre
 * ordering) and the plan numbers (scheduler/plan/plan.ts). No I/O, no clock: callers pass `now`.
 */
import { formatDuration } from '../../core/duration.js';
import type { FailedAttempt, InstanceStatus, PlannedInstance } from '../../scheduler/model.js';
import type { RunState } from '../../scheduler/engine/state.js';
import { buildPlanReport, DEFAULT_PLAN_WORKERS } from '../../scheduler/plan/plan.js';
import { simulateMakespan } from '../../scheduler/plan/makespan.js';
import type { RunRecord, RunSummary } from '../../scheduler/ports.js';
import { ticksOf } from '../../scheduler/schedule/planner.js';
import { buildStatus, splitAttempts } from '../../scheduler/status-view.js';
import type { DagSpec } from '../../definitions/types.js';
import type { UiActions, UiFailedAttempt, UiGraph, UiGraphNode, UiInstanceRow, UiInstanceTexts, UiPlanNumbers, UiRun, UiRunListItem, UiRunPatch, UiSchedule, UiStoreId } from '../api-types.js';

/**
 * Workers the prediction of a run assumes: its recorded concurrency; else, for an embedded run,
 * `embeddedDefault` (what `dagctl run` uses: one thread per core of the machine, which the caller
 * knows); else the plan default.
 */
export function predictedWorkersOf(record: RunRecord, embeddedDefault = DEFAULT_PLAN_WORKERS): number {
  return record.options.concurrency ?? (record.options.executor === 'embedded' ? embeddedDefault : DEFAULT_PLAN_WORKERS);
}

/** What started a run, when its options recorded it (e.g. a schedule tick). */
export function triggerOf(record: RunRecord): string | null {
  const t = (record.options as unknown as Record<string, unknown>).trigger;
  if (typeof t === 'string') return t;
  if (t !== null && typeof t === 'object') {
    const o = t as Record<string, unknown>;
    const kind = typeof o.kind === 'string' ? o.kind : typeof o.type === 'string' ? o.type : 'trigger';
    const at = typeof o.at === 'string' || typeof o.at === 'number' ? ` ${String(o.at)}` : '';
    return `${kind}${at}`;
  }
  return null;
}

/** The makespan of a plan on `workers` workers (the cost model's prediction of the run's duration). */
export function predictedMakespan(plan: readonly PlannedInstance[], workers: number): number {
  return plan.length === 0 ? 0 : Math.round(simulateMakespan(plan, workers).makespanMs);
}

/** What the run lists need of a run's (possibly large) record, kept small so many can be cached. */
export interface RunBrief {
  trigger: string | null;
  executor: string;
  dagHash: string;
  tasks: number;
  predictedMs: number;
  predictedWorkers: number;
}

export function runBrief(record: RunRecord, embeddedDefault = DEFAULT_PLAN_WORKERS): RunBrief {
  const workers = predictedWorkersOf(record, embeddedDefault);
  return { trigger: triggerOf(record), executor: record.options.executor, dagHash: record.dagHash, tasks: record.dag.tasks.length, predictedMs: predictedMakespan(record.plan, workers), predictedWorkers: workers };
}

export function runListItem(store: UiStoreId, summary: RunSummary, brief: RunBrief | null): UiRunListItem {
  const durationMs = summary.startedAt === undefined ? null : summary.finishedAt === undefined ? null : summary.finishedAt - summary.startedAt;
  return {
    store,
    runId: summary.runId,
    dag: summary.dag,
    phase: summary.phase,
    trigger: brief?.trigger ?? null,
    executor: brief?.executor ?? (store === 'redis' ? 'bullmq' : 'embedded'),
    createdAt: summary.createdAt,
    startedAt: summary.startedAt ?? null,
    finishedAt: summary.finishedAt ?? null,
    durationMs,
    instances: summary.instances,
    counts: summary.counts,
    predictedMs: brief?.predictedMs ?? null,
    predictedWorkers: brief?.predictedWorkers ?? DEFAULT_PLAN_WORKERS,
  };
}

/**
 * Error texts and logs on a run page are cut at this many UTF-8 bytes each (an error keeps its
 * start, a log its end; `errorMore`/`logMore` say how many bytes were left out), so a run's page
 * stays bounded whatever its instances wrote; the full texts are GET /api/runs/RUN/instances/ID.
 */
export const UI_TEXT_CAP_BYTES = 4096;

/** `text` cut to UI_TEXT_CAP_BYTES UTF-8 bytes at a character boundary, keeping its start or end, and the bytes left out. */
export function capText(text: string, keep: 'head' | 'tail'): { text: string; more: number } {
  // At most 3 bytes per UTF-16 unit: short texts need no encoding.
  if (text.length * 3 <= UI_TEXT_CAP_BYTES) return { text, more: 0 };
  const b = Buffer.from(text, 'utf8');
  if (b.length <= UI_TEXT_CAP_BYTES) return { text, more: 0 };
  const cont = (i: number): boolean => ((b[i] ?? 0) & 0xc0) === 0x80;
  if (keep === 'head') {
    let cut = UI_TEXT_CAP_BYTES;
    while (cut > 0 && cont(cut)) cut--;
    return { text: b.subarray(0, cut).toString('utf8'), more: b.length - cut };
  }
  let start = b.length - UI_TEXT_CAP_BYTES;
  while (start < b.length && cont(start)) start++;
  return { text: b.subarray(start).toString('utf8'), more: start };
}

/** A failed attempt as the page shows it: error and log capped (capText). */
function pageAttempt(a: FailedAttempt): UiFailedAttempt {
  const error = capText(a.error, 'head');
  const out: UiFailedAttempt = { attempt: a.attempt, at: a.at, code: a.code, error: error.text };
  if (error.more > 0) out.errorMore = error.more;
  if (a.log !== undefined) {
    const log = capText(a.log, 'tail');
    out.log = log.text;
    if (log.more > 0) out.logMore = log.more;
  }
  return out;
}

/** One instance's texts in full (GET /api/runs/RUN/instances/ID): what the page shows capped. */
export function instanceTexts(runId: string, instance: string, s: InstanceStatus, why: string | null): UiInstanceTexts {
  const { last, earlier } = splitAttempts(s);
  return { runId, instance, attempts: s.attempts, why, error: s.error ?? null, errorCode: s.errorCode ?? null, log: s.result?.log ?? last?.log ?? null, earlierAttempts: earlier };
}

export function buildRunView(store: UiStoreId, record: RunRecord, state: RunState, now: number, actions: UiActions, brief: Pick<RunBrief, 'predictedMs' | 'predictedWorkers'>): UiRun {
  const status = buildStatus(record, state, now);
  const byId = new Map(record.plan.map((p) => [p.id, p]));
  const t0 = state.startedAt ?? record.createdAt;
  const instances: UiInstanceRow[] = status.tasks.map((v) => {
    const s = state.instances[v.instance];
    const p = byId.get(v.instance);
    const running = s?.state === 'running' || (s?.startedAt !== undefined && s.finishedAt === undefined);
    const error = v.error === null ? null : capText(v.error, 'head');
    const log = v.log === undefined ? undefined : capText(v.log, 'tail');
    const why = v.why === null ? null : capText(v.why, 'head');
    return {
      id: v.instance,
      task: v.name,
      stage: v.stage,
      partition: v.partition,
      state: v.state,
      attempts: v.attempts,
      worker: v.worker ?? null,
      predictedMs: v.predictedMs,
      overheadMs: Math.round(p?.overheadMs ?? 0),
      workMs: Math.round(p?.workMs ?? 0),
      durationMs: running ? null : v.durationMs,
      startMs: s?.startedAt === undefined ? null : s.startedAt - t0,
      endMs: s?.finishedAt === undefined || s.startedAt === undefined ? null : s.finishedAt - t0,
      error: error?.text ?? null,
      errorCode: v.errorCode,
      why: why?.text ?? null,
      ...(log === undefined ? {} : { log: log.text }),
      ...(v.earlierAttempts === undefined ? {} : { earlierAttempts: v.earlierAttempts.map(pageAttempt) }),
      ...(error === null || error.more === 0 ? {} : { errorMore: error.more }),
      ...(log === undefined || log.more === 0 ? {} : { logMore: log.more }),
      ...(why === null || why.more === 0 ? {} : { whyMore: why.more }),
    };
  });
  return {
    store,
    runId: record.runId,
    dag: record.dag.name,
    dagHash: record.dagHash,
    phase: state.phase,
    cancelRequested: state.cancelRequested,
    trigger: triggerOf(record),
    executor: record.options.executor,
    createdAt: record.createdAt,
    startedAt: state.startedAt ?? null,
    finishedAt: state.finishedAt ?? null,
    durationMs: status.durationMs,
    counts: status.counts,
    predictedMs: brief.predictedMs,
    predictedWorkers: brief.predictedWorkers,
    seq: state.seq,
    actions,
    tasks: status.taskSummary.map((t) => ({ name: t.name, operator: t.operator, instances: t.instances, state: t.state, counts: t.counts, predictedMs: Math.round(t.predictedMs), actualMs: Math.round(t.actualMs) })),
    instances,
  };
}

/** A row's identity for change detection (every field the page shows). */
function rowKey(r: UiInstanceRow): string {
  return `${r.state}|${r.attempts}|${r.worker ?? ''}|${r.durationMs ?? ''}|${r.startMs ?? ''}|${r.endMs ?? ''}|${r.errorCode ?? ''}|${r.error ?? ''}|${r.why ?? ''}|${r.log ?? ''}|${r.earlierAttempts?.length ?? 0}|${r.earlierAttempts?.at(-1)?.at ?? ''}`;
}

export type RowKeys = Map<string, string>;

export function rowKeys(view: UiRun): RowKeys {
  return new Map(view.instances.map((r) => [r.id, rowKey(r)]));
}

/** The patch from `prev` (row keys of the last view sent) to `next`: its header, tasks and changed rows. */
export function diffRun(prev: RowKeys, next: UiRun): UiRunPatch {
  const changed = next.instances.filter((r) => prev.get(r.id) !== rowKey(r));
  return { ...next, instances: changed };
}

const COL_W = 220;
const ROW_H = 64;
const MARGIN = 24;

/**
 * The DAG as a layered graph: tasks and datasets are nodes; a task's inputs point at it, it points
 * at its outputs and at the tasks that depend on it. Layers are longest paths from a source (every
 * edge goes left to right); within a layer nodes are ordered by the mean position of their
 * predecessors (barycentre), ties by name.
 */
export function dagGraph(dag: DagSpec): UiGraph {
  const nodes = new Map<string, Omit<UiGraphNode, 'layer' | 'x' | 'y'>>();
  const edges: Array<{ from: string; to: string }> = [];
  const dsId = (n: string): string => `dataset:${n}`;
  const taskId = (n: string): string => `task:${n}`;
  const addDataset = (name: string): void => {
    if (nodes.has(dsId(name))) return;
    const ds = dag.datasets[name];
    const scheme = ds === undefined ? '' : (/^([a-z0-9+.-]+):\/\//i.exec(ds.uri)?.[1] ?? 'file');
    nodes.set(dsId(name), { id: dsId(name), kind: 'dataset', label: name, detail: ds === undefined ? 'dataset' : `${ds.format}${scheme === '' ? '' : ` · ${scheme}`}${ds.view ? ' · view' : ''}` });
  };
  for (const t of dag.tasks) nodes.set(taskId(t.name), { id: taskId(t.name), kind: 'task', label: t.name, detail: t.operator });
  for (const t of dag.tasks) {
    for (const i of t.inputs) {
      addDataset(i);
      edges.push({ from: dsId(i), to: taskId(t.name) });
    }
    for (const o of t.outputs) {
      addDataset(o);
      edges.push({ from: taskId(t.name), to: dsId(o) });
    }
    for (const d of t.dependsOn) if (nodes.has(taskId(d))) edges.push({ from: taskId(d), to: taskId(t.name) });
  }
  for (const name of Object.keys(dag.datasets)) addDataset(name);

  const preds = new Map<string, string[]>();
  const succs = new Map<string, string[]>();
  for (const id of nodes.keys()) {
    preds.set(id, []);
    succs.set(id, []);
  }
  for (const e of edges) {
    preds.get(e.to)?.push(e.from);
    succs.get(e.from)?.push(e.to);
  }
  // Kahn's order; the layer of a node is 1 + the largest layer of its predecessors.
  const layer = new Map<string, number>();
  const missing = new Map<string, number>([...preds].map(([id, p]) => [id, p.length]));
  const queue = [...nodes.keys()].filter((id) => missing.get(id) === 0).sort();
  for (let i = 0; i < queue.length; i++) {
    const id = queue[i] as string;
    layer.set(id, Math.max(0, ...(preds.get(id) ?? []).map((p) => (layer.get(p) ?? 0) + 1)));
    for (const s of succs.get(id) ?? []) {
      const m = (missing.get(s) ?? 0) - 1;
      missing.set(s, m);
      if (m === 0) queue.push(s);
    }
  }
  // A cycle cannot come from a validated DAG; should one appear, its nodes go after the rest.
  const maxLayer = Math.max(0, ...layer.values());
  for (const id of nodes.keys()) if (!layer.has(id)) layer.set(id, maxLayer + 1);

  const layers: string[][] = [];
  for (const [id, l] of layer) (layers[l] ??= []).push(id);
  const pos = new Map<string, number>();
  const out: UiGraphNode[] = [];
  layers.forEach((ids, l) => {
    const centre = (id: string): number => {
      const ps = (preds.get(id) ?? []).map((p) => pos.get(p)).filter((x): x is number => x !== undefined);
      return ps.length === 0 ? Number.POSITIVE_INFINITY : ps.reduce((a, b) => a + b, 0) / ps.length;
    };
    const sorted = [...ids].sort((a, b) => centre(a) - centre(b) || (a < b ? -1 : a > b ? 1 : 0));
    sorted.forEach((id, i) => {
      pos.set(id, i);
      const n = nodes.get(id);
      if (n !== undefined) out.push({ ...n, layer: l, x: MARGIN + l * COL_W, y: MARGIN + i * ROW_H });
    });
  });
  const width = MARGIN * 2 + Math.max(1, layers.length) * COL_W;
  const height = MARGIN * 2 + Math.max(1, ...layers.map((ids) => ids?.length ?? 0)) * ROW_H;
  return { nodes: out, edges, width, height };
}

/** `dagctl plan`'s numbers for a recorded plan: makespan on N workers, and the workers a deadline needs. */
export function planNumbers(plan: readonly PlannedInstance[], workers: number, deadlineMs: number | undefined): UiPlanNumbers {
  const r = buildPlanReport(plan, { workers, ...(deadlineMs !== undefined ? { deadlineMs } : {}) });
  let deadline: UiPlanNumbers['deadline'] = null;
  if (r.deadline !== undefined) {
    const s = r.deadline.search;
    deadline = s.feasible
      ? { deadlineMs: r.deadline.deadlineMs, feasible: true, workers: s.workers, makespanMs: Math.round(s.makespanMs), reason: null }
      : { deadlineMs: r.deadline.deadlineMs, feasible: false, workers: null, makespanMs: null, reason: s.reason };
  }
  return {
    instances: r.instances,
    totalWorkMs: Math.round(r.totalWorkMs),
    criticalPathMs: Math.round(r.criticalPath.lengthMs),
    criticalTasks: r.criticalPath.tasks,
    workers: r.makespan.workers,
    makespanMs: Math.round(r.makespan.makespanMs),
    deadline,
    tasks: r.tasks.map((t) => ({ task: t.task, operator: t.operator, instances: t.instances, overheadMs: Math.round(t.overheadMs), workMs: Math.round(t.workMs), predictedMs: Math.round(t.predictedMs), costSource: t.costSource })),
  };
}

/** A Redis URL fit to show: user name kept, password replaced by ***. */
/** The DAG's schedule and its next tick after `now` (scheduler/schedule/planner.ts ticks), or null. */
export function scheduleView(dag: DagSpec, now: number, paused: boolean | null = null): UiSchedule | null {
  const s = dag.schedule;
  if (s === undefined) return null;
  const next = ticksOf(s).next(now);
  return {
    spec: s.cron !== undefined ? `cron ${s.cron}` : `every ${formatDuration(s.everyMs ?? 0)}`,
    timezone: s.timezone,
    catchup: s.catchup,
    overlap: s.overlap,
    nextTick: next === null ? null : new Date(next).toISOString(),
    paused,
  };
}

export function maskUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/\/\/([^@/]*)@/, '//***@');
  }
}
