/**
 * Acceptance: workers and `dagctl run` use S3 transparently, and one DAG may mix S3 and local
 * datasets. The shipped DAGs (superwebanalytics, birthday-inference) run through the CLI with every
 * dataset on S3 (`--param data=s3://…`), on input generated straight into S3; every dataset they
 * read or publish must equal, row for row (sorted canonical JSON, no column excluded), what the same
 * DAG produces on a file:// data root from the same generated input. Then a small normalize DAG
 * runs with sources local / outputs on S3 and the reverse.
 *
 * Preconditions: the S3 test server (scripts/provision/with-s3.sh); dist/ built. Input is small
 * (3,000 pageviews over 3 days, buckets=2) so the suite stays well under a minute per DAG on 2 cores.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { deletePrefix, freshUri, rawClient, requireS3, testBucket } from '../s3/env.js';
import { BIRTHDAY_INPUT, DAGS, failures, generateInto, readAllDatasets, readDataset, runDag, SWA_INPUT, tempDir, writeText, type GenSpec } from './harness.js';

/** Runs `file` on a local root and on an S3 root (same input), and compares every dataset. */
async function compareLocalAndS3(file: string, input: GenSpec[], extraParams: (root: string) => Record<string, string | number>, home: string, local: string, s3: string): Promise<void> {
  await generateInto(local, input);
  await generateInto(s3, input);
  const lp = { data: local, ...extraParams(local) };
  const sp = { data: s3, ...extraParams(s3) };
  const l = await runDag(file, lp, { home });
  assert.equal(l.status.phase, 'succeeded', failures(l.status));
  const s = await runDag(file, sp, { home });
  assert.equal(s.status.phase, 'succeeded', failures(s.status));

  const want = await readAllDatasets(file, lp);
  const got = await readAllDatasets(file, sp);
  assert.deepEqual([...got.keys()], [...want.keys()]);
  for (const [name, w] of want) {
    const g = got.get(name);
    assert.ok(g !== undefined, name);
    assert.equal(g.version === null, w.version === null, name);
    // The run published this dataset (views and intermediates alike) on S3 in this run.
    if (g.version !== null) assert.equal(g.version, s.status.runId, `${name}: published by another run`);
    // The sample store records the master files' storage identities (a local sha256, an S3
    // ETag) in its header, so its bytes differ by design; it must exist on both.
    if (name === 'birthday-samples') {
      assert.ok(g.rows.length > 0 && w.rows.length > 0, `${name}: empty`);
      continue;
    }
    assert.equal(g.rows.length, w.rows.length, `${name}: row count differs`);
    assert.deepEqual(g.rows, w.rows, `${name}: rows differ between S3 and local`);
  }
  const views = [...want.entries()].filter(([, d]) => d.version !== null);
  assert.ok(views.length > 0 && views.some(([, d]) => d.rows.length > 0), 'the DAG published nothing');
}

