/**
 * Kept pages (ui/server/view-cache.ts) of the finished big runs `dagctl run` does not finish, over
 * real HTTP: a run the scheduler's embedded launcher drove, and a distributed run on real Redis
 * executed by a real `dagctl worker` process (the process that applied its final batch keeps the
 * page). Each kept page is served without reading the run (its record moved away meanwhile) and
 * equals the page a server without kept pages builds, and renders in real headless Chromium; after
 * a retry (the UI's own retry path) the old page is never served — checked on content: the phase
 * and the retried instance's state while it runs again (on Redis also live, in the page opened on
 * the kept page before the retry), then its failed attempts once it finished again — and the run's
 * new page is kept.
 */
import assert from 'node:assert/strict';
import { rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import type { UiRun } from '../../ui/api-types.js';
import { createUiServer, type UiServer } from '../../ui/server/app.js';
import { localSource, redisSource, retryEmbedded, type RunSource } from '../../ui/server/sources.js';
import { readViewCache, redisPages, VIEW_CACHE_MIN_INSTANCES } from '../../ui/server/view-cache.js';
import type { RunState } from '../../scheduler/engine/state.js';
import { runKeys } from '../../scheduler/redis/keys.js';
import { EmbeddedLauncher } from '../../scheduler/schedule/embedded-launcher.js';
import { LocalRunStore } from '../../scheduler/stores/local-run-store.js';
import { openRunStore, retryRun, submitRun } from '../../workers/bullmq/submit.js';
import { Cluster } from '../distributed/cluster.js';
import { redisUrl, requireRedis } from '../distributed/redis-env.js';
import { until } from '../helpers/until.js';
import { createRun, holdDagYaml, launchChromium, requireChromium, tempDir } from './support.js';

/** The instance that fails every attempt (noop's failBucket). */
const FAILING = 'fan.main.b007';

async function page(base: string, runId: string, store = 'local'): Promise<UiRun> {
  const res = await fetch(`${base}api/runs/${runId}?store=${store}`);
  assert.equal(res.status, 200, await res.clone().text());
  return (await res.json()) as UiRun;
}

const rowOf = (p: UiRun, id: string) => {
  const r = p.instances.find((x) => x.id === id);
  assert.ok(r !== undefined, `no row ${id}`);
  return r;
};

const finished = (phase: string | undefined): boolean => phase === 'succeeded' || phase === 'failed' || phase === 'cancelled';

describe('ui kept pages of launcher-finished and Redis runs', function () {
  this.timeout(240_000);
  requireChromium(this);
  let home: string;
  let browser: Awaited<ReturnType<typeof launchChromium>>;
  let tab: Page;
  const servers: UiServer[] = [];
  const sources: RunSource[] = [];

  async function serve(source: RunSource): Promise<string> {
    const s = await createUiServer({ sources: [source], prewarm: 0 });
    servers.push(s);
    return (await s.listen(0, '127.0.0.1')).url;
  }

  before(async () => {
    home = await tempDir('dagctl-ui-kept-');
    browser = await launchChromium();
    tab = await browser.context.newPage();
    tab.on('pageerror', (e) => assert.fail(`page error: ${e.message}`));
  });

  /** Opens the run page in Chromium; returns the failing instance's state cell text. */
  async function open(base: string, runId: string, store: string): Promise<string> {
    await tab.goto(`${base}runs/${runId}?store=${store}`);
    await tab.waitForSelector('main[data-ready]');
    return (await tab.textContent(`.grid-row[data-id="${FAILING}"] .c1`)) ?? '';
  }

  after(async () => {
    await browser?.close();
    for (const s of servers) await s.close();
    for (const s of sources) await s.close();
    await rm(home, { recursive: true, force: true });
  });

  it('the scheduler\'s embedded launcher keeps the page of a big run it finished; after a retry the old page is never served', async () => {
    const store = new LocalRunStore(home);
    const rec = await createRun(store, home, holdDagYaml('launched', home, { buckets: VIEW_CACHE_MIN_INSTANCES, failBucket: 7 }));
    let done: (s: RunState | null) => void = () => undefined;
    const ended = new Promise<RunState | null>((r) => (done = r));
    const launcher = new EmbeddedLauncher({ store, concurrency: 2, onFinished: (_id, s) => done(s) });
    await launcher.start(rec.runId);
    assert.equal((await ended)?.phase, 'failed');
    await store.close();

    // Kept before onFinished, equal to what a server without kept pages builds.
    const kept = await readViewCache(home, rec.runId);
    assert.ok(kept !== null, 'the launcher kept the run\'s page');
    const local = localSource(home);
    sources.push(local);
    const { pages: _none, ...uncached } = local;
    const want = await page(await serve(uncached), rec.runId);
    const { actions: _a, ...rest } = want;
    assert.deepEqual(JSON.parse(kept.text), rest);
    assert.equal(rowOf(want, FAILING).state, 'failed');
    const before = rowOf(want, FAILING).earlierAttempts?.length ?? 0;

    // Served without reading the run.
    const base = await serve(localSource(home));
    const recordFile = join(home, 'runs', rec.runId, 'record.json');
    await rename(recordFile, `${recordFile}.away`);
    try {
      assert.deepEqual(await page(base, rec.runId), want);
      assert.match(await open(base, rec.runId, 'local'), /failed/);
      assert.equal(await tab.getAttribute('main', 'data-phase'), 'failed');
    } finally {
      await rename(`${recordFile}.away`, recordFile);
    }

    // The UI's retry: a reset under the run's lock, then a detached `dagctl run --resume`.
    await retryEmbedded(home, rec.runId, undefined);
    const during = await page(base, rec.runId);
    assert.ok(during.seq > want.seq, `the page of before the retry (seq ${want.seq}) is not served (got seq ${during.seq})`);
    const reader = new LocalRunStore(home);
    await until('the resumed run finishes and lets go of its lock', 120_000, async () => finished((await reader.getState(rec.runId))?.phase) && (await reader.driver(rec.runId)).state === 'gone');
    const again = await page(base, rec.runId);
    assert.equal(again.phase, 'failed');
    assert.ok((rowOf(again, FAILING).earlierAttempts?.length ?? 0) > before, 'the retried attempt shows among the failed ones');
    assert.equal((await readViewCache(home, rec.runId))?.seq, again.seq, 'the resumed run kept its new page');
  });

  it('the launcher keeps no page of a run whose lock another process holds when it finishes (a retry taking it over)', async () => {
    const store = new LocalRunStore(home);
    const rec = await createRun(store, home, holdDagYaml('locked', home, { buckets: VIEW_CACHE_MIN_INSTANCES }));
    // Held as a `dagctl ui` retry holds it between the finish and the page (a barrier the test owns).
    const unlock = await new LocalRunStore(home).lockDriver(rec.runId, { command: 'test' });
    const logs: string[] = [];
    let done: (s: RunState | null) => void = () => undefined;
    const ended = new Promise<RunState | null>((r) => (done = r));
    await new EmbeddedLauncher({ store, concurrency: 2, onFinished: (_id, s) => done(s), log: (l) => logs.push(l) }).start(rec.runId);
    try {
      assert.equal((await ended)?.phase, 'succeeded');
      assert.equal(await readViewCache(home, rec.runId), null);
      assert.ok(logs.some((l) => l.includes('UI page not kept: RUN_LOCKED')), logs.join('\n'));
    } finally {
      await unlock();
      await store.close();
    }
  });

  describe('on Redis', function () {
    requireRedis(this);

    it('the process that applied a Redis run\'s final batch keeps its page; after a retry the old page is never served', async () => {
      const url = redisUrl();
      const redisStore = await openRunStore(url);
      const clusters = [new Cluster(url), new Cluster(url)] as const;
      try {
        await clusters[0].startWorker(['--concurrency', '4']);
        const rec = await createRun(redisStore, home, holdDagYaml('keptredis', home, { buckets: VIEW_CACHE_MIN_INSTANCES, failBucket: 7 }), 'bullmq');
        await submitRun(redisStore, rec, url);
        const pages = redisPages(redisStore);
        // The page is written after the final batch set the phase, by the same worker (liveness bounds).
        await until('the run finishes', 120_000, async () => finished((await redisStore.meta(rec.runId))?.phase));
        await until('the worker keeps the page', 60_000, async () => (await pages.read(rec.runId)) !== null);
        const kept = await pages.read(rec.runId);
        assert.ok(kept !== null);

        const source = await redisSource(url, process.env);
        sources.push(source);
        const { pages: _none, ...uncached } = source;
        const want = await page(await serve(uncached), rec.runId, 'redis');
        const { actions: _a, ...rest } = want;
        assert.deepEqual(JSON.parse(kept.text), rest);
        assert.equal(want.store, 'redis');
        assert.equal(rowOf(want, FAILING).state, 'failed');
        const before = rowOf(want, FAILING).earlierAttempts?.length ?? 0;

        // Served without reading the run.
        const base = await serve(source);
        const k = runKeys(rec.runId);
        await redisStore.redis.rename(k.record, `${k.record}.away`);
        try {
          assert.deepEqual(await page(base, rec.runId, 'redis'), want);
          // The page opened on the kept page stays open across the retry below.
          assert.match(await open(base, rec.runId, 'redis'), /failed/);
        } finally {
          await redisStore.redis.rename(`${k.record}.away`, k.record);
        }

        // A retry with no worker running: the run waits, running again.
        await clusters[0].stopAll();
        const oldRaw = await redisStore.redis.getBuffer(k.page);
        assert.ok(oldRaw !== null);
        await retryRun(rec.runId, url, undefined, process.env);
        assert.equal(await redisStore.redis.exists(k.page), 0, 'a retry drops the kept page');
        // Even put back (a late writer), the old page is not current: never served.
        await redisStore.redis.set(k.page, oldRaw);
        assert.equal(await pages.read(rec.runId), null);
        const during = await page(base, rec.runId, 'redis');
        assert.equal(during.phase, 'running');
        assert.equal(rowOf(during, FAILING).state, 'queued');
        // The open page, started from the kept page, follows the run again (live, no reload).
        await tab.waitForSelector('main[data-phase="running"]', { timeout: 0 });
        await tab.waitForFunction((sel) => /queued/.test((globalThis as unknown as { document: { querySelector(s: string): { textContent: string | null } | null } }).document.querySelector(sel)?.textContent ?? ''), `.grid-row[data-id="${FAILING}"] .c1`, { timeout: 0, polling: 'raf' });

        await clusters[1].startWorker(['--concurrency', '4']);
        await until('the retried run finishes', 120_000, async () => finished((await redisStore.meta(rec.runId))?.phase));
        await until('the worker keeps the new page', 60_000, async () => (await pages.read(rec.runId)) !== null);
        const again = await page(base, rec.runId, 'redis');
        assert.equal(again.phase, 'failed');
        assert.ok((rowOf(again, FAILING).earlierAttempts?.length ?? 0) > before, 'the retried attempt shows among the failed ones');
        assert.equal((await pages.read(rec.runId))?.seq, again.seq);
      } finally {
        for (const c of clusters) await c.stopAll();
        await redisStore.close();
      }
    });
  });
});
