/**
 * LocalRunStore reading a run from another process: a finished run's state is its snapshot (the
 * record is not parsed: a record unreadable as JSON does not matter to getState); a run with
 * journal batches after its snapshot is replayed against its record; a folder with a state but no
 * record (a create that died half-way) is no run.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initialState } from '../../scheduler/engine/state.js';
import { LocalRunStore } from '../../scheduler/stores/local-run-store.js';
import { dagOf, noopTask, recordOf } from '../helpers/dags.js';

describe('LocalRunStore.getState from another process', () => {
  let home = '';
  beforeEach(async () => (home = await mkdtemp(join(tmpdir(), 'dagctl-lrs-load-'))));
  afterEach(async () => rm(home, { recursive: true, force: true }));

  async function run(finish: boolean, onStore?: (store: LocalRunStore) => void): Promise<string> {
    const dag = dagOf('load', [noopTask('fan', { params: { buckets: 3 } })]);
    const t0 = Date.now();
    const record = recordOf(dag, `load-${t0}`, t0);
    const store = new LocalRunStore(home);
    onStore?.(store);
    await store.createRun(record, initialState(record.runId, dag.name, record.plan, t0));
    await store.apply(record.runId, [{ type: 'start', at: t0 }]);
    const ids = record.plan.map((p) => p.id).slice(0, finish ? undefined : 2);
    for (const id of ids) {
      await store.apply(record.runId, [{ type: 'started', id, attempt: 1, at: t0 + 1 }]);
      await store.apply(record.runId, [{ type: 'succeeded', id, attempt: 1, at: t0 + 2, result: { memoized: false, fingerprint: id, outputs: [], metrics: {}, inputBytes: 0, inputRows: 0, outputRows: 0, durationMs: 1, setupMs: 0 } }]);
    }
    assert.equal((await store.getState(record.runId))?.phase, finish ? 'succeeded' : 'running');
    await store.close();
    return record.runId;
  }

  it('a finished run: the snapshot alone, the record not parsed', async () => {
    const id = await run(true);
    const before = await new LocalRunStore(home).getState(id);
    await writeFile(join(home, 'runs', id, 'record.json'), '{ not json');
    assert.deepEqual(await new LocalRunStore(home).getState(id), before);
    assert.equal(before?.phase, 'succeeded');
  });

  it('a running run: journal batches after the snapshot replayed against the record', async () => {
    const id = await run(false);
    const s = await new LocalRunStore(home).getState(id);
    assert.equal(s?.phase, 'running');
    assert.deepEqual(Object.values(s?.instances ?? {}).map((i) => i.state).sort(), ['queued', 'succeeded', 'succeeded']);
  });

  it('a state without a record is no run', async () => {
    await mkdir(join(home, 'runs', 'half'), { recursive: true });
    await writeFile(join(home, 'runs', 'half', 'state.json'), JSON.stringify({ seq: 0 }));
    assert.equal(await new LocalRunStore(home).getState('half'), null);
    assert.equal(await new LocalRunStore(home).getState('nothing-here'), null);
  });

  it('close() writes no second snapshot of a finished run, and snapshots a running one', async () => {
    // The seq of every snapshot the store writes (its private snapshot method, observed).
    type Snapshotting = { snapshot(live: { state: { seq: number } }): Promise<void> };
    const seqsOf = (store: LocalRunStore): number[] => {
      const seqs: number[] = [];
      const own = store as unknown as Snapshotting;
      const write = own.snapshot.bind(store);
      own.snapshot = async (live) => {
        seqs.push(live.state.seq);
        await write(live);
      };
      return seqs;
    };
    for (const finish of [true, false]) {
      let seqs: number[] = [];
      const id = await run(finish, (store) => (seqs = seqsOf(store)));
      const state = await new LocalRunStore(home).getState(id);
      assert.equal(state?.phase, finish ? 'succeeded' : 'running');
      assert.equal(new Set(seqs).size, seqs.length, `a state snapshotted twice: seqs ${seqs.join(',')}`);
      assert.equal(seqs.at(-1), state?.seq, 'the last batches were not snapshotted');
    }
  });
});
