/**
 * Acceptance: with a fault-injecting proxy between `dagctl run` and the S3 server — 500/503 for a
 * fraction of all requests, and responses dropped after the server applied a PUT — DAG runs still
 * succeed, with no duplicate, partial or lost files.
 *
 * The CLI child process talks to test/s3/fault-proxy.ts (AWS_ENDPOINT_URL points at it); the test
 * itself generates the input and audits the result straight on the server. After the run (and a
 * second, memoized run through the same faults), every object under the data root is audited
 * (audit.ts): markers' and manifests' files exist with their recorded sha256 and size, no file is
 * committed twice, leftovers of losing attempts are counted; the published view equals the
 * fault-free view of the same input.
 * Preconditions: the S3 test server; dist/ built.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { sha256Hex } from '../../core/hash.js';
import { jsonBytes } from '../../storage/dataset/layout.js';
import { S3ObjectStore } from '../../storage/s3/store.js';
import { startFaultProxy, type FaultProxy } from '../s3/fault-proxy.js';
import { deleteUri, freshUri, requireS3 } from '../s3/env.js';
import { auditTree } from './audit.js';
import { DAGS, failures, generateInto, readAllDatasets, runDag, SWA_INPUT, tempDir } from './harness.js';

describe('e2e: a DAG run through S3 faults', function () {
  this.timeout(300_000);
  let proxy: FaultProxy;
  let tmp: ReturnType<typeof tempDir>;
  let root: string;

  before(async function () {
    requireS3(this);
    tmp = tempDir('faults');
    root = freshUri('faults');
    const upstream = process.env.DAGCTL_S3_ENDPOINT ?? process.env.AWS_ENDPOINT_URL ?? '';
    proxy = await startFaultProxy(upstream, { errorRate: 0.1, dropPutRate: 0.25, seed: 11 });
  });
  after(async () => {
    await proxy?.close();
    tmp?.dispose();
    await deleteUri(root);
  });

  it('superwebanalytics succeeds through 5xx and lost PUT responses; no duplicate, partial or lost file', async () => {
    const file = join(DAGS, 'superwebanalytics.yaml');
    const home = join(tmp.dir, 'home');
    const local = `${tmp.uri}/ref`;
    await generateInto(local, SWA_INPUT);
    await generateInto(root, SWA_INPUT); // straight to the server: the input is not under test
    const ref = await runDag(file, { data: local, buckets: 2 }, { home });
    assert.equal(ref.status.phase, 'succeeded', failures(ref.status));

    // Every endpoint variable the store reads, so nothing in the child bypasses the proxy.
    const viaProxy = { AWS_ENDPOINT_URL: proxy.endpoint, AWS_ENDPOINT_URL_S3: proxy.endpoint, DAGCTL_S3_ENDPOINT: proxy.endpoint };
    const first = await runDag(file, { data: root, buckets: 2 }, { home, env: viaProxy, timeoutMs: 240_000 });
    assert.equal(first.status.phase, 'succeeded', failures(first.status));
    const afterFirst = { ...proxy.stats };
    const retried = first.status.tasks.filter((t) => t.attempts > 1).length;
    // The faults really happened (else this test proves nothing).
    assert.ok(afterFirst.injectedErrors >= 20, JSON.stringify(afterFirst));
    assert.ok(afterFirst.droppedAfterApply >= 10, JSON.stringify(afterFirst));
    // A second run through the faults finds every instance committed and changes nothing.
    const second = await runDag(file, { data: root, buckets: 2 }, { home, env: viaProxy, timeoutMs: 240_000 });
    assert.equal(second.status.phase, 'succeeded', failures(second.status));

    const store = new S3ObjectStore(root);
    try {
      const audit = await auditTree(store);
      console.log(
        `      proxy: ${JSON.stringify(proxy.stats)}; audit: ${audit.roots.length} dataset roots, ${audit.markers} markers, ${audit.manifests} manifests, ` +
          `${audit.dataFiles} data files (${audit.referenced} committed, ${audit.leftovers.length} leftovers of losing attempts); ${retried} instances needed a task-level retry`,
      );
      assert.deepEqual(audit.problems, []);
      // 7 outputs, each published once (the memoized second run publishes nothing new).
      assert.equal(audit.manifests, 7, JSON.stringify(audit));
      assert.ok(audit.referenced > 0, JSON.stringify(audit));
    } finally {
      store.close();
    }

    const want = await readAllDatasets(file, { data: local, buckets: 2 });
    const got = await readAllDatasets(file, { data: root, buckets: 2 });
    for (const [name, w] of want) {
      const g = got.get(name);
      assert.ok(g !== undefined, name);
      if (g.version !== null) assert.equal(g.version, first.status.runId, `${name}: not published by the faulty run`);
      assert.deepEqual(g.rows, w.rows, `${name}: differs from the fault-free run`);
    }
  });

  it('the audit itself flags a doubly committed, a missing and a tampered file', async () => {
    const store = new S3ObjectStore(`${root}/audit-self-check`);
    try {
      const a = new TextEncoder().encode('a');
      const b = new TextEncoder().encode('b');
      await store.putIfAbsent('ds/part-00000-a.parquet', a);
      await store.putIfAbsent('ds/part-00001-b.parquet', b);
      await store.putIfAbsent('ds/part-00002-c.parquet', b); // committed by nobody: a leftover
      const entry = (path: string, body: Uint8Array, sha = sha256Hex(body)) => ({ path, rows: 1, bytes: body.byteLength, sha256: sha });
      const marker = (id: string, files: ReturnType<typeof entry>[]) => jsonBytes({ instanceId: id, fingerprint: 'f'.repeat(64), runId: 'r', committedAt: new Date().toISOString(), files });
      await store.putIfAbsent('ds/_commits/x@ffffffffffffffff.json', marker('x', [entry('part-00000-a.parquet', a)]));
      await store.putIfAbsent('ds/_commits/y@ffffffffffffffff.json', marker('y', [entry('part-00000-a.parquet', a), entry('part-00001-b.parquet', b, sha256Hex(a)), entry('part-00009-z.parquet', b)]));
      const audit = await auditTree(store);
      assert.deepEqual(audit.leftovers, ['ds/part-00002-c.parquet']);
      assert.deepEqual(
        audit.problems.map((p) => [p.kind, p.key]).sort(),
        [['double-commit', 'ds/part-00000-a.parquet'], ['missing', 'ds/part-00009-z.parquet'], ['sha256', 'ds/part-00001-b.parquet']],
      );
    } finally {
      store.close();
    }
  });
});
