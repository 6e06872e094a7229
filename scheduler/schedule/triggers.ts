/**
 * Data triggers (`triggers:` in a DAG file): new commits to a source dataset start a run, exactly
 * once per commit. Pure decisions here; the service (service.ts) does the I/O through its ports.
 *
 *   commitKey(dataset, commitId)    a commit's identity across the DAG's triggers;
 *   decideTrigger({...})            fire now, or wait (and until when, and why):
 *       nothing new                 → wait ('no new commits');
 *       only commits without data files (an ingest batch of rejects only) → 'empty': marked seen,
 *                                     no run (nothing a run could read changed);
 *       a run of the DAG unfinished → wait: what lands meanwhile is batched into the next run;
 *       minInterval since the last fire not over, or a new commit seen less than `debounce` ago
 *                                   → wait until then;
 *       else fire: every new commit of every trigger in one run, ${run.changedPartitions} the union
 *       of their date partitions.
 *   triggerRunId(dag, at, commits)  the run's id: <dag>-<at>-<6 hex of the commit set>.
 *   withNewData(dag, fire)          the DAG a fire's run executes: each trigger's `newData` source
 *       replaced by the trigger dataset (same URI, format, schema) read at the fire's changed date
 *       partitions only — the new batch of a partial recomputation. A trigger whose dataset has no
 *       commit in the fire gives an empty newData (allowEmpty). The partitions are the union over
 *       the fire's datasets: a superset of what changed in each, which a partial recomputation
 *       (recompute every key the batch names, from the whole master) absorbs.
 *
 * Exactly once: the state (TriggerState, persisted by the ScheduleState port, fenced in Redis) is
 * the set of commits already given to a run. A fire is first written as `inflight` (its run id,
 * time and commit set), then its run is created (idempotent: the id is fixed by the intent), then
 * its commits join `seen` and the intent is cleared. A scheduler that dies anywhere in between
 * leaves either no intent (nothing happened: the commits are still new) or the intent, which the
 * next leader completes with the same run id — so a commit never gets two runs, nor none.
 *
 * Compaction (markSeen): `seen` does not grow with every micro-batch. An `ingest kafka` marker's
 * key names its topic partition and offset range (`_commits/ingest-<topic>-p<N>-<first>-<last>@…`),
 * and one partition's markers are written in offset order (ingest/offsets.ts: a partition resumes
 * at its first uncommitted offset or its pending claim, never below what a marker covers). So a
 * seen ingest marker is folded into `marks[<dataset>:…ingest-<topic>-p<N>]` = the highest last
 * offset seen, and a marker is seen iff listed in `seen` or its last offset ≤ its partition's mark
 * (seenTest). Other commits (gen markers, unmarked files) stay listed. The state is then O(topic
 * partitions) for ingested datasets, whatever the number of batches.
 */
import { fingerprint } from '../../core/hash.js';
import type { SourceCommit } from '../../storage/dataset/source.js';
import type { DagSpec, TriggerSpec } from '../../definitions/types.js';

export interface TriggerFire {
  runId: string;
  /** When the fire was decided (ms): the run's interval end and the time in its id. */
  at: number;
  /** The previous fire's time: the run's interval start (= at for the first). */
  prevAt: number;
  /** commitKey()s, sorted. */
  commits: string[];
  /** Source datasets with new commits, sorted. */
  datasets: string[];
  /** Union of the commits' date partitions, sorted. */
  partitions: string[];
  /** Newest and oldest committedAt of the commits (ms), when known: trigger latency. */
  committedAt?: number[];
}

export interface TriggerState {
  /** commitKey()s already given to a run (except ingest markers folded into marks). */
  seen: string[];
  /** Per ingest topic partition (`<dataset>:_commits/ingest-<topic>-p<N>`): highest last offset given to a run. */
  marks?: Record<string, number>;
  /** How many commits were folded into marks (for counts: seenCount). */
  folded?: number;
  lastFireAt?: number;
  inflight?: TriggerFire;
}

export type TriggerDecision =
  | { action: 'fire'; fire: TriggerFire }
  /** Every new commit adds no data file (e.g. an ingest batch of rejects only): seen, no run. */
  | { action: 'empty'; commits: string[] }
  | { action: 'wait'; reason: string; until?: number; pending: number };

export function commitKey(dataset: string, id: string): string {
  return `${dataset}:${id}`;
}

export function triggerRunId(dag: string, at: number, commits: readonly string[]): string {
  const ts = new Date(at).toISOString().replace(/[-:.]/g, '');
  return `${dag}-${ts}-${fingerprint({ dag, commits: [...commits].sort() }).slice(0, 6)}`;
}

export interface DecideTriggerArgs {
  dag: string;
  triggers: readonly TriggerSpec[];
  /** Per trigger dataset: its commits now (storage/dataset/source.ts listSourceCommits). */
  commits: Readonly<Record<string, readonly SourceCommit[]>>;
  state: TriggerState;
  now: number;
  /** When this process first saw each new commitKey (debounce). */
  firstSeen: ReadonlyMap<string, number>;
  /** The DAG's runs not finished. */
  unfinished: number;
}

