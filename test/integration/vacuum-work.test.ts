/**
 * Vacuum of a view also reclaims its tasks' work areas: stage markers superseded by a newer run
 * and the shuffle files only they referenced — without costing the next run its memoization.
 */
import assert from 'node:assert/strict';
import type { StatusView } from '../../scheduler/status-view.js';
import type { VacuumReport } from '../../storage/dataset/vacuum.js';
import { addDays, runCli, viewRows, workspace } from './support.js';

describe('vacuum of work areas', function () {
  this.timeout(240_000);

  it('deletes superseded stage outputs; the next run is still fully memoized and the view unchanged', async () => {
    const ws = await workspace({ rows: 900, days: 2 });
    const run = async (): Promise<StatusView> => {
      const r = await runCli(ws, ['run', ws.dag, '--param', `data=${ws.dataUri}`, '--json']);
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout) as StatusView;
    };
    await run();
    await addDays(ws, { rows: 400, days: 1, start: '2024-03-03', seed: 7 });
    await run();
    const view = `${ws.dataUri}/views/over-time`;
    const rows = await viewRows(view);

    const v = await runCli(ws, ['dataset', 'vacuum', view, '--keep', '1', '--older-than', '0s', '--json']);
    assert.equal(v.code, 0, v.stderr);
    const report = JSON.parse(v.stdout) as VacuumReport;
    assert.equal(report.deletedVersions.length, 1);
    assert.ok(report.deletedWorkMarkers.length > 0, 'no superseded stage marker was reclaimed');
    assert.ok(report.deletedWorkFiles.length > 0, 'no superseded shuffle file was reclaimed');

    const again = await run();
    const executed = again.tasks.filter((t) => t.state === 'succeeded');
    assert.deepEqual(executed.map((t) => t.instance), [], 'vacuum cost the next run its memoization');
    assert.deepEqual(await viewRows(view), rows);
  });
});
