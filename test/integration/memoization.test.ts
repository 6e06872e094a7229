/**
 * Memoization: re-running an unchanged DAG executes nothing; adding one date partition to the
 * master dataset re-executes only the instances that depend on it; --force and --rerun-from
 * override.
 */
import assert from 'node:assert/strict';
import type { StatusView } from '../../scheduler/status-view.js';
import { addDays, runCli, viewRows, workspace } from './support.js';

const run = async (ws: Awaited<ReturnType<typeof workspace>>, extra: string[] = []): Promise<StatusView> => {
  const r = await runCli(ws, ['run', ws.dag, '--param', `data=${ws.dataUri}`, '--json', ...extra]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as StatusView;
};
const byState = (v: StatusView, task: string, state: string): string[] =>
  v.tasks.filter((t) => t.name === task && t.stage !== 'publish' && t.state === state).map((t) => t.partition);

describe('memoization', function () {
  this.timeout(240_000);

  it('skips unchanged work, re-runs only what a new partition touches, and honours --force / --rerun-from', async () => {
    const ws = await workspace({ rows: 3000, days: 3 });
    const first = await run(ws);
    assert.equal(byState(first, 'normalize', 'succeeded').length, 3);

    const again = await run(ws);
    assert.equal(again.tasks.filter((t) => t.state === 'succeeded').length, 0, 'an unchanged re-run executed work');
    assert.ok(again.tasks.every((t) => t.state === 'skipped'));

    const viewBefore = await viewRows(`${ws.dataUri}/views/over-time`);
    await addDays(ws, { rows: 1000, days: 1, start: '2024-03-04', seed: 7 });
    const grown = await run(ws);
    assert.deepEqual(byState(grown, 'normalize', 'succeeded'), ['2024-03-04']);
    assert.deepEqual(byState(grown, 'normalize', 'skipped').sort(), ['2024-03-01', '2024-03-02', '2024-03-03']);
    // dedupe's map stage is partition-wise: only the new day's map instance runs
    const dedupeMaps = grown.tasks.filter((t) => t.name === 'dedupe' && t.stage === 'map');
    assert.deepEqual(dedupeMaps.filter((t) => t.state === 'succeeded').map((t) => t.partition), ['2024-03-04']);
    const viewAfter = await viewRows(`${ws.dataUri}/views/over-time`);
    assert.notDeepEqual(viewAfter, viewBefore);

    const forced = await run(ws, ['--force']);
    assert.ok(forced.tasks.filter((t) => t.name === 'normalize' && t.stage !== 'publish').every((t) => t.state === 'succeeded'));

    const fromRollup = await run(ws, ['--rerun-from', 'rollup']);
    assert.ok(fromRollup.tasks.filter((t) => t.name === 'normalize').every((t) => t.state === 'skipped'));
    assert.ok(fromRollup.tasks.filter((t) => t.name === 'rollup' && t.stage !== 'publish').every((t) => t.state === 'succeeded'));
    // re-running on identical inputs reproduces the view exactly
    assert.deepEqual(await viewRows(`${ws.dataUri}/views/over-time`), viewAfter);
  });
});
