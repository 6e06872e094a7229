/**
 * Code bundles in the object store: a DAG whose datasets live in S3 (the real S3 server of
 * scripts/provision/s3.sh) and that declares a TypeScript operator module, run by a real
 * `dagctl worker` on real Redis.
 *  - submitted with `dagctl run --redis --detach`, its bundle is uploaded once, by hash, to the
 *    bucket's `_dagctl/bundles/` and the run record carries only a reference; the worker, started
 *    before the code existed on a fresh bundle cache, fetches it from S3 (then cached by hash on
 *    its disk) and runs it: the rows it dropped equal an independent count;
 *  - a bundle altered in S3 fails the module's instances with BUNDLE_INVALID, a deleted one with
 *    BUNDLE_NOT_FOUND; nothing is published.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { loadDag } from '../../definitions/load.js';
import { BUNDLE_FOLDER, bundleStoreOf, placeBundle } from '../../operators/modules/bundle-store.js';
import { createRunRecord, newRunId } from '../../scheduler/create-run.js';
import { loadPlanningContext } from '../../scheduler/plan/context.js';
import type { RunState } from '../../scheduler/engine/state.js';
import { openObjectStore } from '../../storage/open.js';
import { readCurrent } from '../../storage/dataset/publish.js';
import { deleteUri, freshUri, rawClient, requireS3, testBucket } from '../s3/env.js';
import { BIN, submit, waitFinished } from './cluster.js';
import { distributedSuite } from './fixture.js';
import { redisUrl } from './redis-env.js';

const moduleText = (nonce: string): string => `import { defineOperator, z } from 'dagctl';
import type { Row } from 'dagctl';
import { looksLikeBot } from './lib/bots.js';
// ${nonce}
export default defineOperator({
  params: z.object({}).strict(),
  async run(ctx) {
    const input = ctx.inputs[0]!;
    const schema = await input.schema();
    if (schema === null) return { metrics: { dropped: 0 } };
    const out = ctx.outputs[0]!.open(schema);
    let dropped = 0;
    for await (const b of input.batches()) {
      const keep: Row[] = [];
      for (const r of b) if (looksLikeBot(r.agent)) dropped++; else keep.push(r);
      await out.write(keep);
    }
    return { metrics: { dropped } };
  },
});
`;
const LIB = `export const looksLikeBot = (a: unknown): boolean => typeof a === 'string' && /bot|spider/i.test(a);\n`;
const DAYS = ['2024-06-01', '2024-06-02'];

describe('operator modules on a dagctl worker, code bundles in S3', function () {
  const f = distributedSuite(this, 180_000);
  const cluster = f.suiteCluster();
  const uris: string[] = [];
  /** Bundle objects this suite uploaded (keys in the test bucket). */
  const bundleKeys: string[] = [];
  let dir = '';
  let logs = '';
  const agents: string[] = [];
  let cache = '';

  before(async function () {
    requireS3(this);
    dir = await mkdtemp(path.join(tmpdir(), 'dagctl-bundle-s3-'));
    // The access logs, in S3.
    logs = freshUri('logs');
    uris.push(logs);
    const store = await openObjectStore(logs);
    for (const day of DAYS) {
      const lines: string[] = [];
      for (let i = 0; i < 90; i++) {
        const agent = i % 4 === 0 ? 'Googlebot/2.1' : i % 7 === 0 ? 'Baiduspider' : `Mozilla/5.0 (${day} ${i})`;
        agents.push(agent);
        lines.push(`10.3.0.${i % 30} - - [${day.slice(8)}/Jun/2024:0${i % 10}:1${i % 6}:00 +0000] "GET /s/${i % 20} HTTP/1.1" 200 ${i} "-" "${agent}"`);
      }
      await store.putIfAbsent(`date=${day}/a.log`, Buffer.from(lines.join('\n') + '\n'));
    }
    // One worker, on a bundle cache of its own, started before any operator code exists.
    cache = path.join(dir, 'worker-cache');
    const saved = process.env.DAGCTL_BUNDLE_CACHE;
    process.env.DAGCTL_BUNDLE_CACHE = cache;
    try {
      await cluster.startWorker(['--concurrency', '2']);
    } finally {
      if (saved === undefined) delete process.env.DAGCTL_BUNDLE_CACHE;
      else process.env.DAGCTL_BUNDLE_CACHE = saved;
    }
  });

  after(async () => {
    for (const u of uris) await deleteUri(u);
    const s3 = rawClient();
    try {
      for (const Key of bundleKeys) await s3.send(new DeleteObjectCommand({ Bucket: testBucket(), Key }));
    } finally {
      s3.destroy();
    }
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  /** A project folder with the module (its text varies with `nonce`) and a DAG over fresh S3 datasets. */
  async function project(nonce: string): Promise<{ proj: string; name: string; humans: string }> {
    const proj = path.join(dir, nonce);
    await mkdir(path.join(proj, 'ops/lib'), { recursive: true });
    await writeFile(path.join(proj, 'ops/bots.ts'), moduleText(nonce));
    await writeFile(path.join(proj, 'ops/lib/bots.ts'), LIB);
    const raw = freshUri('raw');
    const humans = freshUri('humans');
    uris.push(raw, humans);
    const name = `bundles3${nonce}${Date.now().toString(36)}`;
    await writeFile(path.join(proj, 'dag.yaml'), `apiVersion: dagctl/v1
kind: Dag
metadata: { name: ${name} }
defaults: { retries: 0, timeout: 1m }
operators: { bots: ./ops/bots.ts }
datasets:
  log: { uri: "${logs}", format: text, partitionBy: date }
  raw: { uri: "${raw}", partitionBy: date }
  humans: { uri: "${humans}", partitionBy: date }
tasks:
  - { name: parse, operator: parse-access-log, inputs: [log], outputs: [raw] }
  - { name: bots, operator: bots, inputs: [raw], outputs: [humans] }
`);
    return { proj, name, humans };
  }

  const botInstances = (s: RunState): Array<[string, RunState['instances'][string]]> => Object.entries(s.instances).filter(([id]) => id.startsWith('bots.main'));

  it('the worker fetches the bundle from S3 by hash and runs the module; the record holds only a reference', async () => {
    const { proj } = await project('ok');
    const cli = spawn(process.execPath, [BIN, 'run', 'dag.yaml', '--redis', redisUrl(), '--detach', '--json'], { cwd: proj, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DAGCTL_HOME: path.join(proj, '.dagctl'), DAGCTL_BUNDLE_CACHE: path.join(dir, 'cache-cli') } });
    let out = '';
    let err = '';
    cli.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    cli.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const [code] = (await once(cli, 'exit')) as [number];
    assert.equal(code, 0, out + err);
    const runId = (JSON.parse(out) as { runId: string }).runId;
    // The submitter's copy of the code is gone: the worker can only have the bundle in S3.
    await rm(path.join(proj, 'ops'), { recursive: true });

    const final = await waitFinished(f.store, runId, 120_000);
    assert.equal(final.phase, 'succeeded', JSON.stringify(Object.values(final.instances).filter((i) => i.error !== undefined)));
    const record = await f.store.getRecord(runId);
    const hash = record?.dag.modules?.bots?.bundle;
    assert.ok(hash !== undefined);
    bundleKeys.push(`${BUNDLE_FOLDER}/${hash}.json`);
    assert.equal(record?.bundle, undefined, 'the Redis record carries no code');
    assert.deepEqual(record?.bundleRef, { uri: `s3://${testBucket()}/${BUNDLE_FOLDER}`, hash });
    const inS3 = await (await openObjectStore(`s3://${testBucket()}/${BUNDLE_FOLDER}`)).head(`${hash}.json`);
    assert.ok(inS3 !== null, 'the bundle object is in the bucket');
    const bots = botInstances(final);
    assert.equal(bots.length, DAYS.length);
    assert.equal(bots.reduce((n, [, s]) => n + (s.result?.metrics.dropped ?? 0), 0), agents.filter((a) => /bot|spider/i.test(a)).length);
    // Fetched once and cached by hash on the worker's disk, and materialized from there.
    assert.ok((await readdir(path.join(cache, 'src'))).includes(`${hash}.json`));
    assert.ok((await readdir(cache)).includes(hash));
  });

  /** Builds a run of a fresh project, uploads its bundle, lets `alter` change the object in S3, then submits it. */
  async function runWithAlteredBundle(nonce: string, alter: (bucketKey: string) => Promise<void>): Promise<{ final: RunState; humans: string }> {
    const { proj, humans } = await project(nonce);
    const saved = process.env.DAGCTL_BUNDLE_CACHE;
    process.env.DAGCTL_BUNDLE_CACHE = path.join(dir, `cache-${nonce}`);
    try {
      const loaded = await loadDag(path.join(proj, 'dag.yaml'));
      assert.ok(loaded.dag !== undefined, JSON.stringify(loaded.issues));
      const ctx = await loadPlanningContext(loaded.dag, undefined, f.store);
      const now = Date.now();
      const { record } = createRunRecord({ dag: loaded.dag, text: loaded.text, ctx, options: { force: false, params: {}, executor: 'bullmq' }, now, runId: newRunId(loaded.dag.name, now, nonce), bundle: loaded.bundle });
      const storeUri = bundleStoreOf(loaded.dag, 'bullmq', {}, proj);
      assert.equal(storeUri, `s3://${testBucket()}/${BUNDLE_FOLDER}`);
      const placed = await placeBundle(record, storeUri);
      assert.equal(placed.bundle, undefined);
      const key = `${BUNDLE_FOLDER}/${placed.bundleRef!.hash}.json`;
      bundleKeys.push(key);
      await alter(key);
      await submit(f.store, placed);
      return { final: await waitFinished(f.store, placed.runId, 120_000), humans };
    } finally {
      if (saved === undefined) delete process.env.DAGCTL_BUNDLE_CACHE;
      else process.env.DAGCTL_BUNDLE_CACHE = saved;
    }
  }

  it('a bundle altered in S3 is BUNDLE_INVALID, a deleted one BUNDLE_NOT_FOUND: the module never runs', async () => {
    const s3 = rawClient();
    try {
      const cases: Array<[string, (key: string) => Promise<void>, string]> = [
        ['tampered', async (key) => { await s3.send(new DeleteObjectCommand({ Bucket: testBucket(), Key: key })); await s3.send(new PutObjectCommand({ Bucket: testBucket(), Key: key, Body: JSON.stringify({ files: { 'ops/bots.ts': 'export default 1;' } }) })); }, 'BUNDLE_INVALID'],
        ['missing', async (key) => { await s3.send(new DeleteObjectCommand({ Bucket: testBucket(), Key: key })); }, 'BUNDLE_NOT_FOUND'],
      ];
      for (const [nonce, alter, code] of cases) {
        const { final, humans } = await runWithAlteredBundle(nonce, alter);
        assert.equal(final.phase, 'failed', nonce);
        const bots = botInstances(final);
        assert.equal(bots.length, DAYS.length);
        for (const [id, s] of bots) assert.equal(s.errorCode, code, `${nonce} ${id}: ${s.error ?? ''}`);
        assert.equal(await readCurrent(await openObjectStore(humans)), null, `${nonce}: nothing published`);
      }
    } finally {
      s3.destroy();
    }
  });
});
