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
 * (seenTest). The state is then O(topic partitions) for ingested datasets, whatever the number
 * of batches.
 *
 * Compaction of other markers (compactFloors; `dagctl gen` markers, a DAG's outputs as another's
 * source): their keys carry no order, but the store stamps each object's lastModified, and a
 * marker is listed within FLOOR_SETTLE_MS of its stamp (a create-only write that completes). So
 * once every marker of a dataset stamped before T = now − FLOOR_SETTLE_MS has been given a run,
 * the state keeps `floors[<dataset>] = { before: T, count }` (how many such markers there were)
 * instead of their keys: a marker stamped before `before` is seen. Markers are never deleted, so
 * the count proves the assumption at every poll (checkFloors): more markers stamped before
 * `before` than `count` means one appeared late, which the floor cannot tell from the seen ones —
 * TRIGGER_LATE_COMMIT, no run, rather than a commit run twice or never. Unmarked files (`path@etag`)
 * stay listed: a copy that keeps its mtime (cp -p, rsync -t) is stamped in the past by design.
 * Listed keys are then O(markers of the last FLOOR_SETTLE_MS) + O(unmarked files).
 */
import { DagctlError } from '../../core/errors.js';
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
  /** How many commits were folded into marks or floors (for counts: seenCount). */
  folded?: number;
  /** Per trigger dataset: every marker (not an ingest one) stamped before `before` was given a run; there were `count`. */
  floors?: Record<string, CommitFloor>;
  lastFireAt?: number;
  inflight?: TriggerFire;
}

export interface CommitFloor {
  before: number;
  count: number;
}

/** How long after its lastModified a marker may first be listed (module comment). */
export const FLOOR_SETTLE_MS = 5 * 60_000;

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

/** A commit floors can cover: a marker (not an ingest one: marks cover those) with a stamp. */
function floorable(c: SourceCommit): c is SourceCommit & { lastModified: number } {
  return c.id.startsWith('_commits/') && c.lastModified !== undefined && ingestRange(`x:${c.id}`) === null;
}

/**
 * Whether a commitKey was given a run under this state: listed, under its partition's mark, or a
 * marker of `dataset` stamped before its floor (`commit` given: decideTrigger, the service).
 */
export function seenTest(st: TriggerState): (key: string, commit?: { dataset: string; c: SourceCommit }) => boolean {
  const listed = new Set(st.seen);
  return (key, commit) => {
    if (listed.has(key)) return true;
    const r = ingestRange(key);
    const mark = r === null ? undefined : st.marks?.[r.group];
    if (r !== null) return mark !== undefined && r.last <= mark;
    const floor = commit === undefined ? undefined : st.floors?.[commit.dataset];
    return floor !== undefined && commit !== undefined && floorable(commit.c) && commit.c.lastModified < floor.before;
  };
}

/** How many commits were given runs. */
export function seenCount(st: TriggerState): number {
  return st.seen.length + (st.folded ?? 0);
}

/** How many of a dataset's commits its floor covers: the markers stamped before `floor.before` (checkFloors, acceptLateCommits). */
export function floorCount(floor: CommitFloor, commits: readonly SourceCommit[]): number {
  return commits.filter((c) => floorable(c) && c.lastModified < floor.before).length;
}

/** TRIGGER_LATE_COMMIT when a dataset's markers stamped before its floor are not the ones counted (module comment). */
export function checkFloors(dag: string, st: TriggerState, commits: Readonly<Record<string, readonly SourceCommit[]>>): void {
  for (const [dataset, floor] of Object.entries(st.floors ?? {})) {
    const cs = commits[dataset];
    if (cs === undefined) continue;
    const n = floorCount(floor, cs);
    if (n !== floor.count) {
      throw new DagctlError(
        'TRIGGER_LATE_COMMIT',
        `${dag}: dataset ${dataset} has ${n} commit markers stamped before ${new Date(floor.before).toISOString()}, its trigger state counted ${floor.count}: a marker was listed later than the settle time (--trigger-settle) after its stamp, or one was deleted, and the trigger cannot tell it from the ones already run. No run is started; check the dataset's _commits/, then either \`dagctl trigger-reset FILE --accept-late\` (the late marker counts as run: no run for it) or \`dagctl trigger-reset FILE\` (the DAG's trigger state removed: every commit is given one run again), with --redis URL for a distributed scheduler`,
        { dag, dataset, before: floor.before, counted: floor.count, found: n },
      );
    }
  }
}

/**
 * Whether an operator may rewrite the DAG's trigger state (`dagctl trigger-reset`, not fenced):
 * only while the scheduler writes nothing for it — stopped on TRIGGER_LATE_COMMIT (checkFloors
 * throws for these commits) with no fire in flight (a fire's completion is a read-then-write that
 * would overwrite the reset, and a reset dropping `inflight` would give its commits a second run).
 * Otherwise TRIGGER_RESET_REFUSED (`--force` overrides).
 */
