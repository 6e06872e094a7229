/**
 * The speed layer end to end, on a real Kafka broker and a real Redis (scripts/provision/kafka.sh,
 * redis.sh), real processes, no mocks: a batch view is published by a real `dagctl run`; pageview
 * events past its high-water mark (and replays of events it absorbed) go to a 2-partition topic;
 * a speed process applying them is held at the test's barrier right after a micro-batch reached
 * Redis and SIGKILLed there (mid-stream: more is produced afterwards); the real `dagctl speed`
 * takes over. Then: Redis holds every event exactly once; `query`/`serve` answers over random
 * ranges across the batch/speed split equal a plain reference over all events (pageviews exact,
 * uniques within the HLL bound); the batch catches up (the events appended to the master dataset,
 * the DAG re-run) and the realtime hours it absorbed are expired — answers unchanged (no gap, no
 * double count), and the old batch version is refused (QUERY_VIEW_STALE).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import type { Redis } from 'ioredis';
import { isDagctlError } from '../../core/errors.js';
import { speedKeys } from '../../scheduler/redis/keys.js';
import { answer } from '../../serving/query.js';
import { startServer } from '../../serving/server.js';
import { appliedOffsets, readSpeedMeta, redisSpeedSource } from '../../serving/speed/state.js';
import { BlockCache, loadView, type ViewSnapshot } from '../../serving/view.js';
import { DataFileWriter } from '../../storage/dataset/writer.js';
import { dateFolder } from '../../storage/dataset/layout.js';
import { writeCommitMarker } from '../../storage/dataset/markers.js';
import { openObjectStore } from '../../storage/open.js';
import { defaultCodec } from '../../storage/parquet/registry.js';
import { SCHEMAS } from '../../gen/kinds.js';
import { Barrier } from '../helpers/barrier.js';
import { brokers, createTopic, requireKafka, uniqueTopic } from '../ingest/kafka-env.js';
import { redisUrl, requireRedis, testRedis } from '../distributed/redis-env.js';
import { startRun } from '../integration/support.js';
import { duckRows } from '../storage/helpers.js';
import { parquetList, runDag, servingWorkspace, withinHll, type ServingWorkspace } from './support.js';
import { untilValue } from '../helpers/until.js';

const CHILD = fileURLToPath(new URL('./speed-child.js', import.meta.url));
const H = 3600;

interface Ev {
  url: string;
  person: string;
  ts: number;
}

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

async function produce(topic: string, evs: Ev[]): Promise<void> {
  // Idempotent: a produce request retried under load (a timed-out ack) must not put an event in the
  // log twice, or the log would hold more than the reference the test compares with.
  const p = new Kafka({ clientId: 'dagctl-test', brokers: brokers(), logLevel: logLevel.NOTHING }).producer({ idempotent: true, maxInFlightRequests: 1 });
  await p.connect();
  try {
    for (let i = 0; i < evs.length; i += 200) {
      await p.send({ topic, acks: -1, messages: evs.slice(i, i + 200).map((e, j) => ({ partition: (i + j) % 2, value: JSON.stringify(e) })) });
    }
  } finally {
    await p.disconnect();
  }
}

async function highWatermarks(topic: string): Promise<Map<number, number>> {
  const admin = new Kafka({ clientId: 'dagctl-test', brokers: brokers(), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    return new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, Number(o.high)]));
  } finally {
    await admin.disconnect();
  }
}

function reference(all: Ev[], url: string, from: number, to: number): { pageviews: number; uniques: number } {
  const persons = new Set<string>();
  let pageviews = 0;
  for (const e of all) {
    if (e.url !== url || e.ts < from || e.ts >= to) continue;
    pageviews++;
    persons.add(e.person);
  }
  return { pageviews, uniques: persons.size };
}

describe('speed layer: Kafka → Redis realtime views merged with the batch view', function () {
  requireRedis(this);
  requireKafka(this);
  this.timeout(600_000);
  let ws: ServingWorkspace;
  let redis: Redis;
  const children: ChildProcess[] = [];
  before(async () => {
    redis = await testRedis();
    ws = await servingWorkspace({ rows: 3000, days: 3, seed: 21 });
  });
  after(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    redis?.disconnect();
  });

  it('exactly once across a kill -9 mid-stream, answers equal a reference over all events, expiry after a batch run', async () => {
    const viewStore = await openObjectStore(ws.viewUri);
    const snap1 = await loadView(viewStore, { cache: new BlockCache(64 << 20) });
    const view = snap1.name;
    const W = snap1.extent!.to;
    // Fresh realtime state for this view name (the view name is the namespace).
    const k = speedKeys(view);
    const old = await redis.keys(`${k.prefix}*`);
    if (old.length > 0) await redis.del(...old);

    const distinct = await parquetList(ws.dataUri, 'batch/distinct');
    const batchRows = (await duckRows(`SELECT url, person, ts FROM read_parquet(${distinct})`)).map((r) => ({ url: String(r.url), person: String(r.person), ts: Number(r.ts) }));
    const top = (await duckRows(`SELECT url FROM read_parquet(${distinct}) GROUP BY url ORDER BY count(*) DESC, url LIMIT 5`)).map((r) => String(r.url));
    const persons = [...new Set(batchRows.map((r) => r.person))].slice(0, 150);
    const rnd = rng(99);
    const seen = new Set<string>();
    const make = (fromH: number, toH: number, n: number): Ev[] => {
      const out: Ev[] = [];
      // One event per hour at least, so the batch's next high-water mark is exact.
      // Events are distinct (url, person, ts): the batch layer dedupes repeats, the speed layer does not.
      const add = (e: Ev): void => {
        const key = `${e.url}\t${e.person}\t${e.ts}`;
        if (!seen.has(key)) {
          seen.add(key);
          out.push(e);
        }
      };
      for (let h = fromH; h < toH; h++) add({ url: top[0]!, person: persons[(h * 7 + fromH) % persons.length]!, ts: W + h * H + 7 + fromH });
      while (out.length < n) {
        add({ url: top[Math.floor(rnd() * top.length)]!, person: rnd() < 0.7 ? persons[Math.floor(rnd() * persons.length)]! : `cookie:${Math.floor(rnd() * 1e6).toString(16)}f`, ts: W + fromH * H + Math.floor(rnd() * (toH - fromH) * H) });
      }
      return out;
    };
    const phaseA = make(0, 6, 1500);
    // Events the batch view absorbed already, replayed into the topic: the speed layer must drop them.
    const replays = batchRows.filter((r) => r.ts >= W - 6 * H).slice(0, 100);
    const topic = uniqueTopic('speed');
    await createTopic(topic, 2);
    await produce(topic, [...replays, ...phaseA]);

    // Process A: held at the barrier right after a micro-batch reached Redis, then killed there.
    const group = `speed-${topic}`;
    const barrier = new Barrier();
    const a = spawn(process.execPath, [CHILD, brokers().join(','), topic, group, redisUrl(), ws.viewUri, barrier.dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(a);
    let aErr = '';
    a.stderr?.on('data', (d: Buffer) => (aErr += d.toString()));
    const arrived = await barrier.waitFor('a micro-batch applied by process A', (x) => x.length >= 1, 180_000).catch((e: unknown) => {
      throw new Error(`${String(e)}\n${aErr.slice(-2000)}`);
    });
    assert.ok(arrived.every((x) => x.pid === a.pid));
    a.kill('SIGKILL');
    await new Promise((r) => a.once('close', r));
    barrier.remove();
    const afterKill = await appliedOffsets(redis, view);
    assert.ok(afterKill.size >= 1, 'process A applied something before it was killed');

    // More events after the crash; the real `dagctl speed` takes over (same group).
    const phaseB = make(2, 8, 1500);
    await produce(topic, phaseB);
    const b = startRun(ws, ['speed', '--brokers', brokers().join(','), '--topic', topic, '--redis', redisUrl(), '--group', group, '--port', '0', '--poll', '200ms', '--ttl', '3650d', ws.viewUri]);
    children.push(b.child);
    let bOut = '';
    b.child.stdout?.on('data', (d: Buffer) => (bOut += d.toString()));
    const port = await untilValue('dagctl speed to print its port', 180_000, async () => {
      const m = /"port":(\d+)/.exec(bOut);
      return m === null ? null : Number(m[1]);
    });
    const high = await highWatermarks(topic);
    await untilValue('dagctl speed to apply every record', 180_000, async () => {
      const o = await appliedOffsets(redis, view);
      for (const [p, h] of high) if ((o.get(p) ?? -1) !== h - 1) return null;
      return true;
    });
    assert.equal((await fetch(`http://127.0.0.1:${port}/readyz`)).status, 200);
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    assert.match(metrics, /dagctl_speed_batches_total \d+/);

    // Redis holds every realtime event exactly once: per hour and URL, the counters equal the events.
    const speedEvents = [...phaseA, ...phaseB];
    const perKey = new Map<string, number>();
    for (const e of speedEvents) {
      const key = `${e.ts - (e.ts % H)}\t${e.url}`;
      perKey.set(key, (perKey.get(key) ?? 0) + 1);
    }
    const got = new Map<string, number>();
    for (const h of await redis.zrange(k.hours, '0', '-1')) {
      for (const [url, n] of Object.entries(await redis.hgetall(k.pv(Number(h))))) got.set(`${h}\t${url}`, Number(n));
    }
    assert.deepEqual(got, perKey, 'realtime counters = the events past the high-water mark, each once');

    const all: Ev[] = [...batchRows, ...speedEvents];
    const end = W + 8 * H;
    const check = async (snap: ViewSnapshot, n: number): Promise<void> => {
      const speed = redisSpeedSource(redis, view);
      for (let i = 0; i < n; i++) {
        const url = top[Math.floor(rnd() * top.length)]!;
        const lo = snap.extent!.from / H, hi = end / H;
        const x = lo + Math.floor(rnd() * (hi - lo)), y = lo + Math.floor(rnd() * (hi - lo));
        const from = Math.min(x, y) * H, to = (Math.max(x, y) + 1) * H;
        const got = await answer(snap, { url }, from, to, { speed });
        const want = reference(all, url, from, to);
        assert.equal(got.pageviews, want.pageviews, `pageviews of ${url} [${from}, ${to})`);
        assert.ok(withinHll(got.uniques!, want.uniques), `uniques of ${url} [${from}, ${to}): ${got.uniques} vs ${want.uniques}`);
        assert.equal(got.realtime !== undefined, to > snap.extent!.to);
      }
    };
    await check(snap1, 40);
    // The CLI and the HTTP API answer the same across the split.
    const span = { url: top[1]!, from: W - 30 * H, to: W + 7 * H };
    const want = reference(all, span.url, span.from, span.to);
    const cli = await new Promise<string>((resolve) => {
      const q = startRun(ws, ['query', ws.viewUri, '--where', `url=${span.url}`, '--from', String(span.from), '--to', String(span.to), '--speed', redisUrl(), '--json']);
      void q.output.then((o) => resolve(o.stdout + o.stderr));
    });
    const cliAnswer = JSON.parse(cli) as { pageviews: number; uniques: number; realtime?: unknown };
    assert.equal(cliAnswer.pageviews, want.pageviews);
    assert.ok(withinHll(cliAnswer.uniques, want.uniques));
    const srv = await startServer({ views: [{ store: viewStore }], port: 0, pollMs: 60_000, cacheBytes: 64 << 20, speedRedis: redis });
    try {
      const r = await (await fetch(`http://127.0.0.1:${srv.port}/query?view=${view}&url=${encodeURIComponent(span.url)}&from=${span.from}&to=${span.to}`)).json() as { pageviews: number; uniques: number };
      assert.equal(r.pageviews, want.pageviews);
      assert.equal(r.uniques, cliAnswer.uniques);

      // The batch catches up: the first 4 realtime hours land in the master dataset, the DAG re-runs.
      const W2 = W + 4 * H;
      const absorbed = speedEvents.filter((e) => e.ts < W2);
      const byDate = new Map<string, Ev[]>();
      for (const e of absorbed) {
        const d = new Date(e.ts * 1000).toISOString().slice(0, 10);
        byDate.set(d, [...(byDate.get(d) ?? []), e]);
      }
      const master = await openObjectStore(`${ws.dataUri}/master/pageviews`);
      const files = [];
      for (const [d, rows] of byDate) {
        const w = new DataFileWriter({ store: master, codec: defaultCodec(), schema: SCHEMAS.pageviews, folder: dateFolder(d), salt: `speed-test-${d}` });
        await w.write(rows.map((e) => ({ ...e })));
        files.push(...(await w.close()));
      }
      // The master dataset is a marked source: the new files are committed with a marker, as ingest does.
      await writeCommitMarker(master, { instanceId: `speed-test-${topic}`, fingerprint: '0123456789abcdef', runId: 'speed-test', committedAt: new Date().toISOString(), files });
      await runDag(ws);
      const snap2 = await loadView(viewStore, { cache: new BlockCache(64 << 20) });
      assert.equal(snap2.extent!.to, W2, 'the new batch version absorbed exactly the 4 hours');
      await untilValue('dagctl speed to expire the absorbed hours', 180_000, async () => ((await readSpeedMeta(redis, view)).expiredBelow === W2 ? true : null));
      for (let h = W; h < W2; h += H) assert.equal(await redis.exists(k.pv(h), k.hll(h)), 0, `hour ${h} expired`);
      assert.equal(await redis.exists(k.pv(W2)), 1, 'the hours after the new mark stay');
      await check(snap2, 40);
      // The old batch version would now miss the expired hours: refused, never answered short.
      await assert.rejects(answer(snap1, { url: top[0]! }, W - H, W + 6 * H, { speed: redisSpeedSource(redis, view) }), (e: unknown) => isDagctlError(e, 'QUERY_VIEW_STALE'));
      // The server still holds the old version: it re-reads the view and answers right.
      const span2 = { url: top[0]!, from: W - 10 * H, to: W + 6 * H };
      const r2 = await (await fetch(`http://127.0.0.1:${srv.port}/query?view=${view}&url=${encodeURIComponent(span2.url)}&from=${span2.from}&to=${span2.to}`)).json() as { pageviews: number; version: string };
      const direct = await answer(snap2, { url: span2.url }, span2.from, span2.to, { speed: redisSpeedSource(redis, view) });
      assert.equal(r2.pageviews, reference(all, span2.url, span2.from, span2.to).pageviews, JSON.stringify({ r2, direct }));
      assert.equal(r2.version, snap2.version);
    } finally {
      await srv.close();
    }
    b.child.kill('SIGTERM');
    const out = await b.output;
    assert.equal(out.code, 0, out.stderr.slice(-2000));
  });
});
