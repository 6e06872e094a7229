/**
 * Acceptance: `dagctl dataset vacuum URI` on S3. Four runs of a view DAG (retention 2), the master
 * growing by one day between runs so every run publishes a different view, plus one stray data
 * file in the view (what a losing attempt leaves). Then, through the CLI:
 *  - with an age threshold every version is younger than, vacuum deletes nothing;
 *  - with `--older-than 0s --keep 2`, a dry run reports exactly what the real run deletes;
 *    the real run deletes the two old versions, their markers and their files, and the stray file —
 *    nothing else: the retained versions' files, the task work area and the master are untouched;
 *  - vacuum refuses the master dataset (DATASET_NOT_FOUND) and changes nothing there;
 *  - the current view still reads the same rows, the tree passes the audit, and a fifth run of
 *    the same DAG is memoized against the retained markers.
 * Preconditions: the S3 test server; dist/ built.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { generate } from '../../gen/generate.js';
import { isVisibleDataKey, manifestKey, parseJson } from '../../storage/dataset/layout.js';
import type { VacuumReport } from '../../storage/dataset/vacuum.js';
import { S3ObjectStore } from '../../storage/s3/store.js';
import type { Manifest, ObjectInfo } from '../../storage/types.js';
import { deleteUri, freshUri, requireS3 } from '../s3/env.js';
import { auditTree } from './audit.js';
import { dagctl, failures, GEN, generateInto, jsonOut, readDataset, ROLLUP_DAG, runDag, SWA_INPUT, tempDir, writeText } from './harness.js';

const VIEW = 'views/pageviews-over-time/';
const snapshot = (objs: ObjectInfo[]): string[] => objs.map((o) => `${o.key} ${o.etag} ${o.size}`);

describe('e2e: dataset vacuum on S3', function () {
  this.timeout(240_000);
  let tmp: ReturnType<typeof tempDir>;
  let root: string;
  let store: S3ObjectStore;

  before(function () {
    requireS3(this);
    tmp = tempDir('vacuum');
    root = freshUri('vacuum');
    store = new S3ObjectStore(root);
  });
  after(async () => {
    store?.close();
    tmp?.dispose();
    await deleteUri(root);
  });

  it('removes only old versions and unreferenced files, never master data; the current view still reads', async () => {
    const file = writeText(join(tmp.dir, 'rollup-view.yaml'), ROLLUP_DAG);
    const home = join(tmp.dir, 'home');
    const viewUri = `${root}/${VIEW.slice(0, -1)}`;
    const masterUri = `${root}/master/pageviews`;
    await generateInto(root, SWA_INPUT.slice(0, 1));
    const runs: string[] = [];
    for (let i = 0; i < 4; i++) {
      if (i > 0) {
        // The master grows by one day: the next run's view differs.
        const day = new Date(Date.parse(`${GEN.start}T00:00:00Z`) + (GEN.days + i - 1) * 86_400_000).toISOString().slice(0, 10);
        const master = new S3ObjectStore(masterUri);
        await generate('pageviews', { store: master, rows: 500, seed: GEN.seed, persons: GEN.persons, start: day, days: 1 }).finally(() => master.close());
      }
      const r = await runDag(file, { data: root }, { home });
      assert.equal(r.status.phase, 'succeeded', failures(r.status));
      runs.push(r.status.runId);
    }
    const [v1, v2, v3, v4] = runs as [string, string, string, string];
    const stray = `${VIEW}bucket=000/part-00000-0123456789abcdef.parquet`;
    await store.putIfAbsent(stray, new TextEncoder().encode('bytes of an attempt that lost the commit race'));

    const manifest = async (v: string): Promise<Manifest> => parseJson<Manifest>(await store.get(VIEW + manifestKey(v)), v);
    const retainedFiles = new Set([...(await manifest(v3)).files, ...(await manifest(v4)).files].map((f) => VIEW + f.path));
    const oldFiles = [...(await manifest(v1)).files, ...(await manifest(v2)).files].map((f) => VIEW + f.path).filter((k) => !retainedFiles.has(k));
    assert.ok(oldFiles.length > 0 && retainedFiles.size > 0);
    const before = await store.list('');
    const currentBefore = await readDataset(viewUri, 'published');
    assert.equal(currentBefore.version, v4);

    // 1. Everything is younger than an hour: nothing may go.
    const young = await dagctl(['dataset', 'vacuum', viewUri, '--keep', '2', '--older-than', '1h', '--json'], { home });
    assert.equal(young.code, 0, young.stderr);
    const youngReport = jsonOut<VacuumReport>(young);
    assert.deepEqual([youngReport.deletedVersions, youngReport.deletedMarkers, youngReport.deletedFiles], [[], [], []]);
    assert.deepEqual(youngReport.keptVersions, [...runs].sort());
    assert.deepEqual(snapshot(await store.list('')), snapshot(before));

    // 2. A dry run reports and deletes nothing.
    const dry = jsonOut<VacuumReport>(await dagctl(['dataset', 'vacuum', viewUri, '--keep', '2', '--older-than', '0s', '--dry-run', '--json'], { home }));
    assert.equal(dry.dryRun, true);
    assert.deepEqual(snapshot(await store.list('')), snapshot(before));

    // 3. The real vacuum.
    const real = await dagctl(['dataset', 'vacuum', viewUri, '--keep', '2', '--older-than', '0s', '--json'], { home });
    assert.equal(real.code, 0, real.stderr);
    const report = jsonOut<VacuumReport>(real);
    assert.deepEqual(
      [report.deletedVersions, report.deletedMarkers, report.deletedFiles, report.deletedWorkMarkers, report.deletedWorkFiles],
      [dry.deletedVersions, dry.deletedMarkers, dry.deletedFiles, dry.deletedWorkMarkers, dry.deletedWorkFiles],
    );
    // Stage outputs recomputed by later runs (the shuffle of every run's reduce) are reclaimed too.
    // Every run recomputed the aggregate stage (the master grew): the older runs' stage markers go;
    // the map markers stay, as the newest of their instances (the next run memoizes on them).
    assert.equal(report.deletedWorkMarkers.length, 4, 'one superseded aggregate stage marker per bucket (2) per old version (2)');
    assert.ok(report.deletedWorkMarkers.every((k) => k.includes('.aggregate.')));
    assert.ok([...report.deletedWorkMarkers, ...report.deletedWorkFiles].every((k) => k.startsWith('_work/')));
    assert.equal(report.current, v4);
    assert.deepEqual(report.keptVersions, [v3, v4].sort());
    assert.deepEqual([...report.deletedVersions].sort(), [v1, v2].sort());
    const deletedFiles = report.deletedFiles.map((k) => VIEW + k).sort();
    assert.deepEqual(deletedFiles, [...oldFiles, stray].sort());
    assert.equal(report.deletedMarkers.length, 4, 'one rollup aggregate marker per bucket (2) per old version (2)');

    // Exactly those keys are gone; every other object is byte-for-byte what it was.
    const gone = new Set([...deletedFiles, ...[...report.deletedMarkers, ...report.deletedWorkMarkers, ...report.deletedWorkFiles].map((k) => VIEW + k)]);
    for (const v of [v1, v2]) for (const o of before) if (o.key.startsWith(`${VIEW}_versions/${v}/`)) gone.add(o.key);
    const after = await store.list('');
    assert.deepEqual(snapshot(after), snapshot(before.filter((o) => !gone.has(o.key))));
    assert.ok(after.some((o) => o.key.startsWith(`${VIEW}_work/`)), 'the live part of the work area was kept');
    for (const k of retainedFiles) assert.ok(after.some((o) => o.key === k), `retained file ${k} was deleted`);
    assert.ok(after.every((o) => !isVisibleDataKey(o.key.slice(VIEW.length)) || !o.key.startsWith(VIEW) || retainedFiles.has(o.key)), 'an unreferenced view file survived');

    // 4. The master is never vacuumed.
    const masterBefore = snapshot(await store.list('master/'));
    assert.ok(masterBefore.length >= 6);
    const refused = await dagctl(['dataset', 'vacuum', masterUri, '--keep', '1', '--older-than', '0s', '--json'], { home });
    assert.equal(refused.code, 1);
    assert.equal(jsonOut<{ error: { code: string } }>(refused).error.code, 'DATASET_NOT_FOUND');
    assert.deepEqual(snapshot(await store.list('master/')), masterBefore);

    // 5. The current view reads as before; the tree is consistent; a new run is memoized.
    const currentAfter = await readDataset(viewUri, 'published');
    assert.equal(currentAfter.version, v4);
    assert.deepEqual(currentAfter.rows, currentBefore.rows);
    const audit = await auditTree(store);
    assert.deepEqual(audit.problems, []);
    assert.deepEqual(audit.leftovers.filter((k) => k.startsWith(VIEW) && !k.startsWith(`${VIEW}_work/`)), []);
    const again = await runDag(file, { data: root }, { home });
    assert.equal(again.status.phase, 'succeeded', failures(again.status));
    assert.equal((await readDataset(viewUri, 'published')).version, v4, 'the memoized run republished');
    assert.deepEqual(snapshot(await store.list(VIEW)), snapshot(after.filter((o) => o.key.startsWith(VIEW))), 'the memoized run wrote to the view');
  });
});
