/**
 * Publication guards (storage/dataset/guards.ts) and history/rollback (storage/dataset/history.ts)
 * over a memory store: codes and numbers, the current version untouched when refused.
 */
import assert from 'node:assert/strict';
import { checkProducer, checkShrink } from '../../storage/dataset/guards.js';
import { history, rollback } from '../../storage/dataset/history.js';
import { publishVersion, readCurrent } from '../../storage/dataset/publish.js';
import { MemoryObjectStore } from '../../storage/memory/store.js';
import type { FileEntry, Producer } from '../../storage/types.js';
import { rejectsWith } from '../conformance/object-store.js';

const enc = new TextEncoder();
const producer = (dag: string, runId: string, at = 1000): Producer => ({ dag, dagHash: `${dag}-hash`, runId, runCreatedAt: new Date(at).toISOString() });

async function version(store: MemoryObjectStore, name: string, rows: number, p: Producer): Promise<FileEntry[]> {
  const files: FileEntry[] = [{ path: `part-${name}.parquet`, rows, bytes: 3, sha256: name }];
  await store.putIfAbsent(`part-${name}.parquet`, enc.encode(name));
  await publishVersion(store, { version: name, dataset: 'view', files, producer: p });
  return files;
}

function throwsCode(fn: () => void, code: string): Record<string, unknown> {
  try {
    fn();
  } catch (e) {
    assert.equal((e as { code?: string }).code, code);
    return (e as { details: Record<string, unknown> }).details;
  }
  assert.fail(`expected ${code}`);
}

describe('publication guards', () => {
  it('checkProducer: another DAG is refused unless it takes over; the same DAG and unknown producers pass', async () => {
    const store = new MemoryObjectStore();
    await version(store, 'v1', 10, producer('owner', 'owner-1'));
    const cur = await readCurrent(store);
    const details = throwsCode(() => checkProducer({ dataset: 'view', uri: 'mem://v' }, cur, producer('intruder', 'i-1'), false), 'DATASET_PRODUCER_CONFLICT');
    assert.equal((details.producer as Producer).dag, 'owner');
    checkProducer({ dataset: 'view', uri: 'mem://v' }, cur, producer('intruder', 'i-1'), true);
    checkProducer({ dataset: 'view', uri: 'mem://v' }, cur, producer('owner', 'owner-2'), false);
    checkProducer({ dataset: 'view', uri: 'mem://v' }, null, producer('intruder', 'i-1'), false);
  });

  it('checkShrink: dropping more than the share is VIEW_SHRINK with the numbers; up to it passes', async () => {
    const store = new MemoryObjectStore();
    await version(store, 'v1', 100, producer('d', 'd-1'));
    const cur = await readCurrent(store);
    const details = throwsCode(() => checkShrink({ dataset: 'view', uri: 'mem://v' }, cur, 49, 0.5), 'VIEW_SHRINK');
    assert.deepEqual([details.currentRows, details.newRows, details.maxShrink], [100, 49, 0.5]);
    checkShrink({ dataset: 'view', uri: 'mem://v' }, cur, 50, 0.5);
    checkShrink({ dataset: 'view', uri: 'mem://v' }, cur, 0, 1);
    checkShrink({ dataset: 'view', uri: 'mem://v' }, null, 0, 0.5);
  });
});

describe('dataset history and rollback', () => {
  it('history lists every publication in order; rollback is a new publication of the old version', async () => {
    const store = new MemoryObjectStore();
    await version(store, 'zeta-1', 10, producer('zeta', 'zeta-1', 1000));
    await version(store, 'zeta-2', 20, producer('zeta', 'zeta-2', 2000));
    await version(store, 'alpha-3', 30, producer('zeta', 'alpha-3', 3000));
    const before = await history(store);
    assert.deepEqual(before.map((e) => [e.seq, e.version, e.rows, e.files, e.operation, e.current]), [
      [1, 'zeta-1', 10, 1, 'publish', false],
      [2, 'zeta-2', 20, 1, 'publish', false],
      [3, 'alpha-3', 30, 1, 'publish', true],
    ]);
    const r = await rollback(store, '1');
    assert.equal(r.swapped, true);
    const cur = await readCurrent(store);
    assert.equal(cur?.pointer.version, 'zeta-1');
    assert.equal(cur?.manifest.rows, 10);
    const after = await history(store);
    assert.deepEqual(after.map((e) => [e.seq, e.version, e.operation, e.restoredFrom ?? null]).at(-1), [4, 'zeta-1', 'rollback', 1]);
    assert.equal(after.at(-1)?.producer?.dag, 'zeta', 'the dataset keeps its owner');
    // By version name too; and a rollback to the current version changes nothing.
    assert.equal((await rollback(store, 'alpha-3')).pointer.version, 'alpha-3');
    assert.equal((await rollback(store, 'alpha-3')).alreadyCurrent, true);
    assert.equal((await history(store)).length, 5);
  });

  it('rollback refuses an unknown version and a vacuumed one (manifest or a data file gone); the current version stays', async () => {
    const store = new MemoryObjectStore();
    await version(store, 'v1', 10, producer('d', 'v1'));
    await version(store, 'v2', 10, producer('d', 'v2'));
    await version(store, 'v3', 10, producer('d', 'v3'));
    await rejectsWith(rollback(store, '9'), 'VERSION_NOT_FOUND');
    await store.delete('part-v1.parquet');
    await rejectsWith(rollback(store, '1'), 'VERSION_VACUUMED');
    await store.delete('_versions/v2/_MANIFEST.json');
    await rejectsWith(rollback(store, 'v2'), 'VERSION_VACUUMED');
    assert.equal((await readCurrent(store))?.pointer.version, 'v3');
    assert.deepEqual((await history(store)).map((e) => e.restorable), [true, false, true]);
  });

  it('history of a dataset with no _CURRENT is DATASET_NOT_FOUND', async () => {
    await rejectsWith(history(new MemoryObjectStore()), 'DATASET_NOT_FOUND');
  });
});
