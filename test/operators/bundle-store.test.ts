/**
 * Code bundles in an object store (operators/modules/bundle-store.ts), on a local folder store:
 *  - where a run's bundle goes: worker-carried runs with an S3 dataset → that bucket's
 *    `_dagctl/bundles`, DAGCTL_BUNDLE_STORE overrides (a relative folder made absolute), embedded
 *    runs and DAGs without modules keep it in the record;
 *  - the upload is create-only and idempotent (a second run of the same code writes nothing new);
 *    an object at the hash's key that is not the bundle is BUNDLE_INVALID at upload and at fetch;
 *  - runBundle fetches by hash into the machine's cache, and a corrupt cache entry is fetched again;
 *    a missing object is BUNDLE_NOT_FOUND.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { errorCode } from '../../core/errors.js';
import { fingerprint } from '../../core/hash.js';
import type { DagSpec } from '../../definitions/types.js';
import type { CodeBundle } from '../../operators/modules/bundle.js';
import { bundleStoreOf, placeBundle, runBundle } from '../../operators/modules/bundle-store.js';

const files = (nonce: string): Record<string, string> => ({ 'dag.yaml': 'kind: Dag\n', 'ops/x.ts': `export default 1; // ${nonce}\n` });
const bundleOf = (nonce: string): CodeBundle => ({ hash: fingerprint({ bundle: 1, files: files(nonce) }), files: files(nonce) });
const dagWith = (uris: string[], modules = true): DagSpec =>
  ({ name: 'd', datasets: Object.fromEntries(uris.map((u, i) => [`d${i}`, { uri: u }])), tasks: [], ...(modules ? { modules: { x: { module: './ops/x.ts', entry: 'ops/x.ts', codeHash: 'c', bundle: 'b' } } } : {}) }) as unknown as DagSpec;

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    return errorCode(e);
  }
}

describe('code bundles in an object store', () => {
  let dir = '';
  const saved = process.env.DAGCTL_BUNDLE_CACHE;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'dagctl-bstore-'));
  });
  after(async () => {
    if (saved === undefined) delete process.env.DAGCTL_BUNDLE_CACHE;
    else process.env.DAGCTL_BUNDLE_CACHE = saved;
    await rm(dir, { recursive: true, force: true });
  });

  it('decides where a run keeps its bundle', () => {
    const s3 = dagWith(['./local/a', 's3://data-bucket/x/y', 's3://other-bucket/z']);
    assert.equal(bundleStoreOf(s3, 'bullmq', {}, '/w'), 's3://data-bucket/_dagctl/bundles');
    assert.equal(bundleStoreOf(s3, 'embedded', {}, '/w'), null);
    // A bucket the run writes comes before a source's (a source may be read-only master data).
    const writes = { ...s3, tasks: [{ name: 't', outputs: ['d2'] }] } as unknown as DagSpec;
    assert.equal(bundleStoreOf(writes, 'bullmq', {}, '/w'), 's3://other-bucket/_dagctl/bundles');
    assert.equal(bundleStoreOf(dagWith(['./local/a']), 'bullmq', {}, '/w'), null);
    assert.equal(bundleStoreOf(dagWith(['s3://data-bucket/x'], false), 'bullmq', {}, '/w'), null);
    assert.equal(bundleStoreOf(dagWith(['./local/a']), 'bullmq', { DAGCTL_BUNDLE_STORE: 's3://code/b/' }, '/w'), 's3://code/b');
    assert.equal(bundleStoreOf(s3, 'bullmq', { DAGCTL_BUNDLE_STORE: 'shared/bundles' }, '/w'), '/w/shared/bundles');
    assert.equal(bundleStoreOf(s3, 'embedded', { DAGCTL_BUNDLE_STORE: 's3://code/b' }, '/w'), null);
  });

  it('uploads once by hash, fetches into the cache, refetches a corrupt cache entry', async () => {
    const store = path.join(dir, 'store');
    const b = bundleOf('a');
    const placed = await placeBundle({ runId: 'r', bundle: b }, store);
    assert.deepEqual(placed, { runId: 'r', bundleRef: { uri: store, hash: b.hash } });
    const stored = await readFile(path.join(store, `${b.hash}.json`));
    await placeBundle({ runId: 'r2', bundle: b }, store); // the same code again: nothing changes
    assert.deepEqual(await readFile(path.join(store, `${b.hash}.json`)), stored);

    process.env.DAGCTL_BUNDLE_CACHE = path.join(dir, 'cache1');
    assert.deepEqual(await runBundle(undefined, placed.bundleRef), b);
    const cached = path.join(dir, 'cache1', 'src', `${b.hash}.json`);
    assert.deepEqual(JSON.parse(await readFile(cached, 'utf8')), { hash: b.hash, files: b.files });
    // Another process with a corrupt cache entry: not trusted, fetched again.
    process.env.DAGCTL_BUNDLE_CACHE = path.join(dir, 'cache2');
    const b2 = bundleOf('b');
    const ref2 = (await placeBundle({ bundle: b2 }, store)).bundleRef;
    const cached2 = path.join(dir, 'cache2', 'src', `${b2.hash}.json`);
    await rm(path.dirname(cached2), { recursive: true, force: true });
    await mkdir(path.dirname(cached2), { recursive: true });
    await writeFile(cached2, JSON.stringify({ hash: b2.hash, files: { 'ops/x.ts': 'evil' } }));
    assert.deepEqual(await runBundle(undefined, ref2), b2);
    assert.deepEqual(JSON.parse(await readFile(cached2, 'utf8')).files, b2.files);
  });

  it('an altered object is BUNDLE_INVALID (upload and fetch), a missing one BUNDLE_NOT_FOUND', async () => {
    const store = path.join(dir, 'store-bad');
    process.env.DAGCTL_BUNDLE_CACHE = path.join(dir, 'cache3');
    const b = bundleOf('c');
    const ref = (await placeBundle({ bundle: b }, store)).bundleRef;
    await rm(path.join(store, `${b.hash}.json`));
    await writeFile(path.join(store, `${b.hash}.json`), JSON.stringify({ hash: b.hash, files: { 'ops/x.ts': 'export default 2;' } }));
    assert.equal(await codeOf(runBundle(undefined, ref)), 'BUNDLE_INVALID');
    assert.equal(await codeOf(placeBundle({ bundle: b }, store)), 'BUNDLE_INVALID');
    const gone = bundleOf('d');
    assert.equal(await codeOf(runBundle(undefined, { uri: store, hash: gone.hash })), 'BUNDLE_NOT_FOUND');
  });
});
