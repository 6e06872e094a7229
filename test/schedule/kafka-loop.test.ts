/**
 * The Lambda loop end to end on the real broker: pageview events produced to Kafka → `ingest
 * kafka` commits micro-batches (date= partitions + commit markers) into the master dataset → the
 * embedded `dagctl scheduler` (startScheduler: its real loop, catalog and health server) sees the
 * new commits through the DAG's data trigger → a run recomputes the view (sql over the master) and
 * publishes it. Events are produced in two waves while ingest and the scheduler run; the second
 * wave goes out only once the first wave's view is published (a barrier). Afterwards the published
 * view equals a plain reference over every valid produced event (count and distinct persons per
 * URL), every run was data-triggered and succeeded, and every commit marker was given exactly one
 * run (the trigger state's seen set equals the markers). Waits are condition waits with generous
 * liveness bounds. Needs DAGCTL_TEST_KAFKA_BROKERS (`eval "$(scripts/provision/kafka.sh start)"`).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ingestKafka, type IngestSummary } from '../../ingest/kafka/consumer.js';
import { startScheduler, type SchedulerHandle } from '../../scheduler/schedule/process.js';
import { LocalScheduleState } from '../../scheduler/schedule/state.js';
import { seenCount, seenTest } from '../../scheduler/schedule/triggers.js';
import { LocalRunStore } from '../../scheduler/stores/local-run-store.js';
import { listCommitMarkers } from '../../storage/dataset/markers.js';
import { readCurrent } from '../../storage/dataset/publish.js';
import { readRows } from '../../storage/dataset/read.js';
import { openObjectStore } from '../../storage/open.js';
import { defaultCodec } from '../../storage/parquet/registry.js';
import type { ObjectStore } from '../../storage/types.js';
import { brokers, createTopic, producePageviews, requireKafka, uniqueTopic, type Produced } from '../ingest/kafka-env.js';
import { until } from '../helpers/until.js';

export const LOOP_DAG = `apiVersion: dagctl/v1
kind: Dag
metadata: { name: pageviews-loop }
params: { data: ./data }
defaults: { retries: 1, timeout: 2m, retryBackoff: 100ms }
triggers:
  - { dataset: pageviews, debounce: 200ms }
datasets:
  pageviews: { uri: "\${params.data}/master/pageviews", partitionBy: date }
  by-url: { uri: "\${params.data}/views/by-url", view: true, maxShrink: 1 }
tasks:
  - name: by-url
    operator: sql
    inputs: [pageviews]
    outputs: [by-url]
    params:
      query: SELECT url, count(*) AS views, count(DISTINCT person) AS uniques FROM pageviews GROUP BY url
`;

/** url → [views, distinct persons] of the valid produced events (duplicates count: the master keeps them). */
export function reference(p: Produced): Map<string, [number, number]> {
  const views = new Map<string, number>();
  const persons = new Map<string, Set<string>>();
  for (const [k, n] of p.expected) {
    const [url = '', person = ''] = k.split('\t');
    views.set(url, (views.get(url) ?? 0) + n);
    let s = persons.get(url);
    if (s === undefined) persons.set(url, (s = new Set()));
    s.add(person);
  }
  return new Map([...views].map(([u, n]) => [u, [n, persons.get(u)?.size ?? 0]]));
}

/** The published view as url → [views, uniques], and its version; null before the first. */
export async function publishedView(store: ObjectStore): Promise<{ version: string; rows: Map<string, [number, number]> } | null> {
  const cur = await readCurrent(store);
  if (cur === null) return null;
  const rows = new Map<string, [number, number]>();
  for await (const b of readRows(store, cur.manifest.files, defaultCodec())) for (const r of b) rows.set(String(r.url), [Number(r.views), Number(r.uniques)]);
  return { version: cur.manifest.version, rows };
}

function same(a: Map<string, [number, number]>, b: Map<string, [number, number]>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) {
    const w = b.get(k);
    if (w === undefined || w[0] !== v[0] || w[1] !== v[1]) return false;
  }
  return true;
}