describe('e2e: DAGs on S3 through the CLI', function () {
  this.timeout(180_000);
  const prefixes: string[] = [];
  let tmp: ReturnType<typeof tempDir>;

  before(function () {
    requireS3(this);
    tmp = tempDir('pipelines');
  });
  after(async () => {
    tmp?.dispose();
    if (prefixes.length === 0) return;
    const c = rawClient();
    try {
      for (const p of prefixes) await deletePrefix(c, p);
    } finally {
      c.destroy();
    }
  });

  const s3Root = (label: string): string => {
    const uri = freshUri(label);
    prefixes.push(uri.slice(`s3://${testBucket()}/`.length) + '/');
    return uri;
  };

  it('superwebanalytics: every dataset on S3 equals the file:// run, row for row', async () => {
    const file = join(DAGS, 'superwebanalytics.yaml');
    await compareLocalAndS3(file, SWA_INPUT, () => ({ buckets: 2 }), join(tmp.dir, 'home'), `${tmp.uri}/swa`, s3Root('swa'));
    const view = await readDataset(`${tmp.uri}/swa/views/pageviews-over-time`, 'published');
    assert.ok(view.rows.length > 100, `view has ${view.rows.length} rows`);
  });

  it('birthday-inference: every dataset on S3 equals the file:// run, row for row', async () => {
    const file = join(DAGS, 'birthday-inference.yaml');
    await compareLocalAndS3(file, BIRTHDAY_INPUT, (root) => ({ batch: `${root}/incoming/ages`, buckets: 2 }), join(tmp.dir, 'home'), `${tmp.uri}/bday`, s3Root('bday'));
    const partial = await readDataset(`${tmp.uri}/bday/views/birthdays`, 'published');
    const full = await readDataset(`${tmp.uri}/bday/views/birthdays-full`, 'published');
    assert.ok(full.rows.length > 50, `birthdays-full has ${full.rows.length} rows`);
    assert.deepEqual(partial.rows, full.rows);
    // A second batch on S3: the partial run merges on read (the first version's files listed again
    // with deletion vectors) and still equals the full recompute.
    const root = s3Root('bday');
    await generateInto(root, [...BIRTHDAY_INPUT, { kind: 'ages', dir: 'incoming/ages2', rows: 150, start: '2024-01-05', days: 1 }]);
    for (const batch of ['ages', 'ages2']) {
      // As production would: the first batch has joined the master before the second is patched in.
      if (batch === 'ages2') await generateInto(root, [{ kind: 'ages', dir: 'master/ages', rows: 150, start: '2024-01-04', days: 1 }]);
      const r = await runDag(file, { data: root, batch: `${root}/incoming/${batch}`, buckets: 2, mode: 'partial' }, { home: join(tmp.dir, 'home') });
      assert.equal(r.status.phase, 'succeeded', failures(r.status));
    }
    const mor = await readDataset(`${root}/views/birthdays`, 'published');
    assert.ok(mor.files.some((f) => (f.deletes?.count ?? 0) > 0), 'the second version has no deletion vector');
    assert.deepEqual(mor.rows, (await readDataset(`${root}/views/birthdays-full`, 'published')).rows);
  });

  // One DAG, datasets on two kinds of store: `src` and `out` roots are chosen per run.
  const MIXED = `apiVersion: dagctl/v1
kind: Dag
metadata:
  name: mixed-stores
params:
  src: ./src
  out: ./out
datasets:
  pageviews:
    uri: \${params.src}/master/pageviews
    partitionBy: date
  normalized:
    uri: \${params.out}/batch/pageviews-normalized
    partitionBy: date
  rejects:
    uri: \${params.out}/batch/pageviews-rejects
    partitionBy: date
tasks:
  - name: normalize
    operator: normalize
    inputs: [pageviews]
    outputs: [normalized, rejects]
    params:
      urlColumns: [url]
      idColumns: [person]
      foldWww: true
      trailingSlash: strip
`;

  it('a DAG mixing stores: local sources → S3 outputs, and S3 sources → local outputs', async () => {
    const file = writeText(join(tmp.dir, 'mixed.yaml'), MIXED);
    const home = join(tmp.dir, 'home');
    const input = SWA_INPUT.slice(0, 1);
    const localSrc = `${tmp.uri}/mixed-src`;
    const s3Src = s3Root('mixed-src');
    await generateInto(localSrc, input);
    await generateInto(s3Src, input);

    const runs: Array<{ src: string; out: string }> = [
      { src: localSrc, out: `${tmp.uri}/mixed-ref` }, // the all-local reference
      { src: localSrc, out: s3Root('mixed-out') },
      { src: s3Src, out: `${tmp.uri}/mixed-out` },
    ];
    const results: Array<Map<string, string[]>> = [];
    for (const p of runs) {
      const r = await runDag(file, p, { home });
      assert.equal(r.status.phase, 'succeeded', failures(r.status));
      const all = await readAllDatasets(file, p);
      results.push(new Map([...all].map(([k, v]) => [k, v.rows])));
      const normalized = all.get('normalized');
      assert.equal(normalized?.version, r.status.runId, `${p.out}: not published by this run`);
    }
    const [ref, ...others] = results;
    assert.ok(ref !== undefined && (ref.get('normalized')?.length ?? 0) > 0);
    assert.equal((ref.get('normalized')?.length ?? 0) + (ref.get('rejects')?.length ?? 0), 3000, 'rows lost or duplicated');
    for (const o of others) assert.deepEqual(o, ref);
  });
});
