/**
 * Data triggers (`triggers:`): the spec (BAD_TRIGGER / BAD_PARTITIONS at file:line, resolution,
 * ${run.changedPartitions}), the pure decision (minInterval, debounce, a run unfinished), and the
 * scheduler service over the real embedded run path with an injected clock: committed master data
 * (commit markers, `dagctl gen`'s writer) starts exactly one run per new commit set, the run reads
 * only the changed partitions as its new batch (partial recomputation), commits landing while a run
 * is unfinished are batched into the next run, a restarted scheduler repeats nothing, and a fire
 * decided by a scheduler that died before creating its run is completed with the same run id.
 * Oracle: the partial view equals the full recomputation of the same DAG, row for row.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isDagctlError } from '../../core/errors.js';
import { generate } from '../../gen/generate.js';
import type { RunSummary } from '../../scheduler/ports.js';
import { DagCatalog } from '../../scheduler/schedule/catalog.js';
import { EmbeddedLauncher } from '../../scheduler/schedule/embedded-launcher.js';
import { SchedulerService } from '../../scheduler/schedule/service.js';
import { createTriggerRun } from '../../scheduler/schedule/launch.js';
import { decodeTriggerState, LocalScheduleState } from '../../scheduler/schedule/state.js';
import { acceptLateCommits, checkFloors, checkTriggerReset, compactFloors, completeFire, floorCount, decideTrigger, FLOOR_SETTLE_MS, ingestRange, markSeen, seenCount, seenTest, triggerRunId, withNewData, type TriggerState } from '../../scheduler/schedule/triggers.js';
import type { SourceCommit } from '../../storage/dataset/source.js';
import { LocalRunStore } from '../../scheduler/stores/local-run-store.js';
import { listSourceCommits } from '../../storage/dataset/source.js';
import { openObjectStore } from '../../storage/open.js';
import { validateDagText } from '../../definitions/validate.js';
import { viewRows } from '../integration/support.js';
import { dagText } from '../definitions/support/dag-text.js';
import { testOperators } from '../definitions/support/operators.js';
import { until } from '../helpers/until.js';
import { runCli } from '../definitions/support/cli-io.js';

const check = (body: string, changedPartitions?: string[]) =>
  validateDagText(dagText(body), '/dags/trig.yaml', { operators: testOperators, ...(changedPartitions !== undefined ? { changedPartitions } : {}) });

const SRC = `datasets:
  master: { uri: /data/master, partitionBy: date }
  fresh: { uri: /data/master, partitionBy: date, partitions: "\${run.changedPartitions}" }
  out: { uri: /data/out }
tasks:
  - { name: a, operator: test-io, inputs: [master, fresh], outputs: [out] }
`;

describe('spec: triggers', () => {
  it('resolves triggers and a dataset\'s partitions from ${run.changedPartitions}', () => {
    const r = check(`triggers:\n  - { dataset: master, minInterval: 5s, debounce: 500ms }\n${SRC}`, ['2024-03-02', '2024-03-01']);
    assert.deepEqual(r.issues.filter((i) => i.severity === 'error'), []);
    assert.deepEqual(r.dag?.triggers, [{ dataset: 'master', minIntervalMs: 5000, debounceMs: 500 }]);
    assert.deepEqual(r.dag?.datasets.fresh?.partitions, ['2024-03-01', '2024-03-02']);
    assert.equal(r.dag?.usesRunVars, true);
  });

  it('BAD_TRIGGER at file:line: unknown dataset, a dataset a task writes, twice the same, a bad duration, ${run.changedPartitions} without triggers', () => {
    const codes = (body: string) => check(body).issues.filter((i) => i.severity === 'error').map((i) => [i.code, i.line, i.path]);
    assert.deepEqual(codes(`triggers:\n  - { dataset: nope }\n${SRC}`), [['BAD_TRIGGER', 6, 'triggers[0].dataset']]);
    assert.deepEqual(codes(`triggers:\n  - { dataset: out }\n${SRC}`), [['BAD_TRIGGER', 6, 'triggers[0].dataset']]);
    assert.deepEqual(codes(`triggers:\n  - { dataset: master }\n  - { dataset: master }\n${SRC}`), [['BAD_TRIGGER', 7, 'triggers[1].dataset']]);
    assert.deepEqual(codes(`triggers:\n  - dataset: master\n    debounce: soon\n${SRC}`), [['BAD_TRIGGER', 7, 'triggers[0].debounce']]);
    assert.deepEqual(check(SRC).issues.filter((i) => i.severity === 'error').map((i) => i.code), ['BAD_TRIGGER']);
    assert.deepEqual(check(`triggers:\n  - { dataset: master, extra: 1 }\n${SRC}`).issues.filter((i) => i.severity === 'error').map((i) => i.code), ['SCHEMA_INVALID']);
  });

  it('newData: a triggered run reads that source as the trigger dataset\'s changed partitions; `dagctl run` as declared; BAD_TRIGGER when it cannot', () => {
    const NEW = `datasets:\n  master: { uri: /data/master, partitionBy: date, schema: { a: string } }\n  flat: { uri: /data/flat }\n  batch: { uri: /data/incoming }\n  out: { uri: /data/out }\ntasks:\n  - { name: a, operator: test-io, inputs: [master, batch, flat], outputs: [out] }\n`;
    const r = check(`triggers:\n  - { dataset: master, newData: batch }\n${NEW}`);
    assert.deepEqual(r.issues.filter((i) => i.severity === 'error'), []);
    const dag = r.dag;
    assert.ok(dag !== undefined);
    assert.deepEqual(dag.triggers, [{ dataset: 'master', minIntervalMs: 0, debounceMs: 0, newData: 'batch' }]);
    assert.equal(dag.usesRunVars, undefined, 'a manual run is still possible');
    assert.equal(dag.datasets.batch?.uri, 'file:///data/incoming');
    const fire = { runId: 'x', at: 1, prevAt: 0, commits: ['master:k'], datasets: ['master'], partitions: ['2024-03-02'] };
    const t = withNewData(dag, fire);
    assert.deepEqual(t.datasets.batch, { ...dag.datasets.master, name: 'batch', partitions: ['2024-03-02'] });
    assert.deepEqual(dag.datasets.batch?.uri, 'file:///data/incoming', 'the resolved DAG itself is not changed');
    assert.deepEqual(withNewData(dag, { ...fire, datasets: ['other'] }).datasets.batch, { ...dag.datasets.master, name: 'batch', partitions: [], allowEmpty: true });
    const codes = (trig: string) => check(`triggers:\n  ${trig}\n${NEW}`).issues.filter((i) => i.severity === 'error').map((i) => [i.code, i.line, i.path]);
    assert.deepEqual(codes('- { dataset: master, newData: nope }'), [['BAD_TRIGGER', 6, 'triggers[0].newData']]);
    assert.deepEqual(codes('- { dataset: master, newData: out }'), [['BAD_TRIGGER', 6, 'triggers[0].newData']]);
    assert.deepEqual(codes('- { dataset: master, newData: master }'), [['BAD_TRIGGER', 6, 'triggers[0].newData']]);
    assert.deepEqual(codes('- { dataset: flat, newData: batch }'), [['BAD_TRIGGER', 6, 'triggers[0].newData']]);
    assert.deepEqual(codes('- { dataset: master, newData: batch }\n  - { dataset: flat, newData: batch }'), [['BAD_TRIGGER', 7, 'triggers[1].newData']]);
  });

  it('BAD_PARTITIONS: not a date-partitioned source, not a date', () => {
    const body = (ds: string) => `datasets:\n  master: { uri: /data/master, partitionBy: date }\n  ${ds}\n  out: { uri: /data/out }\ntasks:\n  - { name: a, operator: test-io, inputs: [master, x], outputs: [out] }\n`;
    const codes = (ds: string) => check(body(ds)).issues.filter((i) => i.severity === 'error').map((i) => [i.code, i.path]);
    assert.deepEqual(codes('x: { uri: /data/x, partitions: "2024-03-01" }'), [['BAD_PARTITIONS', 'datasets.x.partitions']]);
    assert.deepEqual(codes('x: { uri: /data/x, partitionBy: date, partitions: "2024-03-01,March" }'), [['BAD_PARTITIONS', 'datasets.x.partitions']]);
    assert.deepEqual(codes('x: { uri: /data/x, partitionBy: date, partitions: "2024-03-01, 2024-03-02" }'), []);
  });
});

describe('data trigger decision', () => {
  const T = Date.parse('2026-06-01T00:00:00Z');
  const trig = [{ dataset: 'm', minIntervalMs: 10_000, debounceMs: 1_000 }];
  const commits = { m: [{ id: 'c1', partitions: ['2024-03-01'], files: 1 }, { id: 'c2', partitions: ['2024-03-02', '2024-03-01'], files: 2 }] };
  const st: TriggerState = { seen: ['m:c1'], lastFireAt: T - 20_000 };
  it('fires for the new commits only, with their partitions; waits for debounce, minInterval and an unfinished run', () => {
    const seen = new Map([['m:c2', T - 5_000]]);
    const d = decideTrigger({ dag: 'x', triggers: trig, commits, state: st, now: T, firstSeen: seen, unfinished: 0 });
    assert.equal(d.action, 'fire');
    if (d.action !== 'fire') return;
    assert.deepEqual(d.fire.commits, ['m:c2']);
    assert.deepEqual(d.fire.partitions, ['2024-03-01', '2024-03-02']);
    assert.equal(d.fire.runId, triggerRunId('x', T, ['m:c2']));
    assert.equal(d.fire.prevAt, T - 20_000);
    const bounced = decideTrigger({ dag: 'x', triggers: trig, commits, state: st, now: T, firstSeen: new Map([['m:c2', T - 500]]), unfinished: 0 });
    assert.deepEqual([bounced.action, bounced.action === 'wait' ? bounced.until : 0], ['wait', T + 500]);
    const limited = decideTrigger({ dag: 'x', triggers: trig, commits, state: { ...st, lastFireAt: T - 4_000 }, now: T, firstSeen: seen, unfinished: 0 });
    assert.deepEqual([limited.action, limited.action === 'wait' ? limited.until : 0], ['wait', T + 6_000]);
    const busy = decideTrigger({ dag: 'x', triggers: trig, commits, state: st, now: T, firstSeen: seen, unfinished: 1 });
    assert.deepEqual([busy.action, busy.action === 'wait' ? busy.pending : 0], ['wait', 1]);
    const none = decideTrigger({ dag: 'x', triggers: trig, commits, state: { seen: ['m:c1', 'm:c2'] }, now: T, firstSeen: seen, unfinished: 0 });
    assert.equal(none.action, 'wait');
    // A commit that adds no data file (a batch of rejects only) is seen without a run.
    const empty = decideTrigger({ dag: 'x', triggers: trig, commits: { m: [...commits.m, { id: 'c3', partitions: [], files: 0 }] }, state: { seen: ['m:c1', 'm:c2'] }, now: T, firstSeen: seen, unfinished: 0 });
    assert.deepEqual(empty, { action: 'empty', commits: ['m:c3'] });
  });
});

describe('trigger state compaction (ingest markers folded into per-partition marks)', () => {
  const fp = 'a1b2c3d4e5f60718';
  const key = (p: number, first: number, last: number, topic = 'pv-p9'): string => `pv:_commits/ingest-${topic}-p${p}-${first}-${last}@${fp}.json`;
  it('parses only ingest marker keys (a topic that itself ends in -pN included)', () => {
    assert.deepEqual(ingestRange(key(1, 100, 199)), { group: 'pv:_commits/ingest-pv-p9-p1', last: 199 });
    assert.equal(ingestRange('pv:_commits/gen-pageviews-2024-03-01-7@0123456789abcdef.json'), null);
    assert.equal(ingestRange('pv:date=2024-03-01/part-0.parquet@"etag"'), null);
  });
  it('the state stays O(partitions) over many batches; seen commits stay seen, new ones stay new, counts kept', () => {
    let st: TriggerState = { seen: ['pv:other@x'] };
    let given = 1;
    // 200 fires of one batch per partition (3 partitions): 600 markers given runs.
    for (let i = 0; i < 200; i++) {
      const keys = [0, 1, 2].map((p) => key(p, i * 10, i * 10 + 9));
      st = completeFire(st, { runId: `r${i}`, at: i, prevAt: i, commits: keys, datasets: ['pv'], partitions: [] });
      given += keys.length;
    }
    assert.deepEqual(st.seen, ['pv:other@x']);
    assert.deepEqual(st.marks, { 'pv:_commits/ingest-pv-p9-p0': 1999, 'pv:_commits/ingest-pv-p9-p1': 1999, 'pv:_commits/ingest-pv-p9-p2': 1999 });
    assert.equal(seenCount(st), given);
    assert.ok(JSON.stringify(st).length < 400, JSON.stringify(st));
    const isSeen = seenTest(st);
    assert.ok(isSeen(key(1, 0, 9)) && isSeen(key(2, 1990, 1999)) && isSeen('pv:other@x'));
    assert.ok(!isSeen(key(1, 2000, 2009)) && !isSeen(key(3, 0, 9)) && !isSeen(key(0, 0, 9, 'other')) && !isSeen('pv:new@y'));
    // The decision sees exactly the new batches as new.
    const commits = { pv: [0, 1, 2].flatMap((p) => [{ id: key(p, 1990, 1999).slice(3), partitions: ['2024-03-01'], files: 1 }, { id: key(p, 2000, 2004).slice(3), partitions: ['2024-03-02'], files: 1 }]) };
    const d = decideTrigger({ dag: 'x', triggers: [{ dataset: 'pv', minIntervalMs: 0, debounceMs: 0 }], commits, state: st, now: 5_000, firstSeen: new Map(), unfinished: 0 });
    assert.equal(d.action, 'fire');
    if (d.action !== 'fire') return;
    assert.deepEqual(d.fire.commits, [0, 1, 2].map((p) => key(p, 2000, 2004)));
    assert.deepEqual(d.fire.partitions, ['2024-03-02']);
    // A state written before compaction (every key listed) folds on its next write, counts kept;
    // marking an already-covered commit again counts it once.
    const old: TriggerState = { seen: [key(0, 0, 9), key(0, 10, 19), 'pv:other@x'] };
    const now = markSeen(old, [key(0, 20, 29), key(0, 10, 19)]);
    assert.deepEqual([now.seen, now.marks, seenCount(now)], [['pv:other@x'], { 'pv:_commits/ingest-pv-p9-p0': 29 }, 4]);
    assert.equal(seenCount(markSeen(now, [key(0, 0, 9)])), 4);
  });
  it('a stored state round-trips; a corrupt marks is refused (dropping it would run folded commits again)', () => {
    const st = markSeen({ seen: [] }, [key(0, 0, 9)]);
    assert.deepEqual(decodeTriggerState(JSON.stringify(st)), st);
    assert.throws(() => decodeTriggerState(JSON.stringify({ seen: [], marks: { a: 'x' } })), (e: unknown) => isDagctlError(e, 'RUN_STATE_INVALID'));
  });
});

describe('trigger state compaction (other markers folded into per-dataset floors)', () => {
  const T0 = Date.parse('2026-06-01T00:00:00Z');
  const trig = [{ dataset: 'ages', minIntervalMs: 0, debounceMs: 0 }];
  /** A gen marker stamped at T0 + i s (ids carry no order: a hash-like suffix). */
  const gen = (i: number): SourceCommit => ({ id: `_commits/gen-ages-${String(1000 + ((i * 7919) % 1000)).padStart(4, '0')}-${i}@0123456789abcdef.json`, partitions: ['2024-03-01'], files: 1, lastModified: T0 + i * 1000 });
  const fireAll = (st: TriggerState, commits: SourceCommit[], now: number): { st: TriggerState; fired: string[] } => {
    const d = decideTrigger({ dag: 'x', triggers: trig, commits: { ages: commits }, state: st, now, firstSeen: new Map(), unfinished: 0 });
    if (d.action !== 'fire') return { st, fired: [] };
    return { st: completeFire({ ...st, inflight: d.fire }, d.fire), fired: d.fire.commits };
  };

  it('seen keys stay O(markers of the settle window); every marker runs once; a late one stops the trigger loudly', () => {
    let st: TriggerState = { seen: ['ages:date=2024-03-01/x.parquet@e1'] };
    const commits: SourceCommit[] = [];
    const ran = new Map<string, number>();
    // 600 markers, one per second, a poll (decide + compact) every 10 s.
    for (let i = 0; i < 600; i++) {
      commits.push(gen(i));
      if (i % 10 !== 9) continue;
      const now = T0 + i * 1000 + 500;
      const r = fireAll(st, commits, now);
      for (const k of r.fired) ran.set(k, (ran.get(k) ?? 0) + 1);
      st = compactFloors('x', r.st, { ages: commits }, now, 60_000) ?? r.st;
      assert.ok(st.seen.length <= 61 + 1, `bounded: ${st.seen.length} keys listed at marker ${i}`);
    }
    assert.equal(ran.size, 600);
    assert.ok([...ran.values()].every((n) => n === 1), 'no marker ran twice');
    assert.equal(seenCount(st), 601);
    assert.ok(st.seen.includes('ages:date=2024-03-01/x.parquet@e1'), 'unmarked files stay listed');
    const isSeen = seenTest(st);
    assert.ok(commits.every((c) => isSeen(`ages:${c.id}`, { dataset: 'ages', c })));
    assert.equal(fireAll(st, commits, T0 + 700_000).fired.length, 0, 'nothing new');
    // A new marker runs; the stored state round-trips with its floors.
    const fresh = gen(700);
    assert.deepEqual(fireAll(st, [...commits, fresh], T0 + 701_000).fired, [`ages:${fresh.id}`]);
    assert.deepEqual(decodeTriggerState(JSON.stringify(st)), st);
    assert.throws(() => decodeTriggerState(JSON.stringify({ ...st, floors: { ages: { before: 'x' } } })), (e: unknown) => isDagctlError(e, 'RUN_STATE_INVALID'));
    // A marker listed for the first time with a stamp under the floor: it cannot be told from the
    // ones already run, so no decision — TRIGGER_LATE_COMMIT (never a silent second run or none).
    const late = { ...gen(1000), lastModified: T0 + 5_500 };
    assert.throws(() => fireAll(st, [...commits, late], T0 + 702_000), (e: unknown) => isDagctlError(e, 'TRIGGER_LATE_COMMIT'));
    // Nor may compaction raise the floor over it (that would count it as seen).
    assert.throws(() => compactFloors('x', st, { ages: [...commits, late] }, T0 + 2_000_000, 60_000), (e: unknown) => isDagctlError(e, 'TRIGGER_LATE_COMMIT'));
    // One floor count (floorCount) for the check and its recovery: the floor's count off by the
    // late marker; accepting it makes the check pass, and a reset is refused once it passes.
    const floor = st.floors?.['ages'];
    assert.ok(floor !== undefined);
    const listed = [...commits, late];
    assert.equal(floorCount(floor, listed), floor.count + 1);
    assert.equal(floorCount(floor, [...listed, { id: 'date=2024-03-01/y.parquet@e2', partitions: ['2024-03-01'], files: 1, lastModified: T0 }]), floor.count + 1, 'unmarked files are not counted');
    assert.doesNotThrow(() => checkTriggerReset('x', st, { ages: listed }));
    const accepted = acceptLateCommits(st, { ages: listed });
    assert.deepEqual(accepted.changed, [{ dataset: 'ages', counted: floor.count, found: floor.count + 1 }]);
    assert.doesNotThrow(() => checkFloors('x', accepted.state, { ages: listed }));
    assert.throws(() => checkTriggerReset('x', accepted.state, { ages: listed }), (e: unknown) => isDagctlError(e, 'TRIGGER_RESET_REFUSED'));
    assert.throws(() => checkTriggerReset('x', { ...st, inflight: { runId: 'r', at: 0, prevAt: 0, commits: [], datasets: [], partitions: [] } }, { ages: listed }), (e: unknown) => isDagctlError(e, 'TRIGGER_RESET_REFUSED'));
  });

  it('a floor stops below the oldest marker not yet given a run; nothing folds while a fire is inflight', () => {
    const commits = Array.from({ length: 10 }, (_, i) => gen(i));
    const now = T0 + FLOOR_SETTLE_MS + 60_000;
    // Markers 0..9 seen except 4.
    const st: TriggerState = { seen: commits.filter((_, i) => i !== 4).map((c) => `ages:${c.id}`) };
    const c = compactFloors('x', st, { ages: commits }, now);
    assert.ok(c !== null);
    assert.deepEqual(c.floors, { ages: { before: T0 + 4000, count: 4 } });
    assert.equal(c.seen.length, 5);
    assert.equal(seenCount(c), 9);
    const d = decideTrigger({ dag: 'x', triggers: trig, commits: { ages: commits }, state: c, now, firstSeen: new Map(), unfinished: 0 });
    assert.deepEqual(d.action === 'fire' ? d.fire.commits : d, [`ages:${commits[4]?.id ?? ''}`]);
    const fire = { runId: 'r', at: now, prevAt: now, commits: [], datasets: [], partitions: [] };
    assert.equal(compactFloors('x', { ...st, inflight: fire }, { ages: commits }, now), null);
    assert.equal(compactFloors('x', c, { ages: commits }, now), null, 'already compact');
  });
});

