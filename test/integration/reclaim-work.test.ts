/**
 * `dagctl run --reclaim-work`: after a succeeded run no work file is left under any dataset's
 * `_work/`; the view equals the one a run without reclaiming publishes over the same data (the
 * reference, which does keep its work files); a second run over the reclaimed workspace recomputes
 * what it cannot reuse and publishes the same view again.
 */
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli, viewRows, workspace, type Workspace } from './support.js';

/** Files under every `_work/` folder below the workspace's data. */
async function workFiles(ws: Workspace): Promise<string[]> {
  const entries = await readdir(join(ws.dir, 'data'), { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile() && join(e.parentPath, e.name).split('/').includes('_work')).map((e) => join(e.parentPath, e.name));
}

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

  it('is refused with --redis (USAGE)', async () => {
    const ws = await workspace({ rows: 10, days: 1 });
    const r = await runCli(ws, ['run', ws.dag, '--redis', 'redis://127.0.0.1:1', '--reclaim-work', '--json']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr + r.stdout, /USAGE/);
  });
});
