/**
 * expandDag: the resolved DAG → the list of planned task instances (pure, no I/O).
 *
 * Each task becomes the instances of its operator's stages (operators/types.ts, "Stages and
 * fan-out"), plus one `publish` instance when it has outputs. Edges:
 *   - within a task, a stage depends on every instance of the previous stage (or round);
 *   - across tasks, a consumer whose primary input is produced by a task whose last stage has
 *     several instances runs one instance per producer instance, each depending on just its
 *     producer instance (pipelining: normalize of day D feeds dedupe's map of day D at once);
 *   - otherwise a consumer depends on the producer's publish instance (a barrier), which keeps
 *     the edge count linear instead of producers × consumers;
 *   - `dependsOn` adds an edge to the other task's barrier.
 * Iterative stages are planned for maxRounds rounds; the engine skips rounds after convergence.
 * Preconditions: the DAG passed validation (acyclic, references resolve, operators exist).
 */
import { DagctlError } from '../../core/errors.js';
import { operatorOf } from '../../operators/registry.js';
import type { StageSpec } from '../../operators/types.js';
import type { DagSpec, TaskSpec } from '../../definitions/types.js';
import type { PlannedInstance } from '../model.js';
import { partitionsOf, sizeOf, type SourceSnapshot } from './sources.js';
import { paramsKey } from './params-key.js';

export interface CostEstimateLike {
  overheadMs: number;
  workMs: number;
  predictedMs: number;
  source: 'default' | 'fitted';
  /** Predicted thread CPU time, when the model fitted it, and the contention k the wall time is for. */
  cpuMs?: number;
  contention?: number;
  probedContention?: number;
}

export interface CostModelLike {
  /**
   * `task` is `dag/task`: the task's own history, when the model has enough of it; `paramsHash`
   * (paramsKey of the parsed params): other tasks' history of the same operator, stage and params.
   */
  estimate(operator: string, stage: string, inputBytes: number, inputRows: number, task?: string, paramsHash?: string): CostEstimateLike;
  /** Iterative stages: the mean number of rounds past runs executed (same levels as estimate), if known. */
  expectedRounds?(operator: string, stage: string, task?: string, paramsHash?: string): number | undefined;
}

export interface ExpandOptions {
  /** Target input bytes per bucket when a task does not set params.buckets. */
  bytesPerBucket?: number;
  minBuckets?: number;
  maxBuckets?: number;
}

interface Unit {
  partition: string;
  deps: string[];
  bytes: number;
  rows: number;
}

interface Produced {
  /** Instances of the task's last stage (last round). */
  final: PlannedInstance[];
  finalStage: StageSpec;
  /** What consumers wait for when they don't pipeline: the publish instance, or `final`. */
  barrier: string[];
  outBytes: number;
  outRows: number;
}

export function taskOrder(dag: DagSpec): TaskSpec[] {
  const byName = new Map(dag.tasks.map((t) => [t.name, t]));
  const indeg = new Map<string, number>();
  const next = new Map<string, string[]>();
  for (const t of dag.tasks) {
    const ups = upstreamTasks(dag, t);
    indeg.set(t.name, ups.length);
    for (const u of ups) {
      const list = next.get(u);
      if (list === undefined) next.set(u, [t.name]);
      else list.push(t.name);
    }
  }
  const ready = dag.tasks.filter((t) => indeg.get(t.name) === 0).map((t) => t.name);
  const out: TaskSpec[] = [];
  for (let head = 0; head < ready.length; head++) {
    const name = ready[head] as string;
    out.push(byName.get(name) as TaskSpec);
    for (const n of next.get(name) ?? []) {
      const d = (indeg.get(n) ?? 0) - 1;
      indeg.set(n, d);
      if (d === 0) ready.push(n);
    }
  }
  if (out.length !== dag.tasks.length) throw new DagctlError('PLAN_FAILED', 'the DAG has a cycle (validate it first)');
  return out;
}

/** Tasks this task waits for: producers of its inputs, and dependsOn. Deduplicated, in order. */
export function upstreamTasks(dag: DagSpec, task: TaskSpec): string[] {
  const ups: string[] = [];
  for (const input of task.inputs) {
    const p = dag.datasets[input]?.producer;
    if (p !== undefined && !ups.includes(p)) ups.push(p);
  }
  for (const d of task.dependsOn) if (!ups.includes(d)) ups.push(d);
  return ups;
}

export function instanceId(task: string, stage: string, round: number, rounds: number, partition: string, bucket: number): string {
  let id = `${task}.${stage}`;
  if (rounds > 1) id += `.r${round}`;
  if (partition !== '') id += `.p${partition}`;
  if (bucket >= 0) id += `.b${String(bucket).padStart(3, '0')}`;
  return id;
}

