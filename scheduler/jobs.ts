/**
 * InstanceJob: what an executor receives for one attempt of one instance — references only
 * (dataset URIs and file lists from commit markers), never data.
 *
 * JobResolver is built once per run from its record (pure). For an instance it says which other
 * instances' statuses it needs (`needs`, so a Redis store fetches only those), then builds the
 * job from them (`build`): task inputs come from the source snapshot or from the committed outputs
 * of the producing instances; `prior` comes from the previous stage (or the last round that ran).
 */
import { DagctlError } from '../core/errors.js';
import type { FileEntry } from '../storage/types.js';
import { DONE_OK, type CommittedOutput, type InstanceStatus, type PlannedInstance } from './model.js';
import type { RunRecord } from './ports.js';
import type { TaskSpec } from '../definitions/types.js';

export interface ResolvedInput {
  dataset: string;
  uri: string;
  format: 'parquet' | 'text' | 'csv' | 'jsonl';
  files: FileEntry[];
}

export interface InstanceJob {
  runId: string;
  instanceId: string;
  attempt: number;
  /** Task inputs in declared order. For 'partition' instances inputs[0] is just this partition. */
  inputs: ResolvedInput[];
  /** Outputs of the previous stage (or round) of this task, from every instance of that stage. */
  prior: CommittedOutput[];
  /** Outputs of every earlier stage of this task by stage name (last round that ran, if iterative). */
  stages: Record<string, CommittedOutput[]>;
  /** publish instances: the files of each output dataset to publish. */
  publish?: Array<{ dataset: string; uri: string; files: FileEntry[] }>;
  timeoutMs: number;
  /** Skip the memoization check (--force, or --rerun-from this task or upstream of it). */
  force: boolean;
}

export type StatusLookup = (id: string) => InstanceStatus | undefined;

export class JobResolver {
  readonly plan = new Map<string, PlannedInstance>();
  private readonly tasks = new Map<string, TaskSpec>();
  /** task → instance ids of its last work stage, all rounds (iterative), in plan order. */
  private readonly finals = new Map<string, PlannedInstance[]>();
  /** `<task>.<stage>` → instances of every round. */
  private readonly stageInstances = new Map<string, PlannedInstance[]>();
  private readonly forced: Set<string>;

  constructor(readonly record: RunRecord) {
    for (const t of record.dag.tasks) this.tasks.set(t.name, t);
    const lastStage = new Map<string, number>();
    for (const p of record.plan) {
      this.plan.set(p.id, p);
      if (p.kind === 'work') lastStage.set(p.task, Math.max(lastStage.get(p.task) ?? 0, p.stageIndex));
    }
    const push = <K>(m: Map<K, PlannedInstance[]>, k: K, p: PlannedInstance): void => {
      const list = m.get(k);
      if (list === undefined) m.set(k, [p]);
      else list.push(p);
    };
    for (const p of record.plan) {
      if (p.kind !== 'work') continue;
      push(this.stageInstances, `${p.task}.${p.stage}`, p);
      if (p.stageIndex === lastStage.get(p.task)) push(this.finals, p.task, p);
    }
    this.forced = forcedTasks(record);
  }

  instance(id: string): PlannedInstance {
    const p = this.plan.get(id);
    if (p === undefined) throw new DagctlError('TASK_NOT_FOUND', `no instance ${id} in run ${this.record.runId}`);
    return p;
  }

  /** Ids whose statuses `build` reads for this instance. */
  needs(id: string): string[] {
    const inst = this.instance(id);
    const out = new Set<string>(inst.deps);
    for (const d of inst.deps) {
      const dp = this.plan.get(d);
      // Iterative prior stage: any earlier round may be the last one that ran.
      if (dp !== undefined && dp.task === inst.task && dp.rounds > 1) for (const p of this.stageInstances.get(`${dp.task}.${dp.stage}`) ?? []) out.add(p.id);
      // A barrier (publish) stands for the producer's final instances.
      if (dp !== undefined && dp.kind === 'publish' && dp.task !== inst.task) for (const p of this.finals.get(dp.task) ?? []) out.add(p.id);
    }
    if (inst.kind === 'publish') for (const p of this.finals.get(inst.task) ?? []) out.add(p.id);
    for (const p of this.earlierStageInstances(inst)) out.add(p.id);
    // Later stages of a task that reads produced inputs reach them through the first stage's deps.
    if (inst.kind === 'work' && inst.stageIndex > 0) {
      const task = this.task(inst.task);
      for (const name of task.inputs) {
        const producer = this.record.dag.datasets[name]?.producer;
        if (producer !== undefined) for (const p of this.finals.get(producer) ?? []) out.add(p.id);
      }
    }
    return [...out];
  }

  /** Every instance of the stages before this instance's stage, in the same task. */
  private earlierStageInstances(inst: PlannedInstance): PlannedInstance[] {
    if (inst.kind !== 'work' || inst.stageIndex === 0) return [];
    const out: PlannedInstance[] = [];
    for (const [k, list] of this.stageInstances) {
      if (!k.startsWith(`${inst.task}.`)) continue;
      const first = list[0];
      if (first !== undefined && first.task === inst.task && first.stageIndex < inst.stageIndex) out.push(...list);
    }
    return out;
  }

