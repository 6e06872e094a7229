/**
 * Merge-on-read view versions through the real CLI and task runner: dags/birthday-inference.yaml
 * over four batches. Each partial run publishes a version that lists the previous version's files
 * again with deletion vectors plus a file of recomputed rows; every version, read back through
 * readRows (which applies the vectors), equals the full recompute row for row. Vacuum keeps the
 * shared files while a retained version lists them; viewUpdate=rewrite compacts.
 */
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { generate } from '../../gen/generate.js';
import { readCurrent } from '../../storage/dataset/publish.js';
import { vacuum } from '../../storage/dataset/vacuum.js';
import { openObjectStore } from '../../storage/open.js';
import type { FileEntry } from '../../storage/types.js';
import { runCli, viewRows, type Workspace } from './support.js';

interface TaskView { name: string; stage: string; state: string; skipReason?: string; bucket: number; metrics?: Record<string, number> }

describe('merge-on-read view versions (birthday-inference, CLI)', function () {
  this.timeout(300_000);
  let ws: Workspace;
  const gen = async (uri: string, seed: number, start: string, rows: number): Promise<void> => {
    await generate('ages', { store: await openObjectStore(uri), rows, seed, start, days: 1, persons: 800 });
  };
  const run = async (batch: string, extra: string[] = []): Promise<TaskView[]> => {
    const r = await runCli(ws, ['run', join(ws.dir, 'bday.yaml'), '--param', `data=${ws.dataUri}`, '--param', `batch=${ws.dataUri}/incoming/${batch}`, '--param', 'mode=partial', '--param', 'buckets=3', '--json', ...extra]);
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as { tasks: TaskView[] }).tasks;
  };
  const metric = (tasks: TaskView[], stage: string, name: string): number =>
    tasks.filter((t) => t.name === 'birthdays-partial' && t.stage === stage).reduce((a, t) => a + (t.metrics?.[name] ?? 0), 0);
  const manifest = async (): Promise<FileEntry[]> => (await readCurrent(await openObjectStore(`${ws.dataUri}/views/birthdays`)))!.manifest.files;

  before(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dagctl-mor-'));
    ws = { dir, dag: join(dir, 'bday.yaml'), dataUri: pathToFileURL(join(dir, 'data')).href, home: join(dir, '.dagctl') };
    await copyFile(resolve('dags/birthday-inference.yaml'), join(ws.dir, 'bday.yaml'));
    await gen(`${ws.dataUri}/master/ages`, 3, '2024-01-01', 6000);
    await gen(`${ws.dataUri}/master/ages`, 4, '2024-01-02', 6000);
    for (const [i, b] of ['A', 'B', 'C', 'D'].entries()) await gen(`${ws.dataUri}/incoming/${b}`, 10 + i, `2024-02-0${1 + i}`, 150);
  });
  after(async () => { if (ws !== undefined) await rm(ws.dir, { recursive: true, force: true }); });

  it('each partial version shares the previous files with deletion vectors and equals the full recompute', async () => {
    const a = await run('A');
    assert.equal(metric(a, 'plan', 'fallbackFull'), 1);
    let before = await manifest();
    assert.ok(before.every((f) => f.deletes === undefined));
    let widened = 0;
    for (const [i, b] of ['B', 'C'].entries()) {
      // As production would: the previous batch has joined the master.
      await gen(`${ws.dataUri}/master/ages`, 10 + i, `2024-02-0${1 + i}`, 150);
      const t = await run(b);
      assert.equal(metric(t, 'plan', 'mergeOnRead'), 1);
      // The sample store (birthday-samples, written by run A's full recompute, one file per
      // bucket): the new persons looked up there, the batches appended to the master since
      // scanned; the view still equals the full recompute (below).
      // (storeRowFiles 0: every store file's pages went through the page kernel, none through the row decoder.)
      assert.deepEqual([metric(t, 'plan', 'storeMode'), metric(t, 'recompute', 'storeFallback'), metric(t, 'recompute', 'storeFiles'), metric(t, 'recompute', 'storeRowFiles')], [1, 0, 3, 0]);
      assert.ok(metric(t, 'recompute', 'storeExtraFiles') >= i + 1 && metric(t, 'recompute', 'storeSamples') > 0);
      // Dynamic fan-out: fused (one recompute bucket, a small master), so the plan pruned every
      // fetch instance and the recompute instances past the one that works; none of them ran.
      assert.equal(metric(t, 'plan', 'fused'), 1);
      const mine = t.filter((x) => x.name === 'birthdays-partial');
      const fetches = mine.filter((x) => x.stage === 'fetch');
      assert.ok(fetches.length >= 2 && fetches.every((x) => x.state === 'skipped' && x.skipReason === 'pruned'));
      assert.deepEqual(mine.filter((x) => x.stage === 'recompute').map((x) => [x.bucket, x.state, x.skipReason ?? null]), [[0, 'succeeded', null], [1, 'skipped', 'pruned'], [2, 'skipped', 'pruned']]);
      if (i === 0) {
        // An unchanged re-run: the memoized plan prunes the same instances (narrow kept in its marker).
        const again = (await run(b)).filter((x) => x.name === 'birthdays-partial' && x.stage !== 'publish');
        assert.deepEqual(again.map((x) => [x.stage, x.bucket, x.state, x.skipReason]), mine.filter((x) => x.stage !== 'publish').map((x) => [x.stage, x.bucket, 'skipped', x.state === 'skipped' ? 'pruned' : 'memoized']));
      }
      assert.ok(metric(t, 'recompute', 'viewDeletedRows') > 0);
      const now = await manifest();
      // Every file of the previous version is listed again (or left out: no live row) under the same path.
      const paths = new Set(now.map((f) => f.path));
      const dropped = before.filter((f) => !paths.has(f.path)).length;
      assert.equal(dropped, metric(t, 'recompute', 'viewDroppedFiles'));
      assert.equal(now.length, before.length - dropped + 1);
      for (const f of now) {
        const old = before.find((o) => o.path === f.path);
        if (old === undefined) continue;
        assert.equal(f.sha256, old.sha256);
        assert.ok((f.deletes?.count ?? 0) >= (old.deletes?.count ?? 0));
        if ((f.deletes?.count ?? 0) > (old.deletes?.count ?? 0) && old.deletes !== undefined) widened++;
      }
      assert.deepEqual(await viewRows(`${ws.dataUri}/views/birthdays`), await viewRows(`${ws.dataUri}/views/birthdays-full`));
      before = now;
    }
    assert.ok(widened > 0, 'the second merge-on-read version widened an earlier deletion vector');
  });

  it('vacuum keeps files a retained version shares; viewUpdate=rewrite compacts', async () => {
    const view = `${ws.dataUri}/views/birthdays`;
    const rowsBefore = await viewRows(view);
    const listed = new Set((await manifest()).map((f) => f.path));
    const report = await vacuum(await openObjectStore(view), { keepVersions: 1, olderThanMs: 0 });
    assert.ok(report.deletedVersions.length > 0);
    assert.ok(report.deletedFiles.every((k) => !listed.has(k)));
    assert.deepEqual(await viewRows(view), rowsBefore);

    await gen(`${ws.dataUri}/master/ages`, 12, '2024-02-03', 150);
    const t = await run('D', ['--param', 'viewUpdate=rewrite']);
    assert.equal(metric(t, 'plan', 'mergeOnRead'), 0);
    const now = await manifest();
    assert.ok(now.every((f) => f.deletes === undefined && !listed.has(f.path)));
    assert.deepEqual(await viewRows(view), await viewRows(`${ws.dataUri}/views/birthdays-full`));
  });
});