export function expandDag(dag: DagSpec, sources: SourceSnapshot, cost: CostModelLike, opts: ExpandOptions = {}): PlannedInstance[] {
  const bytesPerBucket = opts.bytesPerBucket ?? 64 * 1024 * 1024;
  const minBuckets = opts.minBuckets ?? 4;
  const maxBuckets = opts.maxBuckets ?? 256;
  const produced = new Map<string, Produced>();
  const out: PlannedInstance[] = [];

  for (const task of taskOrder(dag)) {
    const op = operatorOf(dag, task.operator);
    const params = op.params.parse(task.params);
    const stages = op.stages(params, { inputs: task.inputs.length });
    const paramsHash = paramsKey(params);
    if (stages.length === 0) throw new DagctlError('PLAN_FAILED', `operator ${op.name} declares no stages`);

    // Extra edges every first-stage instance carries: dependsOn, and non-primary inputs.
    const extraDeps: string[] = [];
    let extraBytes = 0;
    let extraRows = 0;
    for (const d of task.dependsOn) extraDeps.push(...(produced.get(d)?.barrier ?? []));
    for (const name of task.inputs.slice(1)) {
      const size = inputSize(dag, sources, produced, name);
      extraBytes += size.bytes;
      extraRows += size.rows;
      const p = dag.datasets[name]?.producer;
      if (p !== undefined) extraDeps.push(...(produced.get(p)?.barrier ?? []));
    }
    const units = primaryUnits(dag, sources, produced, task);
    const totalBytes = units.reduce((s, u) => s + u.bytes, 0) + extraBytes;
    const totalRows = units.reduce((s, u) => s + u.rows, 0) + extraRows;
    const paramBuckets = (params as { buckets?: unknown }).buckets;
    const buckets =
      typeof paramBuckets === 'number'
        ? paramBuckets
        : Math.max(minBuckets, Math.min(maxBuckets, Math.ceil(totalBytes / bytesPerBucket)));

    let prev: PlannedInstance[] = [];
    let lastStage = stages[0] as StageSpec;
    stages.forEach((stage, stageIndex) => {
      lastStage = stage;
      const rounds = stage.iterate !== undefined ? stage.iterate.maxRounds : 1;
      for (let round = 1; round <= rounds; round++) {
        const cur: PlannedInstance[] = [];
        const prevIds = prev.map((p) => p.id);
        const prevBytes = prev.reduce((s, p) => s + p.inputBytes, 0);
        const prevRows = prev.reduce((s, p) => s + p.inputRows, 0);
        const first = stageIndex === 0 && round === 1;
        // Rounds past the expected count are planned (the engine skips them once converged) but not
        // charged; the expectation is what past runs executed (the cost model), else the stage's own
        // (default 4), and a fractional one charges that fraction of its last round.
        const expected = stage.iterate === undefined ? 1 : Math.min(rounds, cost.expectedRounds?.(op.name, stage.name, `${dag.name}/${task.name}`, paramsHash) ?? stage.iterate.expectedRounds ?? 4);
        const weight = stage.iterate === undefined ? 1 : Math.max(0, Math.min(1, expected - (round - 1)));
        const make = (partition: string, bucket: number, deps: string[], bytes: number, rows: number): void => {
          const full = cost.estimate(op.name, stage.name, bytes, rows, `${dag.name}/${task.name}`, paramsHash);
          const est = weight === 1 ? full : { ...full, overheadMs: full.overheadMs * weight, workMs: full.workMs * weight, predictedMs: full.predictedMs * weight, ...(full.cpuMs === undefined ? {} : { cpuMs: full.cpuMs * weight }) };
          const inst: PlannedInstance = {
            id: instanceId(task.name, stage.name, round, rounds, partition, bucket),
            task: task.name,
            operator: op.name,
            kind: 'work',
            stage: stage.name,
            stageIndex,
            round,
            rounds,
            partition,
            bucket,
            buckets,
            deps: uniq(deps),
            inputBytes: bytes,
            inputRows: rows,
            predictedMs: est.predictedMs,
            overheadMs: est.overheadMs,
            workMs: est.workMs,
            costSource: est.source,
            paramsHash,
          };
          if (est.cpuMs !== undefined) inst.predictedCpuMs = est.cpuMs;
          if (est.cpuMs !== undefined && est.contention !== undefined) inst.contention = est.contention;
          if (est.cpuMs !== undefined && est.probedContention !== undefined) inst.probedContention = est.probedContention;
          if (stage.iterate !== undefined) inst.iterateMetric = stage.iterate.metric;
          if (task.queue !== undefined) inst.queue = task.queue;
          cur.push(inst);
        };
        if (stage.fanout === 'partition') {
          for (const u of units) {
            const deps = first ? [...u.deps, ...extraDeps] : [...u.deps, ...prevIds];
            make(u.partition, -1, deps, u.bytes + (first ? 0 : 0), u.rows);
          }
        } else if (stage.fanout === 'bucket') {
          const unitDeps = first ? units.flatMap((u) => u.deps) : [];
          const base = first ? { bytes: totalBytes, rows: totalRows } : { bytes: prevBytes || totalBytes, rows: prevRows || totalRows };
          for (let b = 0; b < buckets; b++) {
            make('', b, first ? [...unitDeps, ...extraDeps] : prevIds, Math.ceil(base.bytes / buckets), Math.ceil(base.rows / buckets));
          }
        } else {
          const unitDeps = first ? units.flatMap((u) => u.deps) : [];
          make('', -1, first ? [...unitDeps, ...extraDeps] : prevIds, first ? totalBytes : prevBytes || totalBytes, first ? totalRows : prevRows || totalRows);
        }
        out.push(...cur);
        prev = cur;
      }
    });

    const outBytes = prev.reduce((s, p) => s + p.inputBytes, 0);
    const outRows = prev.reduce((s, p) => s + p.inputRows, 0);
    let barrier = prev.map((p) => p.id);
    if (task.outputs.length > 0) {
      const est = cost.estimate(op.name, 'publish', 0, 0);
      const pub: PlannedInstance = {
        id: `${task.name}.publish`,
        task: task.name,
        operator: op.name,
        kind: 'publish',
        stage: 'publish',
        stageIndex: stages.length,
        round: 1,
        rounds: 1,
        partition: '',
        bucket: -1,
        buckets,
        deps: prev.map((p) => p.id),
        inputBytes: 0,
        inputRows: 0,
        predictedMs: Math.min(est.overheadMs, 50),
        overheadMs: Math.min(est.overheadMs, 50),
        workMs: 0,
        costSource: est.source,
      };
      if (task.queue !== undefined) pub.queue = task.queue;
      out.push(pub);
      barrier = [pub.id];
    }
    produced.set(task.name, { final: prev, finalStage: lastStage, barrier, outBytes, outRows });
  }
  return out;
}

