/**
 * ThreadPool.preload: a run with operator modules is sent to every thread ahead of its jobs, and
 * each thread fetches and imports the run's code bundle at once — `ready()` resolves only after
 * that, with no job submitted, the threads' bundle cache already holds the bundle (fetched by
 * hash from its store, and materialized). A bundle that cannot be fetched does not hold
 * `ready()`: the module's job reports BUNDLE_NOT_FOUND.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadDag } from '../../definitions/load.js';
import { placeBundle } from '../../operators/modules/bundle-store.js';
import { createRunRecord } from '../../scheduler/create-run.js';
import { JobResolver } from '../../scheduler/jobs.js';
import type { PlanningContext } from '../../scheduler/plan/context.js';
import type { RunRecord } from '../../scheduler/ports.js';
import { ThreadPool } from '../../workers/threads/pool.js';

const NOOP_TS = `import { defineOperator, z } from 'dagctl';
export default defineOperator({
  params: z.object({ buckets: z.number().int() }).strict(),
  inputs: { min: 0, max: 0 }, outputs: { min: 0, max: 0 },
  stages: () => [{ name: 'main', fanout: 'bucket' }],
  async run() { return { metrics: { ran: 1 } }; },
});
`;

const workIds = (r: RunRecord): string[] => r.plan.filter((p) => p.kind === 'work').map((p) => p.id);

describe('thread pool: preloading a run\'s code bundle', function () {
  this.timeout(60_000);
  let dir = '';
  let record: RunRecord;
  const saved = process.env.DAGCTL_BUNDLE_CACHE;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'dagctl-preload-'));
    process.env.DAGCTL_BUNDLE_CACHE = path.join(dir, 'cache-main');
    await writeFile(path.join(dir, 'noop.ts'), NOOP_TS);
    await writeFile(path.join(dir, 'dag.yaml'), 'apiVersion: dagctl/v1\nkind: Dag\nmetadata: { name: preload }\noperators: { mod: ./noop.ts }\ntasks:\n  - { name: t, operator: mod, params: { buckets: 2 } }\n');
    const loaded = await loadDag(path.join(dir, 'dag.yaml'));
    assert.ok(loaded.dag !== undefined, JSON.stringify(loaded.issues));
    const ctx: PlanningContext = { sources: {}, sourceRoots: {}, history: [] };
    const created = createRunRecord({ dag: loaded.dag, text: loaded.text, ctx, options: { force: true, params: {}, executor: 'bullmq' }, now: Date.now(), runId: `preload-${Math.random().toString(36).slice(2, 8)}`, bundle: loaded.bundle });
    // The bundle lives in a store (a local folder here): the threads must fetch it by hash.
    record = await placeBundle(created.record, path.join(dir, 'store'));
    assert.equal(record.bundle, undefined);
  });

  after(async () => {
    if (saved === undefined) delete process.env.DAGCTL_BUNDLE_CACHE;
    else process.env.DAGCTL_BUNDLE_CACHE = saved;
    await rm(dir, { recursive: true, force: true });
  });

  it('threads fetch and import the bundle before any job; ready() waits for it', async () => {
    const cache = path.join(dir, 'cache-threads');
    process.env.DAGCTL_BUNDLE_CACHE = cache; // the threads' cache (they copy the env as they start)
    const pool = new ThreadPool({ size: 2, lazy: true });
    try {
      const hash = record.bundleRef?.hash ?? '';
      pool.preload(record.runId, JSON.stringify(record));
      await pool.ready();
      assert.ok((await readdir(path.join(cache, 'src'))).includes(`${hash}.json`), 'fetched by hash into the cache');
      assert.ok((await readdir(cache)).includes(hash), 'materialized');
      const resolver = new JobResolver(record);
      const o = await pool.run(JSON.stringify(record), resolver.build(workIds(record)[0]!, 1, () => undefined), new AbortController().signal);
      assert.equal(o.ok ? o.result.metrics.ran : o.code, 1);
    } finally {
      await pool.close();
    }
  });

  it('a bundle that cannot be fetched does not hold ready(); the job reports BUNDLE_NOT_FOUND', async () => {
    process.env.DAGCTL_BUNDLE_CACHE = path.join(dir, 'cache-gone');
    const gone: RunRecord = { ...record, runId: `${record.runId}-gone`, bundleRef: { uri: path.join(dir, 'no-store'), hash: record.bundleRef?.hash ?? '' } };
    const pool = new ThreadPool({ size: 1 });
    try {
      pool.preload(gone.runId, JSON.stringify(gone));
      await pool.ready();
      const resolver = new JobResolver(gone);
      const o = await pool.run(JSON.stringify(gone), resolver.build(workIds(gone)[1]!, 1, () => undefined), new AbortController().signal);
      assert.equal(o.ok ? 'ok' : o.code, 'BUNDLE_NOT_FOUND');
    } finally {
      await pool.close();
    }
  });
});
