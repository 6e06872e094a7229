/**
 * The embedded executor driven by driveRun: DAG shapes complete, retries and timeouts (a CPU-bound
 * operator ignoring its signal is terminated), cancellation, and cost samples in the history.
 */
import assert from 'node:assert/strict';
import { driveRun } from '../../scheduler/driver.js';
import { initialState } from '../../scheduler/engine/state.js';
import { MemoryRunStore } from '../../scheduler/stores/memory-run-store.js';
import type { DagSpec } from '../../definitions/types.js';
import { EmbeddedExecutor } from '../../workers/embedded/pool.js';
import { chain, dagOf, diamond, noopTask, recordOf } from '../helpers/dags.js';

async function runDag(dag: DagSpec, opts: { concurrency?: number; cancelAfterMs?: number; graceMs?: number; heapMb?: number } = {}) {
  const store = new MemoryRunStore();
  const record = recordOf(dag, `t-${dag.name}-${Math.random().toString(36).slice(2, 8)}`);
  await store.createRun(record, initialState(record.runId, dag.name, record.plan, Date.now()));
  const ac = new AbortController();
  if (opts.cancelAfterMs !== undefined) setTimeout(() => ac.abort(), opts.cancelAfterMs);
  const state = await driveRun({
    store,
    record,
    cancel: ac.signal,
    makeExecutor: (onEvent) => new EmbeddedExecutor(record, onEvent, { concurrency: opts.concurrency ?? 2, graceMs: opts.graceMs ?? 300, ...(opts.heapMb !== undefined ? { maxThreadHeapMb: opts.heapMb } : {}) }),
  });
  return { state, store, record };
}

describe('embedded executor', function () {
  this.timeout(30_000);

  it('runs a diamond to success', async () => {
    const { state } = await runDag(diamond());
    assert.equal(state.phase, 'succeeded');
    assert.ok(Object.values(state.instances).every((s) => s.state === 'succeeded'));
  });

  it('runs a wide fan-out (500 instances) and a deep chain (50 tasks)', async () => {
    const wide = await runDag(dagOf('wide', [noopTask('root'), noopTask('fan', { dependsOn: ['root'], params: { buckets: 500 } }), noopTask('sink', { dependsOn: ['fan'] })]));
    assert.equal(wide.state.phase, 'succeeded');
    assert.equal(Object.keys(wide.state.instances).length, 502);
    const deep = await runDag(chain(50));
    assert.equal(deep.state.phase, 'succeeded');
    // a chain runs in order: every instance started after its predecessor finished
    for (let i = 1; i < 50; i++) {
      const prev = deep.state.instances[`t${i - 1}.main`];
      const cur = deep.state.instances[`t${i}.main`];
      assert.ok((cur?.startedAt ?? 0) >= (prev?.finishedAt ?? Infinity), `t${i} started before t${i - 1} finished`);
    }
  });

  it('retries a task that fails its first attempts', async () => {
    const { state } = await runDag(dagOf('retry', [noopTask('flaky', { retries: 2, retryBackoffMs: 10, params: { failTimes: 2 } })]));
    assert.equal(state.phase, 'succeeded');
    assert.equal(state.instances['flaky.main']?.attempts, 3);
  });

  it('terminates a CPU-bound task that ignores its timeout, and fails it with TASK_TIMEOUT', async () => {
    const t0 = Date.now();
    const { state } = await runDag(dagOf('hog', [noopTask('hog', { timeoutMs: 200, params: { cpuMs: 20_000 } }), noopTask('after', { dependsOn: ['hog'] })]), { graceMs: 200 });
    assert.ok(Date.now() - t0 < 10_000, 'the hog was not killed');
    assert.equal(state.phase, 'failed');
    assert.equal(state.instances['hog.main']?.errorCode, 'TASK_TIMEOUT');
    assert.equal(state.instances['after.main']?.state, 'upstream_failed');
  });

  it('cancels a run: the sleeping task is aborted and the rest never starts', async () => {
    const { state } = await runDag(chain(3, { params: { sleepMs: 5_000 } }), { cancelAfterMs: 200 });
    assert.equal(state.phase, 'cancelled');
    assert.equal(state.instances['t0.main']?.state, 'cancelled');
    assert.equal(state.instances['t1.main']?.state, 'cancelled');
    assert.equal(state.instances['t2.main']?.attempts, 0);
  });

  it('fails an instance that outgrows the thread heap limit with WORKER_OUT_OF_MEMORY, without retrying it', async () => {
    const { state } = await runDag(dagOf('oom', [noopTask('hog', { retries: 2, params: { allocMb: 400 } }), noopTask('fine', { params: { allocMb: 8 } })]), { heapMb: 64 });
    assert.equal(state.phase, 'failed');
    assert.equal(state.instances['hog.main']?.errorCode, 'WORKER_OUT_OF_MEMORY');
    assert.equal(state.instances['hog.main']?.attempts, 1);
    assert.equal(state.instances['fine.main']?.state, 'succeeded');
  });

  it('records a cost sample per executed instance', async () => {
    const { store } = await runDag(chain(4));
    const h = await store.history({ operator: 'noop' });
    assert.equal(h.length, 4);
    assert.ok(h.every((s) => s.stage === 'main' && s.durationMs >= 0));
  });
});
