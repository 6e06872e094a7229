/**
 * End-to-end ingest tests against a real Kafka broker (scripts/provision/kafka.sh), over real
 * connections, no mocks: produce pageviews (valid, duplicated, malformed, over several days) to a
 * multi-partition topic, ingest, read the dataset back with listSource + readRows and compare it
 * with what was produced as an exact multiset. Crashes are real SIGKILLs of a child process:
 * at a random point, and right after each step of the commit protocol. Skips without
 * DAGCTL_TEST_KAFKA_BROKERS unless CI is set (then fails).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { isDagctlError } from '../../core/errors.js';
import { ingestKafka, type IngestSummary } from '../../ingest/kafka/consumer.js';
import { LocalObjectStore } from '../../storage/local/store.js';
import { ingestCommand } from '../../cli/commands/ingest.js';
import { tempDir } from '../storage/helpers.js';
import { brokers, createTopic, multisetDiff, produceAges, producePageviews, readBack, requireKafka, sum, uniqueTopic, type AgesProduced, type Produced } from './kafka-env.js';
import type { IngestMarker } from '../../ingest/offsets.js';
import { listCommitMarkers, listSource, readRows } from '../../storage/dataset/index.js';
import { defaultCodec } from '../../storage/parquet/registry.js';

const CHILD = fileURLToPath(new URL('./child.js', import.meta.url));

async function check(store: LocalObjectStore, produced: Produced, partitions: number): Promise<void> {
  const rb = await readBack(store);
  assert.deepEqual(multisetDiff(produced.expected, rb.committed), [], 'committed view = produced valid records, exactly once');
  assert.deepEqual(multisetDiff(produced.expected, rb.listed), [], 'listSource view = produced valid records, exactly once');
  assert.deepEqual(rb.listedFiles, rb.committedFiles, 'no uncommitted files left behind');
  assert.equal(rb.misplaced, 0, 'every row sits in the date= partition of its ts');
  const rejects: Record<string, number> = {};
  let records = 0;
  const perPartition = new Map<number, [number, number][]>();
  for (const m of rb.markers) {
    records += m.ingest.records;
    for (const [k, v] of Object.entries(m.ingest.rejects)) rejects[k] = (rejects[k] ?? 0) + v;
    assert.equal(m.instanceId, `ingest-${m.ingest.topic}-p${m.ingest.partition}-${m.ingest.firstOffset}-${m.ingest.lastOffset}`);
    const l = perPartition.get(m.ingest.partition) ?? [];
    l.push([m.ingest.firstOffset, m.ingest.lastOffset]);
    perPartition.set(m.ingest.partition, l);
  }
  assert.equal(records, produced.records, 'every Kafka record is in exactly one batch');
  assert.deepEqual(rejects, produced.rejects);
  // Batches tile each partition's offsets 0..end with no gap and no overlap.
  assert.equal(perPartition.size, partitions);
  for (const [p, ranges] of perPartition) {
    ranges.sort((a, b) => a[0] - b[0]);
    let next = 0;
    for (const [f, l] of ranges) {
      assert.equal(f, next, `partition ${p} ranges contiguous`);
      next = l + 1;
    }
  }
  assert.ok(sum(rb.committed) > 0 && produced.dates.size === 3);
}

interface ChildRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs child.js; with killAfterBatches, SIGKILLs it a random 0-200 ms after that many batch lines. */
function runChild(args: string[], killAfterBatches?: number): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let batches = 0;
    c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    c.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      batches = (stderr.match(/: batch ingest-\S+ committed/g) ?? []).length;
      if (killAfterBatches !== undefined && batches >= killAfterBatches) {
        killAfterBatches = undefined;
        setTimeout(() => c.kill('SIGKILL'), Math.floor(Math.random() * 200));
      }
    });
    const t = setTimeout(() => c.kill('SIGKILL'), 100_000);
    c.on('error', reject);
    c.on('close', (code, signal) => {
      clearTimeout(t);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

describe('ingest kafka (real broker)', function () {
  this.timeout(180_000);
  requireKafka(this);

  it('ingests records exactly once into date partitions, rejects counted; a re-run adds nothing', async () => {
    const topic = uniqueTopic('e2e');
    await createTopic(topic, 3);
    const produced = await producePageviews(topic, 3, 3000, 7);
    const store = new LocalObjectStore(await tempDir('ingest-e2e'));
    const s = await ingestKafka({ brokers: brokers(), topic, store, groupId: `g-${topic}`, maxBatchRecords: 250, maxBatchMs: 1_000, untilIdleMs: 1_500 });
    assert.equal(s.stoppedBy, 'idle');
    assert.equal(s.records, 3000);
    assert.equal(s.rows, sum(produced.expected));
    assert.equal(s.rejects, Object.values(produced.rejects).reduce((a, b) => a + b, 0));
    assert.ok(s.batches >= 12, `batches bounded by 250 records: ${s.batches}`);
    for (const p of Object.values(s.partitions)) assert.equal(p.lag, 0);
    await check(store, produced, 3);
    const files = (await store.list('')).map((o) => o.key);

    // Same group, and a fresh group (no advisory offsets at all): the dataset says all is done.
    for (const groupId of [`g-${topic}`, `g2-${topic}`]) {
      const again = await ingestKafka({ brokers: brokers(), topic, store, groupId, maxBatchRecords: 250, maxBatchMs: 1_000, untilIdleMs: 1_500 });
      assert.equal(again.batches + again.skippedBatches, 0);
      assert.equal(again.records, 0);
    }
    assert.deepEqual((await store.list('')).map((o) => o.key), files);

    // Appending to the topic later ingests only the new records.
    await producePageviews(topic, 3, 600, 8, produced);
    const more = await ingestKafka({ brokers: brokers(), topic, store, groupId: `g-${topic}`, maxBatchRecords: 250, maxBatchMs: 1_000, untilIdleMs: 1_500 });
    assert.equal(more.records, 600);
    await check(store, produced, 3);
  });

  it('SIGKILL at a random point, then restart: every record exactly once (CLI, same group)', async () => {
    const topic = uniqueTopic('kill');
    await createTopic(topic, 3);
    const produced = await producePageviews(topic, 3, 4000, 11);
    const dir = await tempDir('ingest-kill');
    const args = ['cli', 'kafka', '--brokers', brokers().join(','), '--topic', topic, '--out', dir, '--max-batch-records', '100', '--max-batch-ms', '1000', '--until-idle', '2000'];
    const killAt = 2 + Math.floor(Math.random() * 10);
    const first = await runChild(args, killAt);
    assert.equal(first.signal, 'SIGKILL', `killed after ${killAt} batches\n${first.stderr.slice(-2000)}`);
    const second = await runChild([...args, '--json']);
    assert.equal(second.code, 0, second.stderr.slice(-2000));
    const s = JSON.parse(second.stdout) as IngestSummary;
    assert.equal(s.stoppedBy, 'idle');
    assert.ok(s.records < 4000, 'the restart did not start over');
    await check(new LocalObjectStore(dir), produced, 3);
  });

  for (const step of ['claimed', 'files-written', 'marker-written', 'offsets-committed'] as const) {
    it(`crash right after "${step}" of batch 3, then restart: exactly once`, async () => {
      const topic = uniqueTopic(`f-${step}`);
      await createTopic(topic, 2);
      const produced = await producePageviews(topic, 2, 1200, 13);
      const dir = await tempDir('ingest-fault');
      const group = `g-${topic}`;
      const crashed = await runChild(['fault', step, '3', brokers().join(','), topic, dir, group, '100']);
      assert.equal(crashed.signal, 'SIGKILL', crashed.stderr.slice(-2000));
      const store = new LocalObjectStore(dir);
      const mid = await readBack(store);
      assert.equal(mid.markers.length, step === 'claimed' || step === 'files-written' ? 2 : 3);
      if (step === 'files-written') assert.ok(mid.listedFiles.length > mid.committedFiles.length, 'listSource shows the crashed batch\'s uncommitted files');
      const done = await runChild(['fault', 'none', '0', brokers().join(','), topic, dir, group, '100']);
      assert.equal(done.code, 0, done.stderr.slice(-2000));
      await check(store, produced, 2);
    });
  }

  it('two ingesters on one dataset at once (different groups): claims keep it exactly once', async () => {
    const topic = uniqueTopic('race');
    await createTopic(topic, 2);
    const produced = await producePageviews(topic, 2, 2000, 17);
    const store = new LocalObjectStore(await tempDir('ingest-race'));
    // Different time bounds: left alone, they would cut different batches.
    const [a, b] = await Promise.all([
      ingestKafka({ brokers: brokers(), topic, store, groupId: `ga-${topic}`, maxBatchRecords: 150, maxBatchMs: 300, untilIdleMs: 2_000 }),
      ingestKafka({ brokers: brokers(), topic, store, groupId: `gb-${topic}`, maxBatchRecords: 90, maxBatchMs: 700, untilIdleMs: 2_000 }),
    ]);
    assert.ok(a.records + b.records >= 2000);
    await check(store, produced, 2);
  });

  it('ages (--kind ages): SIGKILL at a random point, then restart: every sample exactly once, bad ages rejected; a pageviews ingester on that dataset is INGEST_CONFLICT', async () => {
    const topic = uniqueTopic('ages');
    await createTopic(topic, 2);
    const produced: AgesProduced = { expected: new Map(), persons: new Set(), records: 0, rejects: 0 };
    await produceAges(topic, produced, Array.from({ length: 250 }, (_, k) => k), 8, 0, 3);
    const dir = await tempDir('ingest-ages-kill');
    const args = ['cli', 'kafka', '--kind', 'ages', '--brokers', brokers().join(','), '--topic', topic, '--out', dir, '--max-batch-records', '100', '--max-batch-ms', '1000', '--until-idle', '2000'];
    const killAt = 2 + Math.floor(Math.random() * 8);
    const first = await runChild(args, killAt);
    assert.equal(first.signal, 'SIGKILL', `killed after ${killAt} batches\n${first.stderr.slice(-2000)}`);
    const second = await runChild([...args, '--json']);
    assert.equal(second.code, 0, second.stderr.slice(-2000));
    const s = JSON.parse(second.stdout) as IngestSummary;
    assert.ok(s.records < produced.records, 'the restart did not start over');
    const store = new LocalObjectStore(dir);
    const markers = await listCommitMarkers(store);
    assert.equal(markers.reduce((n, m) => n + (m.marker as IngestMarker).ingest.records, 0), produced.records, 'the batches tile the topic');
    assert.equal(markers.reduce((n, m) => n + ((m.marker as IngestMarker).ingest.rejects['bad-age'] ?? 0) + ((m.marker as IngestMarker).ingest.rejects['invalid-json'] ?? 0), 0), produced.rejects);
    const got = new Map<string, number>();
    for await (const b of readRows(store, await listSource(store, { format: 'parquet', partitionBy: 'date', committed: 'auto' }), defaultCodec())) {
      for (const r of b) {
        const k = `${String(r.person)}\t${String(r.age)}\t${String(r.ts)}`;
        got.set(k, (got.get(k) ?? 0) + 1);
      }
    }
    assert.deepEqual(multisetDiff(produced.expected, got), []);
    await assert.rejects(ingestKafka({ brokers: brokers(), topic, store, groupId: `g3-${topic}`, untilIdleMs: 1_000 }), (e) => isDagctlError(e, 'INGEST_CONFLICT'));
  });

  it('fails with stable codes: unknown topic, unreachable broker, bad usage', async () => {
    const store = new LocalObjectStore(await tempDir('ingest-err'));
    await assert.rejects(ingestKafka({ brokers: brokers(), topic: uniqueTopic('missing'), store, groupId: 'g-missing', untilIdleMs: 500 }), (e) => isDagctlError(e, 'KAFKA_TOPIC_NOT_FOUND'));
    await assert.rejects(ingestKafka({ brokers: ['127.0.0.1:1'], topic: 'x', store, groupId: 'g-x', untilIdleMs: 500 }), (e) => isDagctlError(e, 'KAFKA_UNAVAILABLE'));
    const io = { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd(), interrupted: new AbortController().signal };
    await assert.rejects(ingestCommand.run({ values: { brokers: brokers().join(','), out: '/tmp/x' }, positionals: ['kafka'] }, io), (e) => isDagctlError(e, 'USAGE'));
    await assert.rejects(ingestCommand.run({ values: { brokers: brokers().join(','), topic: 't', out: '/tmp/x', 'max-batches': '1', 'until-idle': '5' }, positionals: ['kafka'] }, io), (e) => isDagctlError(e, 'USAGE'));
    await assert.rejects(ingestCommand.run({ values: { brokers: brokers().join(','), topic: 't', out: '/tmp/x', kind: 'equivs' }, positionals: ['kafka'] }, io), (e) => isDagctlError(e, 'USAGE'));
  });
});