export function checkTriggerReset(dag: string, st: TriggerState, commits: Readonly<Record<string, readonly SourceCommit[]>>): void {
  const refuse = (why: string, details: Record<string, unknown>): never => {
    throw new DagctlError('TRIGGER_RESET_REFUSED', `${dag}: ${why}; trigger-reset only rewrites the state of a DAG whose trigger is stopped on TRIGGER_LATE_COMMIT with no fire in flight (the write is not fenced against a running scheduler). Stop the schedulers of this DAG and add --force to override`, { dag, ...details });
  };
  if (st.inflight !== undefined) refuse(`a fire is in flight (run ${st.inflight.runId}): its commits would be run twice`, { inflight: st.inflight.runId });
  try {
    checkFloors(dag, st, commits);
  } catch (e) {
    if (e instanceof DagctlError && e.code === 'TRIGGER_LATE_COMMIT') return;
    throw e;
  }
  refuse('its trigger is not stopped on TRIGGER_LATE_COMMIT (every floor matches the markers listed now): a running scheduler may be writing its state', {});
}

/**
 * Recovery from TRIGGER_LATE_COMMIT by accepting what is listed now (`dagctl trigger-reset
 * --accept-late`): each dataset whose floor count differs gets the count found, so the marker(s)
 * that appeared late count as given a run (no run for them). The changed floors; none: `st` as is.
 */
export function acceptLateCommits(st: TriggerState, commits: Readonly<Record<string, readonly SourceCommit[]>>): { state: TriggerState; changed: Array<{ dataset: string; counted: number; found: number }> } {
  const floors: Record<string, CommitFloor> = { ...st.floors };
  const changed: Array<{ dataset: string; counted: number; found: number }> = [];
  for (const [dataset, floor] of Object.entries(st.floors ?? {})) {
    const cs = commits[dataset];
    if (cs === undefined) continue;
    const found = floorCount(floor, cs);
    if (found === floor.count) continue;
    floors[dataset] = { before: floor.before, count: found };
    changed.push({ dataset, counted: floor.count, found });
  }
  if (changed.length === 0) return { state: st, changed };
  const folded = (st.folded ?? 0) + changed.reduce((a, c) => a + c.found - c.counted, 0);
  return { state: { ...st, floors, folded: Math.max(0, folded) }, changed };
}

/**
 * The state with its floors raised to now − settleMs (each dataset's floor stops below its
 * oldest unseen marker) and the keys they cover dropped from `seen`; null when nothing changes.
 * Equivalent to `st` for every commit listed in `commits` (taken after `now`). Not while a fire is
 * inflight. Checks the present floors first (checkFloors): raising a floor over a late marker
 * would count it as seen.
 */
export function compactFloors(dag: string, st: TriggerState, commits: Readonly<Record<string, readonly SourceCommit[]>>, now: number, settleMs = FLOOR_SETTLE_MS): TriggerState | null {
  checkFloors(dag, st, commits);
  if (st.inflight !== undefined) return null;
  const isSeen = seenTest(st);
  const floors: Record<string, CommitFloor> = { ...st.floors };
  const drop = new Set<string>();
  for (const [dataset, cs] of Object.entries(commits)) {
    const marked = cs.filter(floorable);
    let before = now - settleMs;
    for (const c of marked) if (c.lastModified < before && !isSeen(commitKey(dataset, c.id), { dataset, c })) before = c.lastModified;
    const old = floors[dataset];
    if (old !== undefined && before <= old.before) continue;
    const covered = marked.filter((c) => c.lastModified < before);
    if (covered.length === 0) continue;
    floors[dataset] = { before, count: covered.length };
    for (const c of covered) drop.add(commitKey(dataset, c.id));
  }
  const seen = st.seen.filter((k) => !drop.has(k));
  if (seen.length === st.seen.length && Object.keys(floors).every((d) => floors[d] === st.floors?.[d])) return null;
  return { ...st, seen, floors, folded: (st.folded ?? 0) + (st.seen.length - seen.length) };
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
  if (Object.keys(marks).length > 0) out.marks = marks;
  if (folded > 0 || st.folded !== undefined) out.folded = folded;
  return out;
}

export function decideTrigger(a: DecideTriggerArgs): TriggerDecision {
  checkFloors(a.dag, a.state, a.commits);
  const isSeen = seenTest(a.state);
  const fresh: { key: string; dataset: string; c: SourceCommit }[] = [];
  for (const t of a.triggers) for (const c of a.commits[t.dataset] ?? []) {
    const key = commitKey(t.dataset, c.id);
    if (!isSeen(key, { dataset: t.dataset, c })) fresh.push({ key, dataset: t.dataset, c });
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
  const { seen, marks, folded, floors } = markSeen(st, fire.commits);
  return { seen, ...(marks !== undefined || folded !== undefined ? { folded: folded ?? 0 } : {}), ...(marks !== undefined ? { marks } : {}), ...(floors !== undefined ? { floors } : {}), lastFireAt: fire.at };
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
