/**
 * driveRun acts on its mirror's effects before the store's durable write: dependents are
 * dispatched while a write is held, and the run is reported finished only once every batch is in
 * the store (which then agrees with the mirror). The held write is a barrier the test controls.
 */
import assert from 'node:assert/strict';
import { driveRun } from '../../scheduler/driver.js';
import type { RunEvent } from '../../scheduler/engine/events.js';
import { initialState, type RunState } from '../../scheduler/engine/state.js';
import { MemoryRunStore } from '../../scheduler/stores/memory-run-store.js';
import { EmbeddedExecutor } from '../../workers/embedded/pool.js';
import { chain, recordOf } from '../helpers/dags.js';

class HeldStore extends MemoryRunStore {
  private open: (() => void) | null = null;
  private readonly gate = new Promise<void>((r) => (this.open = r));
  applyCalls = 0;
  release(): void {
    this.open?.();
  }
  override async apply(runId: string, events: RunEvent[]) {
    this.applyCalls++;
    await this.gate;
    return super.apply(runId, events);
  }
}

describe('driveRun and durability', function () {
  this.timeout(30_000);

  it('runs a chain to its end while the first durable write is held, and finishes only after the writes', async () => {
    const store = new HeldStore();
    const dag = chain(5);
    const record = recordOf(dag, `t-durable-${Math.random().toString(36).slice(2, 8)}`);
    await store.createRun(record, initialState(record.runId, dag.name, record.plan, Date.now()));
    let mirrorDone: () => void = () => undefined;
    const allRan = new Promise<void>((r) => (mirrorDone = r));
    let resolved = false;
    const run = driveRun({
      store,
      record,
      makeExecutor: (onEvent) => new EmbeddedExecutor(record, onEvent, { concurrency: 1 }),
      onProgress: (s: RunState) => {
        if (s.phase === 'succeeded') mirrorDone();
      },
    }).then((s) => {
      resolved = true;
      return s;
    });
    await allRan; // every task ran although no write has completed
    assert.equal(store.applyCalls, 1, 'one write in flight at a time');
    await new Promise((r) => setImmediate(r));
    assert.equal(resolved, false, 'reported finished before its events were durable');
    assert.equal((await store.getState(record.runId))?.phase, 'pending');
    store.release();
    const final = await run;
    assert.equal(final.phase, 'succeeded');
    const stored = await store.getState(record.runId);
    assert.equal(stored?.phase, 'succeeded');
    assert.deepEqual(stored?.instances, final.instances);
  });
});
