/**
 * The Lambda loop on the seed DAG itself: dags/superwebanalytics.yaml (its text unchanged, copied
 * into a temp `dags/` folder so that its `params.data: ../data` is the temp `data/`) runs under the
 * embedded `dagctl scheduler` (startScheduler) through its own `triggers:` on the master pageviews.
 * Pageview events are produced to the real broker in two waves; `ingest kafka` commits them as
 * micro-batches into data/master/pageviews (the equivs master is generated beforehand). The second
 * wave goes out only once a view over all of wave 1 is published (a barrier on the run store).
 * Afterwards the published pageviews-over-time equals, row for row (hll sketches included), a full
 * recomputation: `dagctl run` of the same file over a copy of the same master data. Every run was
 * data-triggered and succeeded, and every commit marker was given exactly one run. Waits are
 * condition waits with liveness bounds. Needs DAGCTL_TEST_KAFKA_BROKERS.
 */
import assert from 'node:assert/strict';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { generate } from '../../gen/generate.js';
import { ingestKafka, type IngestSummary } from '../../ingest/kafka/consumer.js';
import { startScheduler, type SchedulerHandle } from '../../scheduler/schedule/process.js';
import { LocalScheduleState } from '../../scheduler/schedule/state.js';
import { seenCount } from '../../scheduler/schedule/triggers.js';
import { LocalRunStore } from '../../scheduler/stores/local-run-store.js';
import { listCommitMarkers } from '../../storage/dataset/markers.js';
import { openObjectStore } from '../../storage/open.js';
import { brokers, createTopic, producePageviews, requireKafka, uniqueTopic } from '../ingest/kafka-env.js';
import { runCli, viewRows } from '../integration/support.js';
import { until, untilProgressing } from '../helpers/until.js';

const SEED = resolve('dags/superwebanalytics.yaml');
/** Typed identifiers, as the DAG's normalize step wants them (untyped ones are rejects). */
const COOKIE = (k: number): string => `cookie:${k.toString(16).padStart(4, '0')}`;

