/**
 * `work: reclaim` in distributed runs: the DAG's setting travels with the run record, and the
 * process that applies the run's `finished` effect (a worker) reclaims every task's work area once
 * the run succeeded, then records it in the run (RedisRunStore.workReclaimed). The test waits for
 * that record (not for time), then checks that no work file is left and that the view equals the
 * one an embedded run that kept its work published over the same data. `--work keep` on the run
 * overrides the DAG: its work stays and nothing is recorded.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import type { StatusView } from '../../scheduler/status-view.js';
import type { WorkReclaimed } from '../../scheduler/redis/redis-run-store.js';
import { PIPELINE_DAG, runCli, viewRows, workFiles, workspace, type Workspace } from '../integration/support.js';
import { distributedSuite } from './fixture.js';
import { redisUrl } from './redis-env.js';

const OPTS = { rows: 3000, days: 3, seed: 13 };
const VIEW = 'views/over-time';

describe('distributed runs with `work: reclaim`', function () {
  const f = distributedSuite(this);
  const run = (ws: Workspace, extra: string[] = []) => runCli(ws, ['run', ws.dag, '--param', `data=${ws.dataUri}`, '--redis', redisUrl(), '--json', ...extra]);

  /** Waits until the run's reclaim is recorded (the worker that finished the run writes it after deleting). */
  async function reclaimed(runId: string): Promise<WorkReclaimed> {
    for (;;) {
      const r = await f.store.workReclaimed(runId);
      if (r !== null) return r;
      await new Promise((res) => setTimeout(res, 50));
    }
  }

  it('leaves no work files once the run succeeded, and publishes the view of a run that kept them', async () => {
    const ref = await workspace(OPTS);
    const r0 = await runCli(ref, ['run', ref.dag, '--param', `data=${ref.dataUri}`, '--json']);
    assert.equal(r0.code, 0, r0.stderr);
    assert.ok((await workFiles(ref)).length > 0, 'the reference run keeps its work files');
    const expected = await viewRows(`${ref.dataUri}/${VIEW}`);
    assert.ok(expected.length > 0);

    const cluster = f.cluster();
    for (let i = 0; i < 2; i++) await cluster.startWorker(['--concurrency', '2']);
    const ws = await workspace(OPTS);
    await writeFile(ws.dag, `${PIPELINE_DAG}work: reclaim\n`);

    const kept = await run(ws, ['--work', 'keep']);
    assert.equal(kept.code, 0, kept.stderr);
    const keptView = JSON.parse(kept.stdout) as StatusView;
    assert.equal(keptView.phase, 'succeeded');
    assert.ok((await workFiles(ws)).length > 0, '--work keep kept no work files');

    const r = await run(ws, ['--force']);
    assert.equal(r.code, 0, r.stderr);
    const view = JSON.parse(r.stdout) as StatusView;
    assert.equal(view.phase, 'succeeded');
    const rec = await reclaimed(view.runId);
    assert.ok(rec.files > 0 && rec.markers > 0, JSON.stringify(rec));
    assert.deepEqual(await workFiles(ws), []);
    assert.deepEqual(await viewRows(`${ws.dataUri}/${VIEW}`), expected);
    // The kept run's record says nothing was reclaimed for it.
    assert.equal(await f.store.workReclaimed(keptView.runId), null);
    // `dagctl status --json` shows the record (absent for the kept run).
    const status = async (runId: string): Promise<{ workReclaimed?: WorkReclaimed }> => {
      const s = await runCli(ws, ['status', runId, '--redis', redisUrl(), '--json']);
      assert.equal(s.code, 0, s.stderr);
      return JSON.parse(s.stdout) as { workReclaimed?: WorkReclaimed };
    };
    assert.deepEqual((await status(view.runId)).workReclaimed, rec);
    assert.equal((await status(keptView.runId)).workReclaimed, undefined);
  });
});