describe('Lambda loop: Kafka → ingest → data trigger → published view (real broker, embedded scheduler)', function () {
  this.timeout(300_000);
  requireKafka(this);
  let dir: string;
  let sched: SchedulerHandle | undefined;
  const ac = new AbortController();
  let ingest: Promise<IngestSummary> | undefined;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dagctl-loop-'));
  });
  after(async () => {
    ac.abort();
    await ingest?.catch(() => undefined);
    await sched?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('every produced event ends up in the published view, through data-triggered runs only, one run per commit', async () => {
    const topic = uniqueTopic('loop');
    await createTopic(topic, 2);
    const file = join(dir, 'loop.yaml');
    await writeFile(file, LOOP_DAG);
    const home = join(dir, 'home');
    const logs: string[] = [];
    sched = await startScheduler({ paths: [file], home, port: 0, triggerPollMs: 100, concurrency: 1, log: (l) => logs.push(l) });

    const master = await openObjectStore(pathToFileURL(join(dir, 'data', 'master', 'pageviews')).href);
    const view = await openObjectStore(pathToFileURL(join(dir, 'data', 'views', 'by-url')).href);
    let ingested = 0;
    ingest = ingestKafka({ brokers: brokers(), topic, store: master, groupId: `g-${topic}`, maxBatchRecords: 400, maxBatchMs: 300, signal: ac.signal, onEvent: (e) => (ingested = e.totals.records) });

    // Wave 1, then a barrier: its view is published.
    const produced = await producePageviews(topic, 2, 1200, 11);
    await until('all of wave 1 ingested', 120_000, async () => ingested >= produced.records);
    await until('wave 1 visible in the published view', 120_000, async () => {
      const v = await publishedView(view);
      return v !== null && same(v.rows, reference(produced));
    });
    // Wave 2 while everything keeps running.
    await producePageviews(topic, 2, 1500, 12, produced);
    await until('all of wave 2 ingested', 120_000, async () => ingested >= produced.records);
    await until('wave 2 visible in the published view', 120_000, async () => {
      const v = await publishedView(view);
      return v !== null && same(v.rows, reference(produced));
    });

    const final = await publishedView(view);
    assert.deepEqual(final?.rows, reference(produced));
    const store = new LocalRunStore(home);
    try {
      // A run reads every committed file, so the view can be complete while the scheduler has not
      // yet polled the last marker (committed after the previous fire was decided): wait for the
      // trigger state to cover every marker, then for that marker's run to finish.
      await until('every commit marker given a run', 60_000, async () => {
        const isSeen = seenTest(await new LocalScheduleState(home).getTriggers('pageviews-loop'));
        return (await listCommitMarkers(master)).every((m) => isSeen(`pageviews:${m.key}`));
      });
      await until('no run unfinished', 60_000, async () => (await store.listRuns({ dag: 'pageviews-loop' })).every((r) => r.phase !== 'pending' && r.phase !== 'running'));
      const runs = await store.listRuns({ dag: 'pageviews-loop' });
      assert.ok(runs.length >= 2, `at least one run per wave: ${runs.length}`);
      for (const r of runs) {
        assert.equal(r.phase, 'succeeded', r.runId);
        assert.equal(r.trigger.kind, 'data');
      }
      // Every commit marker was given exactly one run: the runs' commit counts add up to the markers.
      const markers = (await listCommitMarkers(master)).map((m) => m.key).sort();
      const st = await new LocalScheduleState(home).getTriggers('pageviews-loop');
      // (ingest markers are folded into per-partition marks: compaction keeps the state small)
      const isSeen = seenTest(st);
      assert.ok(markers.every((k) => isSeen(`pageviews:${k}`)));
      assert.equal(seenCount(st), markers.length);
      assert.deepEqual(st.seen, []);
      assert.equal(runs.reduce((n, r) => n + (r.trigger.kind === 'data' ? (r.trigger.commits ?? 0) : 0), 0), markers.length);
      const metrics = await (await fetch(`http://127.0.0.1:${sched.port ?? 0}/metrics`)).text();
      assert.match(metrics, new RegExp(`^dagctl_scheduler_trigger_runs_total ${runs.length}$`, 'm'));
      assert.match(metrics, /^dagctl_scheduler_trigger_pending_commits\{dag="pageviews-loop"\} 0$/m);
      assert.match(metrics, new RegExp(`^dagctl_scheduler_trigger_latency_ms_count ${runs.length}$`, 'm'));
    } finally {
      await store.close();
    }
  });
});