describe('Lambda loop on dags/superwebanalytics.yaml: Kafka → ingest → its data trigger → the view equals a full recomputation', function () {
  this.timeout(300_000);
  requireKafka(this);
  let dir = '';
  let sched: SchedulerHandle | undefined;
  const ac = new AbortController();
  let ingest: Promise<IngestSummary> | undefined;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dagctl-seed-loop-'));
  });
  after(async () => {
    ac.abort();
    await ingest?.catch(() => undefined);
    await sched?.stop();
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it('each published version is data-triggered; the last equals `dagctl run` of the same file over all the data', async () => {
    const text = await readFile(SEED, 'utf8');
    assert.match(text, /^triggers:\n {2}- \{ dataset: pageviews/m, 'the seed DAG carries its data trigger');
    await mkdir(join(dir, 'dags'));
    const file = join(dir, 'dags', 'superwebanalytics.yaml');
    await writeFile(file, text);
    const data = join(dir, 'data');
    const equivs = await openObjectStore(pathToFileURL(join(data, 'master', 'equivs')).href);
    await generate('equivs', { store: equivs, rows: 800, seed: 5, start: '2024-03-01', days: 3, persons: 300 });

    const topic = uniqueTopic('seedloop');
    await createTopic(topic, 2);
    const home = join(dir, 'home');
    const logs: string[] = [];
    sched = await startScheduler({ paths: [file], home, port: 0, triggerPollMs: 100, concurrency: 2, log: (l) => logs.push(l) });
    const master = await openObjectStore(pathToFileURL(join(data, 'master', 'pageviews')).href);
    let ingested = 0;
    ingest = ingestKafka({ brokers: brokers(), topic, store: master, groupId: `g-${topic}`, maxBatchRecords: 400, maxBatchMs: 300, signal: ac.signal, onEvent: (e) => (ingested = e.totals.records) });
    const store = new LocalRunStore(home);
    const runs = async (): Promise<Awaited<ReturnType<LocalRunStore['listRuns']>>> => store.listRuns({ dag: 'superwebanalytics' });
    const state = new LocalScheduleState(home);
    const triggered = async (): Promise<number> => {
      const m = /^dagctl_scheduler_trigger_runs_total (\d+)$/m.exec(await (await fetch(`http://127.0.0.1:${sched?.port ?? 0}/metrics`)).text());
      return Number(m?.[1] ?? -1);
    };
    /** Every marker of the master has been given a run; every run the scheduler made is listed and finished. */
    const settled = async (): Promise<boolean> => {
      const markers = (await listCommitMarkers(master)).length;
      const st = await state.getTriggers('superwebanalytics');
      const made = await triggered();
      const rs = await runs();
      if (rs.some((r) => r.phase === 'failed')) throw new Error(`a triggered run failed:\n${logs.join('\n')}`);
      return markers > 0 && seenCount(st) === markers && st.inflight === undefined && rs.length === made && rs.every((r) => r.finishedAt !== undefined && r.phase !== 'pending' && r.phase !== 'running');
    };

    /** What the loop has done so far: markers, markers given runs, runs made, and each run's phase and applied events. */
    const progress = async (): Promise<string> => {
      const st = await state.getTriggers('superwebanalytics');
      const rs = await runs();
      const seqs = await Promise.all(rs.map(async (r) => `${r.runId}:${r.phase}:${String((await store.getState(r.runId).catch(() => null))?.seq ?? -1)}`));
      return JSON.stringify([(await listCommitMarkers(master)).length, seenCount(st), await triggered(), seqs]);
    };

    try {
      const produced = await producePageviews(topic, 2, 800, 21, undefined, COOKIE);
      await until('all of wave 1 ingested', 60_000, async () => ingested >= produced.records);
      await untilProgressing('wave 1 given runs, all finished', 120_000, settled, progress);
      const afterWave1 = (await runs()).length;
      assert.ok(afterWave1 >= 1);
      await producePageviews(topic, 2, 900, 22, produced, COOKIE);
      await until('all of wave 2 ingested', 60_000, async () => ingested >= produced.records);
      await untilProgressing('wave 2 given runs, all finished', 120_000, settled, progress);

      const all = await runs();
      assert.ok(all.length > afterWave1, `wave 2 made a run: ${all.length} runs`);
      for (const r of all) {
        assert.equal(r.phase, 'succeeded', r.runId);
        assert.equal(r.trigger.kind, 'data');
      }
      const markers = await listCommitMarkers(master);
      assert.equal(all.reduce((n, r) => n + (r.trigger.kind === 'data' ? (r.trigger.commits ?? 0) : 0), 0), markers.length, 'every commit marker in exactly one run');

      // The reference: the same file, run by hand over a copy of the same master data.
      const ref = join(dir, 'ref');
      await cp(join(data, 'master'), join(ref, 'master'), { recursive: true });
      const r = await runCli({ dir, dag: file, dataUri: pathToFileURL(ref).href, home: join(dir, 'ref-home') }, ['run', file, '--param', `data=${ref}`, '--json']);
      assert.equal(r.code, 0, r.stderr);
      const got = await viewRows(pathToFileURL(join(data, 'views', 'pageviews-over-time')).href);
      const want = await viewRows(pathToFileURL(join(ref, 'views', 'pageviews-over-time')).href);
      assert.ok(want.length > 100, `a view worth comparing: ${want.length} rows`);
      assert.deepEqual(got, want);
      // And against the events themselves: the daily buckets count each distinct (url, person, ts) once.
      const daily = got.map((j) => JSON.parse(j) as { granularity: string; pageviews: number }).filter((x) => x.granularity === 'd');
      assert.equal(daily.reduce((n, x) => n + Number(x.pageviews), 0), produced.expected.size);
    } finally {
      await store.close();
    }
  });
});