  private task(name: string): TaskSpec {
    const t = this.tasks.get(name);
    if (t === undefined) throw new DagctlError('TASK_NOT_FOUND', `no task ${name}`);
    return t;
  }

  build(id: string, attempt: number, lookup: StatusLookup): InstanceJob {
    const inst = this.instance(id);
    const task = this.task(inst.task);
    const job: InstanceJob = {
      runId: this.record.runId,
      instanceId: id,
      attempt,
      inputs: [],
      prior: [],
      stages: {},
      timeoutMs: task.timeoutMs,
      force: this.record.options.force || this.forced.has(inst.task),
    };
    const outputsOf = (ids: Iterable<string>): CommittedOutput[] => {
      const out: CommittedOutput[] = [];
      for (const d of ids) {
        const s = lookup(d);
        if (s !== undefined && DONE_OK.has(s.state) && s.result !== undefined) out.push(...s.result.outputs);
      }
      return out;
    };

    if (inst.kind === 'publish') {
      const outs = outputsOf((this.finals.get(inst.task) ?? []).map((p) => p.id));
      job.publish = task.outputs.map((name) => ({
        dataset: name,
        uri: this.record.dag.datasets[name]?.uri ?? '',
        files: sortFiles(outs.filter((o) => o.dataset === name).flatMap((o) => o.files)),
      }));
      return job;
    }

    const priorDeps = inst.deps.map((d) => this.plan.get(d)).filter((p): p is PlannedInstance => p !== undefined && p.task === inst.task);
    const first = priorDeps[0];
    if (first !== undefined) {
      job.prior = outputsOf(priorDeps.map((p) => p.id)).filter((o) => o.dataset.startsWith('stage:'));
      if (job.prior.length === 0 && first.rounds > 1) {
        // Rounds after convergence were skipped without outputs: the last round that ran holds them.
        const all = this.stageInstances.get(`${first.task}.${first.stage}`) ?? [];
        for (let r = first.round - 1; r >= 1 && job.prior.length === 0; r--) {
          job.prior = outputsOf(all.filter((p) => p.round === r).map((p) => p.id)).filter((o) => o.dataset.startsWith('stage:'));
        }
      }
    }

    // Earlier stages by name; for iterative ones, the last round that produced outputs.
    const byStage = new Map<string, PlannedInstance[]>();
    for (const p of this.earlierStageInstances(inst)) {
      const list = byStage.get(p.stage);
      if (list === undefined) byStage.set(p.stage, [p]);
      else list.push(p);
    }
    for (const [stage, list] of byStage) {
      const maxRound = Math.max(...list.map((p) => p.round));
      let outs: CommittedOutput[] = [];
      for (let r = maxRound; r >= 1 && outs.length === 0; r--) {
        outs = outputsOf(list.filter((p) => p.round === r).map((p) => p.id)).filter((o) => o.dataset.startsWith('stage:'));
      }
      job.stages[stage] = outs;
    }

    task.inputs.forEach((name, i) => {
      const ds = this.record.dag.datasets[name];
      if (ds === undefined) throw new DagctlError('DATASET_NOT_FOUND', `no dataset ${name}`);
      let files: FileEntry[];
      if (ds.producer === undefined) {
        files = this.record.sources[name] ?? [];
        if (i === 0 && inst.partition !== '' && inst.bucket < 0 && ds.partitionBy === 'date') files = files.filter((f) => f.partition === inst.partition);
      } else {
        const pipelined = i === 0 && inst.partition !== '' && inst.bucket < 0 ? inst.deps.filter((d) => this.plan.get(d)?.task === ds.producer && this.plan.get(d)?.kind === 'work') : [];
        const from = pipelined.length > 0 ? pipelined : (this.finals.get(ds.producer) ?? []).map((p) => p.id);
        files = sortFiles(outputsOf(from).filter((o) => o.dataset === name).flatMap((o) => o.files));
      }
      const uri = ds.producer === undefined ? (this.record.sourceRoots?.[name] ?? ds.uri) : ds.uri;
      job.inputs.push({ dataset: name, uri, format: ds.format, files });
    });
    return job;
  }
}

/** --rerun-from T: T and every task downstream of it. */
export function forcedTasks(record: RunRecord): Set<string> {
  const from = record.options.rerunFrom;
  const out = new Set<string>();
  if (from === undefined) return out;
  out.add(from);
  let grew = true;
  while (grew) {
    grew = false;
    for (const t of record.dag.tasks) {
      if (out.has(t.name)) continue;
      const ups = [...t.dependsOn, ...t.inputs.map((i) => record.dag.datasets[i]?.producer).filter((p): p is string => p !== undefined)];
      if (ups.some((u) => out.has(u))) {
        out.add(t.name);
        grew = true;
      }
    }
  }
  return out;
}

function sortFiles(files: FileEntry[]): FileEntry[] {
  return [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