function primaryUnits(dag: DagSpec, sources: SourceSnapshot, produced: Map<string, Produced>, task: TaskSpec): Unit[] {
  const name = task.inputs[0];
  if (name === undefined) return [{ partition: '', deps: [], bytes: 0, rows: 0 }];
  const ds = dag.datasets[name];
  if (ds === undefined) throw new DagctlError('PLAN_FAILED', `task ${task.name}: unknown dataset ${name}`);
  if (ds.producer === undefined) {
    const files = sources[name] ?? [];
    if (ds.partitionBy === 'date') {
      const parts = partitionsOf(files);
      if (parts.length > 0) {
        return parts.map((p) => {
          const size = sizeOf(files.filter((f) => f.partition === p));
          return { partition: p, deps: [], bytes: size.bytes, rows: size.rows };
        });
      }
    }
    const size = sizeOf(files);
    return [{ partition: '', deps: [], bytes: size.bytes, rows: size.rows }];
  }
  const prod = produced.get(ds.producer);
  if (prod === undefined) throw new DagctlError('PLAN_FAILED', `task ${task.name}: producer ${ds.producer} not planned yet`);
  const pipelined = prod.final.length > 1 && prod.finalStage.iterate === undefined && prod.finalStage.fanout !== 'single';
  if (pipelined) {
    return prod.final.map((p) => ({
      partition: p.partition !== '' ? p.partition : `b${String(p.bucket).padStart(3, '0')}`,
      deps: [p.id],
      bytes: p.inputBytes,
      rows: p.inputRows,
    }));
  }
  return [{ partition: '', deps: prod.barrier, bytes: prod.outBytes, rows: prod.outRows }];
}

function inputSize(dag: DagSpec, sources: SourceSnapshot, produced: Map<string, Produced>, name: string): { bytes: number; rows: number } {
  const ds = dag.datasets[name];
  if (ds?.producer === undefined) return sizeOf(sources[name] ?? []);
  const p = produced.get(ds.producer);
  return { bytes: p?.outBytes ?? 0, rows: p?.outRows ?? 0 };
}

function uniq(xs: string[]): string[] {
  return xs.length < 2 ? xs : [...new Set(xs)];
}
