/**
 * The Lambda loop with partial recomputation on the seed DAG itself: dags/birthday-inference.yaml
 * (its text unchanged, copied into a temp `dags/` folder so that `params.data: ../data` is the temp
 * `data/`) runs under the embedded `dagctl scheduler` (startScheduler) through its own trigger on
 * the master ages (`newData: new-ages`). Age samples are produced to the real broker in two waves;
 * `ingest kafka --kind ages` commits them as micro-batches into data/master/ages. Wave 1 covers
 * three days; wave 2 (sent once every run of wave 1 has finished: a barrier on the scheduler's
 * trigger state and the run store) a fourth day and a few persons only, so its run reads that day
 * alone as new-ages and its birthdays-partial task recomputes in partial mode.
 * Oracles: the master holds every valid produced sample exactly once (multiset); the published
 * `birthdays` view equals, row for row, the same run's `birthdays-full` and a `dagctl run` of the
 * same file over a copy of the same master (every sample as the batch); the view has one row per
 * person with a valid sample. Every run was data-triggered and succeeded; every commit marker was
 * given exactly one run. Waits are condition waits with liveness bounds. Needs
 * DAGCTL_TEST_KAFKA_BROKERS.
 */
import assert from 'node:assert/strict';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ingestKafka, type IngestSummary } from '../../ingest/kafka/consumer.js';
import { startScheduler, type SchedulerHandle } from '../../scheduler/schedule/process.js';
import { LocalScheduleState } from '../../scheduler/schedule/state.js';
import { seenCount } from '../../scheduler/schedule/triggers.js';
import { LocalRunStore } from '../../scheduler/stores/local-run-store.js';
import { listCommitMarkers, listSource, readRows } from '../../storage/dataset/index.js';
import { openObjectStore } from '../../storage/open.js';
import { defaultCodec } from '../../storage/parquet/registry.js';
import { brokers, createTopic, produceAges, requireKafka, uniqueTopic, type AgesProduced } from '../ingest/kafka-env.js';
import { runCli, viewRows } from '../integration/support.js';
import { until, untilProgressing } from '../helpers/until.js';

const SEED = resolve('dags/birthday-inference.yaml');