const DAG = (name: string) => `apiVersion: dagctl/v1
kind: Dag
metadata: { name: ${name} }
params: { data: ./data }
defaults: { retries: 0, timeout: 2m }
triggers:
  - { dataset: ages }
datasets:
  ages: { uri: "\${params.data}/master/ages", partitionBy: date }
  new-ages: { uri: "\${params.data}/master/ages", partitionBy: date, partitions: "\${run.changedPartitions}" }
  birthdays: { uri: "\${params.data}/views/birthdays", view: true, delta: false }
  birthdays-full: { uri: "\${params.data}/views/birthdays-full", view: true }
tasks:
  - { name: partial, operator: partial-recompute, inputs: [ages, new-ages], outputs: [birthdays], params: { mode: partial, viewUpdate: rewrite, buckets: 2 } }
  - { name: full, operator: partial-recompute, inputs: [ages, new-ages], outputs: [birthdays-full], params: { mode: full, buckets: 2 } }
`;

describe('data triggers in the scheduler (embedded runs, injected clock)', function () {
  this.timeout(120_000);
  let dir: string;
  let launchers: EmbeddedLauncher[] = [];
  let stores: LocalRunStore[] = [];
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dagctl-trig-'));
    launchers = [];
    stores = [];
  });
  afterEach(async () => {
    // A run's driver may still be closing its files after its phase reads succeeded, and the
    // store its journals (close: last snapshot, journal handles closed).
    for (const l of launchers) assert.equal(await l.drain(60_000), true);
    for (const st of stores) await st.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function setup(name: string) {
    const file = join(dir, `${name}.yaml`);
    await writeFile(file, DAG(name));
    const catalog = new DagCatalog([file]);
    await catalog.refresh();
    assert.equal(catalog.dags().length, 1);
    const home = join(dir, 'home');
    const store = new LocalRunStore(home);
    stores.push(store);
    const clock = { now: Date.parse('2026-06-01T00:00:00Z') };
    const make = () => {
      const launcher = new EmbeddedLauncher({ store, concurrency: 1 });
      launchers.push(launcher);
      return new SchedulerService({ dags: () => catalog.dags(), launcher, state: new LocalScheduleState(home), now: () => clock.now });
    };
    const master = await openObjectStore(pathToFileURL(join(dir, 'data', 'master', 'ages')).href);
    const addDay = (date: string, seed: number) => generate('ages', { store: master, rows: 400, seed, start: date, days: 1, persons: 60 });
    const runs = async (): Promise<RunSummary[]> => (await store.listRuns({ dag: name })).sort((a, b) => (a.runId < b.runId ? -1 : 1));
    const settle = async (service: SchedulerService) =>
      until('runs finished', 60_000, async () => {
        clock.now += 50;
        await service.step();
        const rs = await runs();
        return rs.length > 0 && rs.every((r) => r.phase === 'succeeded' || r.phase === 'failed');
      });
    const views = async () => [await viewRows(pathToFileURL(join(dir, 'data', 'views', 'birthdays')).href), await viewRows(pathToFileURL(join(dir, 'data', 'views', 'birthdays-full')).href)];
    return { file, catalog, home, store, clock, make, master, addDay, runs, settle, views };
  }

  it('one run per new commit set, reading only the changed partitions; a restart repeats nothing; the partial view equals the full one', async () => {
    const s = await setup('ages-loop');
    const service = s.make();
    await service.step();
    assert.equal((await s.runs()).length, 0, 'no data, no run');

    await s.addDay('2024-03-01', 1);
    await s.addDay('2024-03-02', 2);
    await s.settle(service);
    let rs = await s.runs();
    assert.equal(rs.length, 1);
    const t0 = rs[0]?.trigger;
    assert.ok(t0 !== undefined && t0.kind === 'data' && t0.at !== undefined);
    assert.deepEqual({ ...t0, at: undefined }, { kind: 'data', dataset: 'ages', partitions: ['2024-03-01', '2024-03-02'], at: undefined, commits: 2 });
    const keys0 = (await listSourceCommits(s.master, { format: 'parquet', partitionBy: 'date' })).commits.map((c) => `ages:${c.id}`);
    assert.equal(rs[0]?.runId, triggerRunId('ages-loop', Date.parse(t0.at), keys0), 'the run id is fixed by the fire time and the commit set');
    assert.equal(rs[0]?.phase, 'succeeded');

    await s.addDay('2024-03-03', 3);
    await s.settle(service);
    rs = await s.runs();
    assert.equal(rs.length, 2);
    const second = await s.store.getRecord(rs[1]?.runId ?? '');
    assert.deepEqual(second?.trigger && 'partitions' in second.trigger ? second.trigger.partitions : null, ['2024-03-03']);
    // The new batch is exactly the changed partition's committed files.
    assert.ok((second?.sources['new-ages'] ?? []).length > 0);
    assert.deepEqual([...new Set((second?.sources['new-ages'] ?? []).map((f) => f.partition))], ['2024-03-03']);
    assert.deepEqual([...new Set((second?.sources.ages ?? []).map((f) => f.partition))], ['2024-03-01', '2024-03-02', '2024-03-03']);
    assert.ok(rs.every((r) => r.phase === 'succeeded'));
    const [partial, full] = await s.views();
    assert.ok((full ?? []).length > 0);
    assert.deepEqual(partial, full);

    // A restarted scheduler (new service, same state) sees nothing new.
    const again = s.make();
    for (let i = 0; i < 5; i++) {
      s.clock.now += 1000;
      await again.step();
    }
    assert.equal((await s.runs()).length, 2);
  });

  it('a fire decided by a scheduler that died before creating its run is completed with the same id; commits landing during a run go to the next one', async () => {
    const s = await setup('ages-crash');
    await s.addDay('2024-03-01', 1);
    // What a scheduler leaves when it dies between persisting the intent and creating the run.
    const state = new LocalScheduleState(s.home);
    const commits = (await listSourceCommits(s.master, { format: 'parquet', partitionBy: 'date' })).commits;
    const keys = commits.map((c) => `ages:${c.id}`);
    const at = s.clock.now - 1000;
    const runId = triggerRunId('ages-crash', at, keys);
    await state.putTriggers('ages-crash', { seen: [], inflight: { runId, at, prevAt: at, commits: keys, datasets: ['ages'], partitions: ['2024-03-01'] } });
    const service = s.make();
    await service.step();
    assert.deepEqual((await s.runs()).map((r) => r.runId), [runId]);
    await until('the completed fire\'s run started by the same step', 60_000, async () => (await s.runs())[0]?.phase !== 'pending');
    const st = await state.getTriggers('ages-crash');
    assert.equal(st.inflight, undefined);
    assert.deepEqual(st.seen, keys);
    // Commits landing while that run is unfinished wait, then go to one next run.
    await s.addDay('2024-03-02', 2);
    await s.addDay('2024-03-03', 3);
    await s.settle(service);
    await until('second run', 60_000, async () => {
      s.clock.now += 50;
      await service.step();
      const rs = await s.runs();
      return rs.length === 2 && rs.every((r) => r.phase === 'succeeded');
    });
    const rs = await s.runs();
    const rec = await s.store.getRecord(rs[1]?.runId ?? '');
    assert.deepEqual(rec?.trigger && 'partitions' in rec.trigger ? rec.trigger.partitions : null, ['2024-03-02', '2024-03-03']);
    assert.equal(JSON.parse(await readFile(join(s.home, 'schedules', 'ages-crash.triggers.json'), 'utf8')).seen.length, 3);
    const [partial, full] = await s.views();
    assert.deepEqual(partial, full);
  });

  it('a run created by a scheduler that died before starting it is started, with no new commit', async () => {
    const s = await setup('ages-orphan');
    await s.addDay('2024-03-01', 1);
    const commits = (await listSourceCommits(s.master, { format: 'parquet', partitionBy: 'date' })).commits;
    const keys = commits.map((c) => `ages:${c.id}`);
    const at = s.clock.now - 1000;
    const fire = { runId: triggerRunId('ages-orphan', at, keys), at, prevAt: at, commits: keys, datasets: ['ages'], partitions: ['2024-03-01'] };
    // The dead scheduler created the run and marked its commits seen, then died before starting it.
    await createTriggerRun({ store: s.store, historyStore: s.store, file: s.file, text: DAG('ages-orphan'), fire, executor: 'embedded', now: Date.now() });
    await new LocalScheduleState(s.home).putTriggers('ages-orphan', { seen: keys, lastFireAt: at });
    assert.deepEqual((await s.runs()).map((r) => [r.runId, r.phase]), [[fire.runId, 'pending']]);
    await s.settle(s.make());
    assert.deepEqual((await s.runs()).map((r) => [r.runId, r.phase]), [[fire.runId, 'succeeded']]);
  });

  it('TRIGGER_LATE_COMMIT is recoverable: `dagctl trigger-reset FILE --accept-late` counts the late marker as run, `dagctl trigger-reset FILE` gives every commit one run; both refused (TRIGGER_RESET_REFUSED) on a healthy DAG or with a fire in flight, unless --force', async () => {
    const s = await setup('late');
    await s.addDay('2024-05-01', 1);
    await s.addDay('2024-05-02', 2);
    // The CLI's state (cwd/.dagctl) and a service on it.
    const state = new LocalScheduleState(join(dir, '.dagctl'));
    const launcher = new EmbeddedLauncher({ store: s.store, concurrency: 1 });
    launchers.push(launcher);
    const service = new SchedulerService({ dags: () => s.catalog.dags(), launcher, state, now: () => s.clock.now, log: () => {} });
    // A floor that counted one marker where two are stamped before it: what a marker listed late leaves.
    await state.putTriggers('late', { seen: [], floors: { ages: { before: Date.now() + 3_600_000, count: 1 } }, folded: 1 });
    await service.step();
    assert.equal(service.metrics.stepErrors, 1, 'stopped: TRIGGER_LATE_COMMIT');
    assert.equal((await s.runs()).length, 0);

    const accepted = await runCli(['trigger-reset', s.file, '--accept-late', '--json'], dir);
    assert.equal(accepted.code, 0, accepted.stderr);
    assert.deepEqual((JSON.parse(accepted.stdout) as { accepted: unknown }).accepted, [{ dataset: 'ages', counted: 1, found: 2 }]);
    await service.step();
    assert.equal(service.metrics.stepErrors, 1, 'the trigger goes on');
    assert.equal((await s.runs()).length, 0, 'no run for markers counted as run');
    assert.equal(seenCount(await state.getTriggers('late')), 2);
    const nothing = await runCli(['trigger-reset', s.file, '--accept-late'], dir);
    assert.notEqual(nothing.code, 0, 'not stuck now');
    assert.match(nothing.stderr, /TRIGGER_RESET_REFUSED/);
    const forcedNothing = await runCli(['trigger-reset', s.file, '--accept-late', '--force'], dir);
    assert.notEqual(forcedNothing.code, 0, 'nothing late to accept');
    assert.match(forcedNothing.stderr, /USAGE/);

    // Not stuck now (every floor matches): an unfenced write could race a running scheduler.
    const healthy = await state.getTriggers('late');
    const refused = await runCli(['trigger-reset', s.file, '--json'], dir);
    assert.notEqual(refused.code, 0, 'refused on a healthy DAG');
    assert.equal((JSON.parse(refused.stdout) as { error: { code: string } }).error.code, 'TRIGGER_RESET_REFUSED');
    assert.deepEqual(await state.getTriggers('late'), healthy, 'nothing written');
    // Stuck, but a fire in flight: a reset would drop it (its commits run twice) or be overwritten.
    const stuck: TriggerState = { seen: [], floors: { ages: { before: Date.now() + 3_600_000, count: 1 } }, folded: 1 };
    const inflight: TriggerState = { ...stuck, inflight: { runId: 'late-x', at: s.clock.now, prevAt: s.clock.now, commits: ['ages:x'], datasets: ['ages'], partitions: ['2024-05-01'] } };
    await state.putTriggers('late', inflight);
    for (const extra of [[], ['--accept-late']]) {
      const r = await runCli(['trigger-reset', s.file, ...extra, '--json'], dir);
      assert.notEqual(r.code, 0, `refused with a fire in flight ${extra.join(' ')}`);
      assert.equal((JSON.parse(r.stdout) as { error: { code: string } }).error.code, 'TRIGGER_RESET_REFUSED');
      assert.deepEqual(await state.getTriggers('late'), inflight, 'nothing written');
    }
    // Stuck with no fire in flight: allowed.
    await state.putTriggers('late', stuck);
    await service.step();
    assert.equal(service.metrics.stepErrors, 2, 'stopped again: TRIGGER_LATE_COMMIT');
    const reset = await runCli(['trigger-reset', s.file, '--json'], dir);
    assert.equal(reset.code, 0, reset.stderr);
    assert.deepEqual(await state.getTriggers('late'), { seen: [] });
    await s.settle(service);
    const runs = await s.runs();
    assert.deepEqual(runs.map((r) => r.phase), ['succeeded'], 'one run for every commit');
    assert.equal(seenCount(await state.getTriggers('late')), 2);
    assert.equal(service.metrics.stepErrors, 2);
    // --force overrides the check (the operator has stopped the DAG's schedulers).
    const forced = await runCli(['trigger-reset', s.file, '--force', '--json'], dir);
    assert.equal(forced.code, 0, forced.stderr);
    assert.deepEqual(await state.getTriggers('late'), { seen: [] });
  });
});