const INGEST_KEY = /^(.+?:_commits\/ingest-.+-p\d+)-(\d+)-(\d+)@[0-9a-f]{16}\.json$/;

/** An ingest marker's commitKey → its topic partition group and last offset; null for other commits. */
export function ingestRange(key: string): { group: string; last: number } | null {
  const m = INGEST_KEY.exec(key);
  return m === null ? null : { group: m[1] as string, last: Number(m[3]) };
}

/** Whether a commitKey was given a run under this state (listed, or under its partition's mark). */
export function seenTest(st: TriggerState): (key: string) => boolean {
  const listed = new Set(st.seen);
  return (key) => {
    if (listed.has(key)) return true;
    const r = ingestRange(key);
    const mark = r === null ? undefined : st.marks?.[r.group];
    return r !== null && mark !== undefined && r.last <= mark;
  };
}

/** How many commits were given runs. */
export function seenCount(st: TriggerState): number {
  return st.seen.length + (st.folded ?? 0);
}

/** The state with these commits seen, compacted: ingest markers (new or already listed) folded into marks. */
export function markSeen(st: TriggerState, keys: readonly string[]): TriggerState {
  const isSeen = seenTest(st);
  const listed = new Set(st.seen);
  const marks: Record<string, number> = { ...st.marks };
  let folded = st.folded ?? 0;
  const seen: string[] = [];
  for (const k of new Set([...st.seen, ...keys])) {
    const r = ingestRange(k);
    if (r === null) {
      seen.push(k);
      continue;
    }
    if (!isSeen(k) || listed.has(k)) folded++;
    marks[r.group] = Math.max(marks[r.group] ?? -1, r.last);
  }
  const out: TriggerState = { ...st, seen: seen.sort() };
  if (Object.keys(marks).length > 0) {
    out.marks = marks;
    out.folded = folded;
  }
  return out;
}

export function decideTrigger(a: DecideTriggerArgs): TriggerDecision {
  const isSeen = seenTest(a.state);
  const fresh: { key: string; dataset: string; c: SourceCommit }[] = [];
  for (const t of a.triggers) for (const c of a.commits[t.dataset] ?? []) {
    const key = commitKey(t.dataset, c.id);
    if (!isSeen(key)) fresh.push({ key, dataset: t.dataset, c });
  }
  if (fresh.length === 0) return { action: 'wait', reason: 'no new commits', pending: 0 };
  if (fresh.every((f) => f.c.files === 0)) return { action: 'empty', commits: fresh.map((f) => f.key).sort() };
  const pending = fresh.length;
  if (a.unfinished > 0) return { action: 'wait', reason: `${pending} new commit(s) wait for the DAG's unfinished run`, pending };
  let until = a.now;
  for (const t of a.triggers) {
    const mine = fresh.filter((f) => f.dataset === t.dataset);
    if (mine.length === 0) continue;
    if (a.state.lastFireAt !== undefined) until = Math.max(until, a.state.lastFireAt + t.minIntervalMs);
    const newest = Math.max(...mine.map((f) => a.firstSeen.get(f.key) ?? a.now));
    until = Math.max(until, newest + t.debounceMs);
  }
  if (until > a.now) return { action: 'wait', reason: `${pending} new commit(s); minInterval/debounce: fires at ${new Date(until).toISOString()}`, until, pending };
  const commits = fresh.map((f) => f.key).sort();
  const partitions = [...new Set(fresh.flatMap((f) => f.c.partitions))].sort();
  const datasets = [...new Set(fresh.map((f) => f.dataset))].sort();
  const fire: TriggerFire = { runId: triggerRunId(a.dag, a.now, commits), at: a.now, prevAt: a.state.lastFireAt ?? a.now, commits, datasets, partitions };
  const times = fresh.map((f) => f.c.committedAt).filter((x): x is number => x !== undefined);
  if (times.length > 0) fire.committedAt = [Math.max(...times), Math.min(...times)];
  return { action: 'fire', fire };
}

/** The state after a fire's run exists: its commits seen, its time the last fire, no intent. */
export function completeFire(st: TriggerState, fire: TriggerFire): TriggerState {
  const { seen, marks, folded } = markSeen(st, fire.commits);
  return { seen, ...(marks !== undefined ? { marks, folded: folded ?? 0 } : {}), lastFireAt: fire.at };
}

export function withNewData(dag: DagSpec, fire: TriggerFire): DagSpec {
  const subs = (dag.triggers ?? []).filter((t) => t.newData !== undefined);
  if (subs.length === 0) return dag;
  const datasets = { ...dag.datasets };
  for (const t of subs) {
    const src = dag.datasets[t.dataset];
    const name = t.newData as string;
    if (src === undefined || dag.datasets[name] === undefined) continue; // validation names both
    const changed = fire.datasets.includes(t.dataset);
    datasets[name] = { ...src, name, partitions: changed ? [...fire.partitions] : [], ...(changed ? {} : { allowEmpty: true }) };
  }
  return { ...dag, datasets };
}