describe('Lambda loop on dags/birthday-inference.yaml: Kafka → ingest --kind ages → its data trigger → partial recomputation equals a full one', function () {
  this.timeout(300_000);
  requireKafka(this);
  let dir = '';
  let sched: SchedulerHandle | undefined;
  const ac = new AbortController();
  let ingest: Promise<IngestSummary> | undefined;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dagctl-bday-loop-'));
  });
  after(async () => {
    ac.abort();
    await ingest?.catch(() => undefined);
    await sched?.stop();
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it('ages arrive exactly once; each published version is data-triggered; the later run is partial over the new day only; the view equals full recomputations', async () => {
    const text = await readFile(SEED, 'utf8');
    assert.match(text, /^triggers:\n {2}- \{ dataset: ages, newData: new-ages/m, 'the seed DAG carries its data trigger');
    await mkdir(join(dir, 'dags'));
    const file = join(dir, 'dags', 'birthday-inference.yaml');
    await writeFile(file, text);
    const data = join(dir, 'data');

    const topic = uniqueTopic('bdayloop');
    await createTopic(topic, 2);
    const home = join(dir, 'home');
    const logs: string[] = [];
    sched = await startScheduler({ paths: [file], home, port: 0, triggerPollMs: 100, concurrency: 2, log: (l) => logs.push(l) });
    const master = await openObjectStore(pathToFileURL(join(data, 'master', 'ages')).href);
    let ingested = 0;
    let rejected = 0;
    ingest = ingestKafka({
      brokers: brokers(),
      topic,
      kind: 'ages',
      store: master,
      groupId: `g-${topic}`,
      maxBatchRecords: 150,
      maxBatchMs: 300,
      signal: ac.signal,
      onEvent: (e) => {
        ingested = e.totals.records;
        rejected = e.totals.rejects;
      },
    });
    const store = new LocalRunStore(home);
    const runs = async (): Promise<Awaited<ReturnType<LocalRunStore['listRuns']>>> => store.listRuns({ dag: 'birthday-inference' });
    const state = new LocalScheduleState(home);
    const triggered = async (): Promise<number> => {
      const m = /^dagctl_scheduler_trigger_runs_total (\d+)$/m.exec(await (await fetch(`http://127.0.0.1:${sched?.port ?? 0}/metrics`)).text());
      return Number(m?.[1] ?? -1);
    };
    /** Every marker of the master has been given a run; every run the scheduler made is listed and finished. */
    const settled = async (): Promise<boolean> => {
      const markers = (await listCommitMarkers(master)).length;
      const st = await state.getTriggers('birthday-inference');
      const made = await triggered();
      const rs = await runs();
      if (rs.some((r) => r.phase === 'failed')) throw new Error(`a triggered run failed:\n${logs.join('\n')}`);
      return markers > 0 && seenCount(st) === markers && st.inflight === undefined && rs.length === made && rs.every((r) => r.finishedAt !== undefined && r.phase !== 'pending' && r.phase !== 'running');
    };
    /** What the loop has done so far: markers, markers given runs, runs made, and each run's phase and applied events. */
    const progress = async (): Promise<string> => {
      const st = await state.getTriggers('birthday-inference');
      const rs = await runs();
      const seqs = await Promise.all(rs.map(async (r) => `${r.runId}:${r.phase}:${String((await store.getState(r.runId).catch(() => null))?.seq ?? -1)}`));
      return JSON.stringify([(await listCommitMarkers(master)).length, seenCount(st), await triggered(), seqs]);
    };
    /** Waits for settled() while the loop progresses; on a stall, the error carries what was still open and the scheduler's log. */
    const settle = async (what: string): Promise<void> => {
      try {
        await untilProgressing(what, 120_000, settled, progress);
      } catch (e) {
        const st = await state.getTriggers('birthday-inference');
        const rs = await runs();
        const open = { markers: (await listCommitMarkers(master)).length, seen: seenCount(st), inflight: st.inflight ?? null, made: await triggered(), runs: rs.map((r) => `${r.runId} ${r.phase} finished=${String(r.finishedAt !== undefined)}`) };
        throw new Error(`${e instanceof Error ? e.message : String(e)}\nstill open: ${JSON.stringify(open)}\nscheduler log (last 60 lines):\n${logs.slice(-60).join('\n')}`);
      }
    };
    const produced: AgesProduced = { expected: new Map(), persons: new Set(), records: 0, rejects: 0 };

    try {
      // Wave 1: 300 persons, 4 samples each over 2024-03-01..03.
      await produceAges(topic, produced, Array.from({ length: 300 }, (_, k) => k), 4, 0, 3);
      await until('all of wave 1 ingested', 60_000, async () => ingested >= produced.records);
      await settle('wave 1 given runs, all finished');
      const afterWave1 = (await runs()).length;
      assert.ok(afterWave1 >= 1);
      // Wave 2: 12 persons (10 known, 2 new), 2 samples each, all on 2024-03-05.
      await produceAges(topic, produced, [3, 17, 42, 99, 120, 150, 201, 250, 298, 299, 300, 301], 2, 4, 1);
      await until('all of wave 2 ingested', 60_000, async () => ingested >= produced.records);
      await settle('wave 2 given runs, all finished');
      assert.equal(rejected, produced.rejects, 'every malformed sample is a reject');

      // Exactly once into the master: its rows are the valid produced samples, each as often as sent.
      const rows = new Map<string, number>();
      for await (const b of readRows(master, await listSource(master, { format: 'parquet', partitionBy: 'date', committed: 'auto' }), defaultCodec())) {
        for (const r of b) {
          const k = `${String(r.person)}\t${String(r.age)}\t${String(r.ts)}`;
          rows.set(k, (rows.get(k) ?? 0) + 1);
        }
      }
      assert.deepEqual([...rows].sort(), [...produced.expected].sort());

      const all = (await runs()).sort((a, b) => a.createdAt - b.createdAt);
      assert.ok(all.length > afterWave1, `wave 2 made a run: ${all.length} runs`);
      for (const r of all) {
        assert.equal(r.phase, 'succeeded', r.runId);
        assert.equal(r.trigger.kind, 'data');
      }
      const markers = await listCommitMarkers(master);
      // The ingest markers are folded into per-partition marks: the trigger state lists no key.
      const metrics = await (await fetch(`http://127.0.0.1:${sched.port}/metrics`)).text();
      assert.match(metrics, /^dagctl_scheduler_trigger_state_keys\{dag="birthday-inference"\} 0$/m);
      assert.match(metrics, /^dagctl_scheduler_trigger_polls_total\{listing="listed"\} [1-9]\d*$/m);
      assert.equal(all.reduce((n, r) => n + (r.trigger.kind === 'data' ? (r.trigger.commits ?? 0) : 0), 0), markers.length, 'every commit marker in exactly one run');

      // The last run: new-ages is the master at the new day only, and the partial task ran partial.
      const lastId = all.at(-1)?.runId ?? '';
      const last = await store.getRecord(lastId);
      assert.ok(last !== null);
      assert.deepEqual(last.trigger !== undefined && 'partitions' in last.trigger ? last.trigger.partitions : null, ['2024-03-05']);
      assert.equal(last.dag.datasets['new-ages']?.uri, last.dag.datasets.ages?.uri);
      const batchParts = [...new Set((last.sources['new-ages'] ?? []).map((f) => f.partition))];
      assert.deepEqual(batchParts, ['2024-03-05']);
      assert.deepEqual([...new Set((last.sources.ages ?? []).map((f) => f.partition))].sort(), ['2024-03-01', '2024-03-02', '2024-03-03', '2024-03-05']);
      const st = await store.getState(lastId);
      const partialMetric = Object.entries(st?.instances ?? {})
        .filter(([id]) => id.startsWith('birthdays-partial'))
        .map(([, i]) => i.result?.metrics.partial)
        .filter((x): x is number => x !== undefined);
      assert.ok(partialMetric.includes(1), `the last run's birthdays-partial recomputed in partial mode: ${JSON.stringify(partialMetric)}`);

      const got = await viewRows(pathToFileURL(join(data, 'views', 'birthdays')).href);
      const full = await viewRows(pathToFileURL(join(data, 'views', 'birthdays-full')).href);
      assert.equal(got.length, produced.persons.size, 'one row per person with a valid sample');
      assert.deepEqual(got, full);

      // The reference: the same file run by hand over a copy of the same master, all of it as the batch.
      const ref = join(dir, 'ref');
      await cp(join(data, 'master'), join(ref, 'master'), { recursive: true });
      const r = await runCli({ dir, dag: file, dataUri: pathToFileURL(ref).href, home: join(dir, 'ref-home') }, ['run', file, '--param', `data=${ref}`, '--param', `batch=${join(ref, 'master', 'ages')}`, '--json']);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(got, await viewRows(pathToFileURL(join(ref, 'views', 'birthdays-full')).href));
    } finally {
      await store.close();
    }
  });
});
