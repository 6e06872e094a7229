/**
 * Work reclaiming in embedded runs — the DAG's `work: reclaim` or `dagctl run --reclaim-work`:
 * after a succeeded run no work file is left under any dataset's `_work/`; the view equals the one
 * a run without reclaiming publishes over the same data (the reference, which does keep its work
 * files); a second run over the reclaimed workspace recomputes what it cannot reuse and publishes
 * the same view again. `--work keep` overrides the DAG's setting; a failed run keeps its work. Bad
 * flags are USAGE.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { initialState } from '../../scheduler/engine/state.js';
import { LocalRunStore } from '../../scheduler/stores/local-run-store.js';
import { dagOf, noopTask, recordOf } from '../helpers/dags.js';
import { PIPELINE_DAG, runCli, viewRows, workFiles, workspace } from './support.js';

describe('dagctl run --reclaim-work', function () {
  this.timeout(240_000);

  it('leaves no work files, and the view (also after a re-run) equals a run that keeps them', async () => {
    const opts = { rows: 3000, days: 2, seed: 11 };
    const ref = await workspace(opts);
    const r0 = await runCli(ref, ['run', ref.dag, '--param', `data=${ref.dataUri}`, '--json']);
    assert.equal(r0.code, 0, r0.stderr);
    assert.ok((await workFiles(ref)).length > 0, 'the reference run keeps its work files');
    const expected = await viewRows(`${ref.dataUri}/views/over-time`);
    assert.ok(expected.length > 0);

    const ws = await workspace(opts);
    for (let run = 0; run < 2; run++) {
      const r = await runCli(ws, ['run', ws.dag, '--param', `data=${ws.dataUri}`, '--reclaim-work', '--json']);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(await workFiles(ws), [], `run ${run} left work files`);
      assert.deepEqual(await viewRows(`${ws.dataUri}/views/over-time`), expected, `run ${run}`);
    }
  });

  it('follows the DAG\'s `work: reclaim`, and `--work keep` overrides it', async () => {
    const opts = { rows: 2000, days: 2, seed: 5 };
    const ref = await workspace(opts);
    assert.equal((await runCli(ref, ['run', ref.dag, '--param', `data=${ref.dataUri}`, '--json'])).code, 0);
    const expected = await viewRows(`${ref.dataUri}/views/over-time`);

    const ws = await workspace(opts);
    await writeFile(ws.dag, `${PIPELINE_DAG}work: reclaim\n`);
    const kept = await runCli(ws, ['run', ws.dag, '--param', `data=${ws.dataUri}`, '--work', 'keep', '--json']);
    assert.equal(kept.code, 0, kept.stderr);
    assert.ok((await workFiles(ws)).length > 0, '--work keep kept no work files');
    const r = await runCli(ws, ['run', ws.dag, '--param', `data=${ws.dataUri}`, '--force', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await workFiles(ws), []);
    assert.deepEqual(await viewRows(`${ws.dataUri}/views/over-time`), expected);
    // `dagctl status`: the reclaiming run says so (JSON field and a text line), the keeping one does not.
    const statusOf = async (runId: string): Promise<{ runId: string; workReclaimed?: { markers: number; files: number; bytes: number; at: number } }> => {
      const s = await runCli(ws, ['status', runId, '--json']);
      assert.equal(s.code, 0, s.stderr);
      return JSON.parse(s.stdout) as { runId: string; workReclaimed?: { markers: number; files: number; bytes: number; at: number } };
    };
    const runIdOf = (out: string): string => (JSON.parse(out) as { runId: string }).runId;
    assert.equal((await statusOf(runIdOf(kept.stdout))).workReclaimed, undefined);
    const rec = (await statusOf(runIdOf(r.stdout))).workReclaimed;
    assert.ok(rec !== undefined && rec.files > 0 && rec.bytes > 0 && rec.markers > 0, JSON.stringify(rec));
    const text = await runCli(ws, ['status', runIdOf(r.stdout)]);
    assert.match(text.stdout, new RegExp(`work reclaimed: ${rec.files} file\\(s\\)`));
  });

  it('a failed run keeps its work (a resume may need it)', async () => {
    const ws = await workspace({ rows: 1000, days: 1, seed: 3 });
    // The pipeline publishes, then a last task fails: the run fails with its work written.
    await writeFile(ws.dag, `${PIPELINE_DAG}  - { name: boom, operator: noop, dependsOn: [rollup], retries: 0, params: { failTimes: 1 } }\nwork: reclaim\n`);
    const r = await runCli(ws, ['run', ws.dag, '--param', `data=${ws.dataUri}`, '--json']);
    assert.equal(r.code, 1, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { phase: string }).phase, 'failed');
    assert.ok((await workFiles(ws)).length > 0, 'the failed run\'s work was reclaimed');
    const s = await runCli(ws, ['status', (JSON.parse(r.stdout) as { runId: string }).runId, '--json']);
    assert.equal((JSON.parse(s.stdout) as { workReclaimed?: unknown }).workReclaimed, undefined);
  });

  it('keeps the work while another run of the DAG is active (work areas are per task, shared by its runs)', async () => {
    const ws = await workspace({ rows: 1000, days: 1, seed: 7 });
    const first = await runCli(ws, ['run', ws.dag, '--param', `data=${ws.dataUri}`, '--json']);
    assert.equal(first.code, 0, first.stderr);
    // Another run of the same DAG, created and not finished (as a parallel backfill interval is).
    const name = (JSON.parse(first.stdout) as { dag: string }).dag;
    const other = recordOf(dagOf(name, [noopTask('a')]), 'other-active-run');
    const store = new LocalRunStore(ws.home);
    await store.createRun(other, initialState(other.runId, name, other.plan, other.createdAt));
    await store.close();
    const r = await runCli(ws, ['run', ws.dag, '--param', `data=${ws.dataUri}`, '--force', '--reclaim-work', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /other-active-run/);
    assert.ok((await workFiles(ws)).length > 0, 'work was reclaimed under an active run of the DAG');
  });

  it('bad --work values, --reclaim-work with --work keep, and --work on a distributed resume are USAGE', async () => {
    const ws = await workspace({ rows: 10, days: 1 });
    for (const args of [
      ['run', ws.dag, '--work', 'sometimes', '--json'],
      ['run', ws.dag, '--work', 'keep', '--reclaim-work', '--json'],
      ['run', '--resume', 'some-run', '--redis', 'redis://127.0.0.1:1', '--reclaim-work', '--json'],
    ]) {
      const r = await runCli(ws, args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr + r.stdout, /USAGE/);
    }
  });
});
