/**
 * The publish instance's guards in the real task runner (workers/task-runner.ts runInstance) over
 * local storage, when the world changed after planning: another DAG published meanwhile
 * (DATASET_PRODUCER_CONFLICT unless the run takes the dataset over), a view would shrink too much
 * (VIEW_SHRINK unless allowed), a later run of the same DAG published first (not replaced:
 * `superseded`). A refused publication changes none of the instance's outputs.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { InstanceJob } from '../../scheduler/jobs.js';
import type { PlannedInstance } from '../../scheduler/model.js';
import type { RunOptions, RunRecord } from '../../scheduler/ports.js';
import { publishVersion, readCurrent } from '../../storage/dataset/publish.js';
import { openObjectStore } from '../../storage/open.js';
import type { FileEntry, Producer } from '../../storage/types.js';
import { runInstance } from '../../workers/task-runner.js';
import { noopTask } from '../helpers/dags.js';

const files = (tag: string, n: number, rows: number): FileEntry[] => Array.from({ length: n }, (_, i) => ({ path: `part-${tag}-${i}.parquet`, rows, bytes: 10, sha256: `${tag}${i}` }));

describe('publish instance guards (task runner, local storage)', function () {
  this.timeout(60_000);
  let dir: string;
  let uriA: string;
  let uriB: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dagctl-guards-'));
    uriA = pathToFileURL(join(dir, 'a')).href;
    uriB = pathToFileURL(join(dir, 'b')).href;
  });
  afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

  const record = (dag: string, createdAt: number, options: Partial<RunOptions> = {}): RunRecord => {
    const publishInst: PlannedInstance = { id: 'roll.publish', task: 'roll', operator: 'noop', kind: 'publish', stage: 'publish', stageIndex: 0, round: 1, rounds: 1, partition: '', bucket: -1, buckets: 1, deps: [], inputBytes: 0, inputRows: 0, predictedMs: 0, overheadMs: 0, workMs: 0, costSource: 'default' };
    return {
      runId: `${dag}-${createdAt}`,
      dag: {
        name: dag,
        params: {},
        // delta: false: the files are made up (a Delta log reads each added file's schema).
        datasets: { a: { name: 'a', uri: uriA, format: 'parquet', view: true, delta: false, producer: 'roll' }, b: { name: 'b', uri: uriB, format: 'parquet', view: true, delta: false, producer: 'roll' } },
        tasks: [noopTask('roll', { outputs: ['a', 'b'] })],
        sourceHash: `${dag}-hash`,
        sourceFile: `${dag}.yaml`,
      },
      dagText: '',
      dagHash: `${dag}-hash`,
      plan: [publishInst],
      sources: {},
      createdAt,
      options: { force: false, params: {}, executor: 'embedded', ...options },
    };
  };
  const job = (r: RunRecord, a: FileEntry[], b: FileEntry[]): InstanceJob => ({
    runId: r.runId, instanceId: 'roll.publish', attempt: 1, inputs: [], prior: [], stages: {}, timeoutMs: 60_000, force: false,
    publish: [{ dataset: 'a', uri: uriA, files: a }, { dataset: 'b', uri: uriB, files: b }],
  });
  const publish = (r: RunRecord, a: FileEntry[], b: FileEntry[]): ReturnType<typeof runInstance> => runInstance(r, job(r, a, b), { signal: new AbortController().signal, worker: 'test' });
  const current = async (uri: string): Promise<string | undefined> => (await readCurrent(await openObjectStore(uri)))?.pointer.version;
  const code = async (p: Promise<unknown>): Promise<string | undefined> => p.then(() => undefined, (e: { code?: string }) => e.code);
  const producer = (dag: string, at: number): Producer => ({ dag, dagHash: 'x', runId: `${dag}-${at}`, runCreatedAt: new Date(at).toISOString() });

  it('another DAG published meanwhile: DATASET_PRODUCER_CONFLICT, nothing changed; --take-over publishes', async () => {
    await publish(record('mine', 1000), files('m1a', 2, 50), files('m1b', 2, 50));
    await publishVersion(await openObjectStore(uriA), { version: 'other-2000', dataset: 'a', files: files('o', 2, 50), producer: producer('other', 2000) });
    assert.equal(await code(publish(record('mine', 3000), files('m3a', 2, 50), files('m3b', 2, 50))), 'DATASET_PRODUCER_CONFLICT');
    assert.deepEqual([await current(uriA), await current(uriB)], ['other-2000', 'mine-1000'], 'b is not published either');
    const r = await publish(record('mine', 4000, { takeOver: ['a'] }), files('m4a', 2, 50), files('m4b', 2, 50));
    assert.equal(r.metrics.published, 2);
    assert.deepEqual([await current(uriA), await current(uriB)], ['mine-4000', 'mine-4000']);
  });

  it('a view dropping more than maxShrink: VIEW_SHRINK, nothing changed; allowShrink publishes', async () => {
    await publish(record('mine', 1000), files('m1a', 4, 25), files('m1b', 4, 25));
    assert.equal(await code(publish(record('mine', 2000), files('m2a', 4, 25), files('m2b', 1, 25))), 'VIEW_SHRINK');
    assert.deepEqual([await current(uriA), await current(uriB)], ['mine-1000', 'mine-1000'], 'a is not published either');
    // Exactly half is allowed by the default share (0.5).
    assert.equal((await publish(record('mine', 3000), files('m3a', 2, 25), files('m3b', 2, 25))).metrics.published, 2);
    assert.equal((await publish(record('mine', 4000, { allowShrink: true }), files('m4a', 2, 25), files('m4b', 0, 25))).metrics.published, 2);
    assert.equal(await current(uriB), 'mine-4000');
  });

  it('a later run of the same DAG published first: not replaced, reported as superseded', async () => {
    await publish(record('mine', 5000), files('m5a', 2, 50), files('m5b', 2, 50));
    const r = await publish(record('mine', 4000), files('m4a', 2, 50), files('m4b', 2, 50));
    assert.deepEqual([r.metrics.published, r.metrics.superseded], [0, 2]);
    assert.deepEqual([await current(uriA), await current(uriB)], ['mine-5000', 'mine-5000']);
  });
});
