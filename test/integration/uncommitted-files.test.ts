/**
 * Files without a commit marker are never skipped silently: a Parquet file another tool dropped into
 * a `date=` folder of a generated (marked) master dataset is not read — the view equals the run
 * without it — and `dagctl run` warns UNCOMMITTED_FILES naming it; `dagctl dataset check` lists it
 * (exit 1), and says a dataset without markers is read whole (exit 0).
 */
import assert from 'node:assert/strict';
import { copyFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli, viewRows, workspace } from './support.js';

describe('files without a commit marker', function () {
  this.timeout(180_000);

  it('are reported by run and dataset check, and not read', async () => {
    const ws = await workspace({ rows: 600, days: 2 });
    const master = `${ws.dataUri}/master/pageviews`;
    const clean = await runCli(ws, ['dataset', 'check', master, '--json']);
    assert.equal(clean.code, 0, clean.stderr);
    assert.deepEqual((JSON.parse(clean.stdout) as { uncommitted: unknown[]; marked: boolean }).uncommitted, []);

    const ref = await runCli(ws, ['run', ws.dag, '--param', `data=${ws.dataUri}`, '--json']);
    assert.equal(ref.code, 0, ref.stderr);
    assert.doesNotMatch(ref.stderr, /UNCOMMITTED_FILES/);
    const refRows = await viewRows(`${ws.dataUri}/views/over-time`);

    // Another tool drops a copy of a day's file under a new name: no marker names it.
    const dayDir = join(fileURLToPath(master), 'date=2024-03-01');
    const first = (await readdir(dayDir)).find((f) => f.endsWith('.parquet'));
    assert.ok(first !== undefined);
    await copyFile(join(dayDir, first), join(dayDir, 'part-foreign.parquet'));

    const check = await runCli(ws, ['dataset', 'check', master, '--json']);
    assert.equal(check.code, 1, check.stderr);
    const report = JSON.parse(check.stdout) as { marked: boolean; uncommitted: Array<{ path: string }> };
    assert.equal(report.marked, true);
    assert.deepEqual(report.uncommitted.map((u) => u.path), ['date=2024-03-01/part-foreign.parquet']);

    const again = await runCli(ws, ['run', ws.dag, '--param', `data=${ws.dataUri}`, '--json']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /UNCOMMITTED_FILES: .*part-foreign\.parquet/);
    assert.deepEqual(await viewRows(`${ws.dataUri}/views/over-time`), refRows, 'the unmarked file was read');
  });
});
