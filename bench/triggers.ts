/**
 * Data triggers and the Lambda loop, all figures from one run (`npm run bench -- triggers`):
 *   1. trigger latency (issue goal: commit → run started < 500 ms): the embedded scheduler (Loop +
 *      SchedulerService + EmbeddedLauncher, trigger poll 200 ms) on a DAG triggered by a master
 *      dataset; N commits (`dagctl gen` days, one commit marker each), one at a time, each after
 *      the previous run ended; measured: the marker's committedAt → the run's createdAt and
 *      startedAt. Peer in the same run: a bare poller listing the same `_commits/` folder every
 *      200 ms (the floor of any polling trigger at that period). Dagster's sensors poll every 30 s
 *      by default.
 *   1b. poll cost on an idle dataset of K commit markers (DAGCTL_BENCH_POLL_MARKERS, default
 *      2,000): listSourceCommits with the scheduler's CommitPoll (a `_commits/` change token: one
 *      stat while nothing was added) against the same call listing every poll (markers already
 *      read, as the scheduler caches them); medians of P polls each, and the ratio.
 *   2. freshness (needs DAGCTL_TEST_KAFKA_BROKERS, `scripts/provision/kafka.sh start`): one event
 *      with a fresh URL produced to Kafka → `ingest kafka` (maxBatchMs 200) → trigger → sql view
 *      published → the URL visible in the view; M events one after another, p50/p99.
 *   3. distributed tick lateness (needs redis-server on PATH): `dagctl scheduler --redis` (in
 *      process, the real leader lease) + one `dagctl worker` on a private redis-server, an
 *      `every: 1s` no-op DAG: tick → run created / started, p50/p99.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { generate } from '../gen/generate.js';
import { ingestKafka } from '../ingest/kafka/consumer.js';
import { connectRedis } from '../scheduler/redis/connection.js';
import { RedisRunStore } from '../scheduler/redis/redis-run-store.js';
import { DagCatalog } from '../scheduler/schedule/catalog.js';
import { EmbeddedLauncher } from '../scheduler/schedule/embedded-launcher.js';
import { startScheduler } from '../scheduler/schedule/process.js';
import { Loop, SchedulerService } from '../scheduler/schedule/service.js';
import { LocalScheduleState } from '../scheduler/schedule/state.js';
import { LocalRunStore } from '../scheduler/stores/local-run-store.js';
import { writeCommitMarker } from '../storage/dataset/markers.js';
import { listSourceCommits, type CommitPoll, type SourceCommit } from '../storage/dataset/source.js';
import { readCurrent } from '../storage/dataset/publish.js';
import { readRows } from '../storage/dataset/read.js';
import { openObjectStore } from '../storage/open.js';
import { defaultCodec } from '../storage/parquet/registry.js';
import type { ObjectStore } from '../storage/types.js';
import { startRedis, startWorker, stop } from './scheduler.js';
import { percentile, type BenchResult } from './types.js';

const N = Number(process.env.DAGCTL_BENCH_TRIGGERS ?? 20);
const M = Number(process.env.DAGCTL_BENCH_FRESHNESS ?? 10);
const TICKS = Number(process.env.DAGCTL_BENCH_TICKS ?? 20);
const POLL = 200;
const POLL_MARKERS = Number(process.env.DAGCTL_BENCH_POLL_MARKERS ?? 2000);

const fmt3 = (xs: number[]): string => `p50 ${percentile(xs, 50).toFixed(3)} ms  p99 ${percentile(xs, 99).toFixed(3)} ms`;
const fmt = (xs: number[]): string => `p50 ${percentile(xs, 50).toFixed(1)} ms  p99 ${percentile(xs, 99).toFixed(1)} ms`;

async function waitFor(what: string, boundMs: number, cond: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + boundMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`bench: gave up after ${boundMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export async function benchTriggers(): Promise<BenchResult> {
  const lines: string[] = [];
  const metrics: Record<string, number> = {};
  await triggerLatency(lines, metrics);
  await pollCost(lines, metrics);
  if (process.env.DAGCTL_TEST_KAFKA_BROKERS !== undefined && process.env.DAGCTL_TEST_KAFKA_BROKERS !== '') await freshness(lines, metrics);
  else lines.push('freshness: skipped (no DAGCTL_TEST_KAFKA_BROKERS; eval "$(scripts/provision/kafka.sh start)")');
  await distributedLateness(lines, metrics);
  return { name: 'triggers', lines, metrics };
}

async function triggerLatency(lines: string[], metrics: Record<string, number>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'dagctl-bench-trig-'));
  const ac = new AbortController();
  try {
    const file = join(dir, 'trig.yaml');
    await writeFile(
      file,
      `apiVersion: dagctl/v1\nkind: Dag\nmetadata: { name: trig }\ntriggers:\n  - { dataset: pv }\ndatasets:\n  pv: { uri: ./data/pv, partitionBy: date }\ntasks:\n  - { name: a, operator: noop, inputs: [pv] }\n`,
    );
    const catalog = new DagCatalog([file]);
    await catalog.refresh();
    const home = join(dir, 'home');
    const store = new LocalRunStore(home);
    let loop: Loop | null = null;
    const launcher = new EmbeddedLauncher({ store, concurrency: 1, onFinished: () => loop?.wake() });
    const service = new SchedulerService({ dags: () => catalog.dags(), launcher, state: new LocalScheduleState(home), triggerPollMs: POLL });
    loop = new Loop(service, { pollMs: 1000 });
    const running = loop.run(ac.signal);
    const master = await openObjectStore(pathToFileURL(join(dir, 'data', 'pv')).href);
    // The peer: a bare poller of the same _commits/ folder at the same period.
    const seenAt = new Map<string, number>();
    const poller = (async () => {
      while (!ac.signal.aborted) {
        for (const o of await master.list('_commits/').catch(() => [])) if (!seenAt.has(o.key)) seenAt.set(o.key, Date.now());
        await new Promise((r) => setTimeout(r, POLL));
      }
    })();
    const created: number[] = [];
    const started: number[] = [];
    const peer: number[] = [];
    const known = new Map<string, number>();
    for (let i = 0; i < N; i++) {
      const day = new Date(Date.UTC(2024, 0, 1) + i * 86_400_000).toISOString().slice(0, 10);
      await generate('pageviews', { store: master, rows: 20, seed: i + 1, start: day, days: 1, persons: 10 });
      const commits = (await listSourceCommits(master, { format: 'parquet', partitionBy: 'date' })).commits;
      const fresh = commits.filter((c) => !known.has(c.id));
      for (const c of fresh) known.set(c.id, c.committedAt ?? Date.now());
      const at = Math.max(...fresh.map((c) => c.committedAt ?? 0));
      await waitFor('the triggered run to end', 60_000, async () => {
        const rs = await store.listRuns({ dag: 'trig' });
        return rs.length === i + 1 && rs.every((r) => r.phase === 'succeeded');
      });
      const run = (await store.listRuns({ dag: 'trig' })).sort((a, b) => b.createdAt - a.createdAt)[0];
      if (run?.startedAt === undefined) throw new Error('bench: run without startedAt');
      created.push(run.createdAt - at);
      started.push(run.startedAt - at);
      await waitFor('the bare poller', 10_000, async () => fresh.every((c) => seenAt.has(c.id)));
      peer.push(Math.max(...fresh.map((c) => (seenAt.get(c.id) ?? 0) - at)));
    }
    ac.abort();
    await running;
    await poller;
    await launcher.drain(30_000);
    await store.close();
    metrics.triggerCreatedP50Ms = percentile(created, 50);
    metrics.triggerCreatedP99Ms = percentile(created, 99);
    metrics.triggerStartedP50Ms = percentile(started, 50);
    metrics.triggerStartedP99Ms = percentile(started, 99);
    metrics.barePollP50Ms = percentile(peer, 50);
    metrics.barePollP99Ms = percentile(peer, 99);
    lines.push(
      `trigger latency: ${N} commits, one at a time (embedded scheduler, trigger poll ${POLL} ms, no-op run)`,
      `  commit → run created  ${fmt(created)}`,
      `  commit → run started  ${fmt(started)}  (goal < 500 ms)`,
      `  bare ${POLL} ms poller of _commits/ ${fmt(peer)}  (run started p50 = ${(metrics.triggerStartedP50Ms / Math.max(0.1, metrics.barePollP50Ms)).toFixed(2)}× the poller's)`,
    );
  } finally {
    ac.abort();
    await rm(dir, { recursive: true, force: true });
  }
}

async function pollCost(lines: string[], metrics: Record<string, number>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'dagctl-bench-poll-'));
  try {
    const store = await openObjectStore(pathToFileURL(join(dir, 'pv')).href);
    for (let i = 0; i < POLL_MARKERS; i += 64) {
      await Promise.all(
        Array.from({ length: Math.min(64, POLL_MARKERS - i) }, (_, j) =>
          writeCommitMarker(store, { instanceId: `ingest-pv-p0-${(i + j) * 10}-${(i + j) * 10 + 9}`, fingerprint: (i + j).toString(16).padStart(16, '0'), runId: 'bench', committedAt: new Date().toISOString(), files: [{ path: `date=2024-01-01/part-${i + j}.parquet`, rows: 1, bytes: 1, sha256: '', partition: '2024-01-01' }] }),
        ),
      );
    }
    // Out of the racy window (storage/local/store.ts RACY_MS) without waiting: age the folder.
    const past = new Date(Date.now() - 60_000);
    await utimes(join(dir, 'pv', '_commits'), past, past);
    const opts = { format: 'parquet' as const, partitionBy: 'date' as const };
    const P = 30;
    const time = async (f: () => Promise<unknown>): Promise<number[]> => {
      const out: number[] = [];
      for (let i = 0; i < P; i++) {
        const t0 = performance.now();
        await f();
        out.push(performance.now() - t0);
      }
      return out;
    };
    const known = new Map<string, SourceCommit>();
    await listSourceCommits(store, opts, known);
    const listing = await time(() => listSourceCommits(store, opts, known));
    const poll: CommitPoll = { skipped: 0, listed: 0 };
    await listSourceCommits(store, opts, known, poll);
    const token = await time(() => listSourceCommits(store, opts, known, poll));
    if (poll.skipped !== P) throw new Error(`bench: the change token answered ${poll.skipped} of ${P} polls`);
    metrics.pollListP50Ms = percentile(listing, 50);
    metrics.pollTokenP50Ms = percentile(token, 50);
    lines.push(
      `poll cost, idle dataset of ${POLL_MARKERS.toLocaleString('en-US')} commit markers (local store, ${P} polls each, markers already read)`,
      `  listing _commits/ every poll  ${fmt3(listing)}`,
      `  change token (CommitPoll)     ${fmt3(token)}  (${(metrics.pollListP50Ms / Math.max(0.001, metrics.pollTokenP50Ms)).toFixed(0)}× cheaper at p50)`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const FRESH_DAG = `apiVersion: dagctl/v1
kind: Dag
metadata: { name: fresh }
triggers:
  - { dataset: pageviews }
datasets:
  pageviews: { uri: ./data/master/pageviews, partitionBy: date }
  by-url: { uri: ./data/views/by-url, view: true, maxShrink: 1, delta: false }
tasks:
  - { name: by-url, operator: sql, inputs: [pageviews], outputs: [by-url], params: { query: "SELECT url, count(*) AS views FROM pageviews GROUP BY url" } }
`;

async function viewHas(store: ObjectStore, url: string): Promise<boolean> {
  const cur = await readCurrent(store);
  if (cur === null) return false;
  for await (const b of readRows(store, cur.manifest.files, defaultCodec(), { columns: ['url'] })) for (const r of b) if (r.url === url) return true;
  return false;
}

async function freshness(lines: string[], metrics: Record<string, number>): Promise<void> {
  const brokers = (process.env.DAGCTL_TEST_KAFKA_BROKERS ?? '').split(',');
  const dir = await mkdtemp(join(tmpdir(), 'dagctl-bench-fresh-'));
  const ac = new AbortController();
  const kafka = new Kafka({ clientId: 'dagctl-bench', brokers, logLevel: logLevel.NOTHING });
  const topic = `bench-fresh-${Date.now().toString(36)}`;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true });
  await admin.disconnect();
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const file = join(dir, 'fresh.yaml');
  await writeFile(file, FRESH_DAG);
  const sched = await startScheduler({ paths: [file], home: join(dir, 'home'), triggerPollMs: POLL, concurrency: 1, log: () => {} });
  const master = await openObjectStore(pathToFileURL(join(dir, 'data', 'master', 'pageviews')).href);
  const view = await openObjectStore(pathToFileURL(join(dir, 'data', 'views', 'by-url')).href);
  const ingest = ingestKafka({ brokers, topic, store: master, groupId: `g-${topic}`, maxBatchRecords: 1000, maxBatchMs: 200, signal: ac.signal });
  try {
    const fresh: number[] = [];
    const ts = Math.floor(Date.parse('2024-03-01T12:00:00Z') / 1000);
    for (let i = 0; i < M + 1; i++) {
      const url = `http://bench.example/fresh/${i}`;
      const t0 = Date.now();
      await producer.send({ topic, acks: -1, messages: [{ value: JSON.stringify({ url, person: `p-${i}`, ts }) }] });
      await waitFor(`${url} in the published view`, 120_000, () => viewHas(view, url));
      if (i > 0) fresh.push(Date.now() - t0); // the first one includes the view's first version
    }
    metrics.freshnessP50Ms = percentile(fresh, 50);
    metrics.freshnessP99Ms = percentile(fresh, 99);
    lines.push(`freshness: ${M} events one at a time, Kafka → ingest kafka (maxBatchMs 200) → trigger → sql view published`, `  event produced → visible in the view  ${fmt(fresh)}`);
  } finally {
    ac.abort();
    await ingest.catch(() => undefined);
    await producer.disconnect();
    await sched.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

async function distributedLateness(lines: string[], metrics: Record<string, number>): Promise<void> {
  const redis = await startRedis();
  const procs: ChildProcess[] = [];
  const dir = await mkdtemp(join(tmpdir(), 'dagctl-bench-dsched-'));
  const conn = await connectRedis(redis.url, 'client');
  try {
    const file = join(dir, 'tick.yaml');
    await writeFile(file, `apiVersion: dagctl/v1\nkind: Dag\nmetadata: { name: dtick }\nschedule: { every: 1s, catchup: all, overlap: queue }\ntasks:\n  - { name: a, operator: noop }\n`);
    await startWorker(redis.url, 2, procs);
    const sched = await startScheduler({ paths: [file], home: join(dir, 'home'), redisUrl: redis.url, leaseMs: 3000, log: () => {} });
    const store = new RedisRunStore(conn);
    try {
      await waitFor(`${TICKS} distributed runs`, TICKS * 1000 + 60_000, async () => (await store.listRuns({ dag: 'dtick', limit: 1000 })).filter((r) => r.phase === 'succeeded').length >= TICKS);
    } finally {
      await sched.stop();
    }
    const runs = (await store.listRuns({ dag: 'dtick', limit: 1000 })).filter((r) => r.trigger.kind === 'schedule' && r.startedAt !== undefined);
    const tick = (r: (typeof runs)[number]): number => Date.parse((r.trigger as { at: string }).at);
    const created = runs.map((r) => r.createdAt - tick(r));
    const started = runs.map((r) => (r.startedAt as number) - tick(r));
    metrics.redisCreatedP50Ms = percentile(created, 50);
    metrics.redisCreatedP99Ms = percentile(created, 99);
    metrics.redisStartedP50Ms = percentile(started, 50);
    metrics.redisStartedP99Ms = percentile(started, 99);
    lines.push(`distributed tick lateness: ${runs.length} ticks every 1 s (scheduler --redis, leader lease, 1 dagctl worker, no-op run)`, `  tick → run created  ${fmt(created)}`, `  tick → run started  ${fmt(started)}  (started = the first task's worker picked it up)`);
  } finally {
    conn.disconnect();
    for (const p of procs) await stop(p);
    await redis.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
