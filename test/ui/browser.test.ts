/**
 * The web UI in real headless Chromium (Debian's, driven by playwright-core) against the real
 * server over real runs: embedded runs driven in this process (a failed one, a 10,000-instance
 * one, and one held at a barrier — a noop sleeping for an hour — that only a cancel ends), and, with Redis, a distributed run executed by a real `dagctl worker` process. Checked:
 * each page renders the runs, keyboard navigation, a live update arrives without a reload, cancel
 * works from the page on both stores and retry-from-task on Redis, a schedule paused and unpaused
 * from its DAG page (each confirmed in its dialog), and a failing instance's detail shows each
 * attempt's log. Waits are on
 * conditions in the page, never on time.
 *
 * DAGCTL_UI_SCREENSHOTS=DIR also saves the pages as PNGs there (docs/ui/ holds the committed ones).
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import type { RunState } from '../../scheduler/engine/state.js';
import type { RunRecord } from '../../scheduler/ports.js';
import type { RedisRunStore } from '../../scheduler/redis/redis-run-store.js';
import { LocalRunStore, watchCancelRequest } from '../../scheduler/stores/local-run-store.js';
import { LocalScheduleState } from '../../scheduler/schedule/state.js';
import { createUiServer, type UiServer } from '../../ui/server/app.js';
import { localSource, redisSource, type RunSource } from '../../ui/server/sources.js';
import { cancelRun, openRunStore, submitRun } from '../../workers/bullmq/submit.js';
import { publishVersion, readPointer } from '../../storage/dataset/publish.js';
import { openObjectStore } from '../../storage/open.js';
import { Cluster } from '../distributed/cluster.js';
import { REDIS_URL, requireRedis } from '../distributed/redis-env.js';
import { createRun, drive, holdDagYaml, launchChromium, requireChromium, syntheticRun, tempDir } from './support.js';

const SHOTS = process.env.DAGCTL_UI_SCREENSHOTS;
const HOUR = 3_600_000;

async function shot(page: Page, name: string): Promise<void> {
  if (SHOTS !== undefined && SHOTS !== '') await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

/** Waits until the element's text matches (a condition in the page; the mocha timeout bounds it). */
async function waitText(page: Page, selector: string, re: RegExp): Promise<string> {
  await page.waitForFunction(([sel, src, flags]) => new RegExp(src, flags).test((globalThis as unknown as Browser).document.querySelector(sel)?.textContent ?? ''), [selector, re.source, re.flags] as const, { timeout: 0, polling: 'raf' });
  return (await page.textContent(selector)) ?? '';
}

/** The browser globals the page functions below use (this file is compiled without the DOM library). */
interface Browser {
  document: { querySelector(sel: string): { textContent: string | null } | null; activeElement: { classList: { contains(c: string): boolean } } | null };
  marker?: number;
}

const row = (id: string): string => `.grid-row[data-id="${id}"]`;

describe('ui in Chromium', function () {
  this.timeout(120_000);
  requireChromium(this);

  let home: string;
  let store: LocalRunStore;
  let server: UiServer;
  let base: string;
  let browser: Awaited<ReturnType<typeof launchChromium>>;
  let page: Page;
  let failed: RecordAndState;
  let wide: RunRecord;
  let held: RunRecord;
  const holdGate = new AbortController();
  let heldDone: Promise<RunState>;
  const sources: RunSource[] = [];

  interface RecordAndState {
    record: RunRecord;
    state: RunState;
  }

  before(async () => {
    home = await tempDir('dagctl-ui-browser-');
    store = new LocalRunStore(home);
    const r = await createRun(store, home, holdDagYaml('clicks', home, { buckets: 4, failBucket: 2 }));
    failed = { record: r, state: await drive(store, r) };
    assert.equal(failed.state.phase, 'failed');
    wide = await syntheticRun(store, 10_000, 'wide');
    // A DAG declaring a view, with two versions published into it.
    const withView = await createRun(store, home, holdDagYaml('views', home).replace('datasets:\n', `datasets:\n  daily:\n    uri: ${home}/daily\n    format: parquet\n    view: true\n`));
    assert.equal((await drive(store, withView)).phase, 'succeeded');
    const daily = await openObjectStore(`${home}/daily`);
    for (const [v, rows] of [['v20261201', 1200], ['v20261202', 1350]] as const) {
      await publishVersion(daily, { version: v, dataset: 'daily', files: [{ path: `${v}/part-0.parquet`, rows, bytes: rows * 40, sha256: 'a'.repeat(64) }], monotonic: true });
      await daily.putIfAbsent(`${v}/part-0.parquet`, new Uint8Array([1])); // present, so the version can be restored
    }
    // A scheduled DAG (a run of it recorded, never started): its page offers Pause/Unpause.
    await createRun(store, home, holdDagYaml('hourly', home, { schedule: '{ cron: "0 * * * *" }' }));
    held = await createRun(store, home, holdDagYaml('nightly', home, { buckets: 2, sleepMs: HOUR }));
    // As `dagctl run` does: the run's driver watches its folder for a cancel request from the UI.
    const uiCancel = watchCancelRequest(store, held.runId, 50, holdGate.signal);
    heldDone = drive(store, held, uiCancel.signal).finally(() => uiCancel.stop());
    sources.push(localSource(home));
    server = await createUiServer({ sources, pollMs: 100 });
    base = (await server.listen(0, '127.0.0.1')).url;
    browser = await launchChromium();
    page = await browser.context.newPage();
    page.on('pageerror', (e) => assert.fail(`page error: ${e.message}`));
  });

  after(async () => {
    holdGate.abort();
    await heldDone;
    await browser?.close();
    await server?.close();
    for (const s of sources) await s.close();
    await store?.close();
    await rm(home, { recursive: true, force: true });
  });

  it('home page: the DAGs and recent runs of the embedded store, with phase and predicted vs actual', async () => {
    await page.goto(base);
    await page.waitForSelector('main[data-ready]');
    const text = (await page.textContent('section.store-local')) ?? '';
    for (const id of [failed.record.runId, wide.runId, held.runId]) assert.ok(text.includes(id), id);
    for (const dag of ['clicks', 'wide', 'nightly']) assert.ok(await page.isVisible(`section.store-local ul.dags a[href^="/dags/${dag}"]`), dag);
    const failedRow = page.locator('table.runs tr', { hasText: failed.record.runId });
    assert.match((await failedRow.textContent()) ?? '', /✗ failed/);
    assert.match((await failedRow.textContent()) ?? '', /on 2 workers/);
    await shot(page, 'home');
  });

  it('run page: every instance with its state in words, reachable and explained from the keyboard', async () => {
    await page.goto(`${base}runs/${failed.record.runId}`);
    await page.waitForSelector('main[data-ready]');
    assert.equal(await page.getAttribute('.grid', 'aria-rowcount'), '7');
    assert.match(await waitText(page, `${row('fan.main.b002')} .c1`, /failed/), /✗ failed/);
    assert.match((await page.textContent(`${row('hold.main')} .c1`)) ?? '', /upstream failed/);
    assert.match((await page.textContent('.task-table')) ?? '', /fan\s*noop/);
    // Tab reaches the grid; End selects the last row; Enter explains it.
    await page.locator('body').focus();
    let onGrid = false;
    for (let i = 0; i < 40 && !onGrid; i++) {
      await page.keyboard.press('Tab');
      onGrid = await page.evaluate(() => (globalThis as unknown as Browser).document.activeElement?.classList.contains('grid') === true);
    }
    assert.ok(onGrid, 'the grid is reachable with Tab');
    await page.keyboard.press('End');
    await page.keyboard.press('Enter');
    const detail = await waitText(page, '.detail', /after\.main/);
    assert.match(detail, /not run: upstream fan\.main\.b002 failed/);
    await page.keyboard.press('Home');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    assert.match(await waitText(page, '.detail', /fan\.main\.b002/), /TASK_FAILED/);
    // Each attempt's log: the last one's, then the earlier failed attempts', newest first.
    const n = failed.state.instances['fan.main.b002']?.attempts ?? 0;
    assert.ok(n >= 2, `${n} attempts`);
    const logLine = (a: number): RegExp => new RegExp(`noop: attempt ${a} of bucket 2 fails \\(failBucket\\)`);
    assert.match((await page.textContent('.detail dl.facts pre.attempt-log')) ?? '', logLine(n));
    assert.match((await page.textContent('.detail h3')) ?? '', new RegExp(`Earlier attempts \\(${n - 1}\\)`));
    const earlier = await page.locator('.detail li.earlier-attempt').allTextContents();
    assert.equal(earlier.length, n - 1);
    earlier.forEach((t, i) => {
      assert.match(t, new RegExp(`^Attempt ${n - 1 - i} ✗ failed .* TASK_FAILED: noop: bucket 2 always fails`));
      assert.match(t, logLine(n - 1 - i));
    });
    await shot(page, 'run-failed');
  });

  it('a 10,000-instance run renders with only the rows in view in the page', async () => {
    await page.goto(`${base}runs/${wide.runId}`);
    await page.waitForSelector('main[data-ready]');
    assert.equal(await page.getAttribute('.grid', 'aria-rowcount'), '10001');
    const rows = await page.locator('.grid-row:not(.grid-head)').count();
    assert.ok(rows > 10 && rows < 200, `${rows} row elements`);
    await page.focus('.grid');
    await page.keyboard.press('End');
    const last = wide.plan[wide.plan.length - 1]?.id ?? '';
    await page.waitForSelector(`${row(last)}.active`);
    await page.fill('#filter', 'w3');
    assert.match(await waitText(page, '.count', /of 10000/), /^2500 of 10000 instances$/);
    await page.fill('#filter', '');
    await page.goto(`${base}runs/${wide.runId}`);
    await page.waitForSelector('main[data-ready]');
    await shot(page, 'run-10000');
  });

  it('DAG page: the layered graph of tasks and datasets, the file, and plan numbers on demand', async () => {
    await page.goto(`${base}dags/clicks`);
    await page.waitForSelector('main[data-ready]');
    const ids = await page.$$eval('svg.graph g.node', (els) => els.map((e) => e.getAttribute('data-id')));
    assert.deepEqual(ids.sort(), ['dataset:logs', 'task:after', 'task:fan', 'task:hold']);
    assert.match((await page.getAttribute('g.node[data-id="task:hold"]', 'aria-label')) ?? '', /task hold \(noop\); from: fan; to: after/);
    assert.match((await page.textContent('pre.dag-text')) ?? '', /name: clicks/);
    assert.match((await page.textContent('#plan-numbers')) ?? '', /on 2 workers/);
    await page.fill('#plan-workers', '1');
    await page.fill('#plan-deadline', '1h');
    await page.click('.plan-form button[type=submit]');
    const numbers = await waitText(page, '#plan-numbers', /needs at least/);
    assert.match(numbers, /Makespan\s*\S+ on 1 worker(?!s)/);
    assert.match(numbers, /needs at least 1 worker/);
    await shot(page, 'dag');
  });

  it('view page: a view\'s versions and which one is current, reached from its DAG page', async () => {
    await page.goto(`${base}dags/views`);
    await page.waitForSelector('main[data-ready]');
    assert.match((await page.textContent('section.issues')) ?? '', /VIEW_PRODUCED_BY_NONE/);
    await page.click('ul.views a');
    await page.waitForURL(/\/views\/views\/daily/);
    await page.waitForSelector('main[data-ready]');
    assert.equal(await page.textContent('#view-current'), 'Current version: v20261202');
    const rows = await page.$$eval('table.versions tbody tr', (trs) => trs.map((tr) => tr.textContent ?? ''));
    assert.equal(rows.length, 2);
    assert.match(rows[0] ?? '', /v20261202★ current.*1,350/);
    await shot(page, 'view');

    // Roll back to the earlier version from its row (confirmed; "no" changes nothing).
    await page.click('button.rollback[data-version="v20261201"]');
    assert.match((await page.textContent('dialog.confirm[open]')) ?? '', /Roll daily back to v20261201\?/);
    await page.click('#confirm-no');
    assert.equal(await page.textContent('#view-current'), 'Current version: v20261202');
    await page.click('button.rollback[data-version="v20261201"]');
    await page.click('#confirm-ok');
    await page.waitForFunction(() => (globalThis as unknown as Browser).document.querySelector('#view-current')?.textContent === 'Current version: v20261201');
    const pointer = await readPointer(await openObjectStore(`${home}/daily`));
    assert.equal(pointer?.version, 'v20261201', 'the view itself was rolled back');
  });

  it('DAG page: its schedule paused and unpaused from the page (confirmed), in the state `dagctl scheduler` reads', async () => {
    await page.goto(`${base}dags/hourly`);
    await page.waitForSelector('main[data-ready]');
    assert.equal(await page.textContent('#schedule-paused'), '▶ active');
    await page.click('#pause-schedule');
    assert.match((await page.textContent('dialog.confirm[open]')) ?? '', /Pause this schedule\?/);
    await page.click('#confirm-no');
    assert.equal((await new LocalScheduleState(home).get('hourly')).paused, false, '"no" changes nothing');
    await page.click('#pause-schedule');
    await page.click('#confirm-ok');
    await waitText(page, '#schedule-paused', /paused/);
    assert.equal(await page.textContent('#pause-schedule'), 'Unpause…');
    assert.equal((await new LocalScheduleState(home).get('hourly')).paused, true);
    await shot(page, 'dag-paused');
    await page.click('#pause-schedule');
    assert.match((await page.textContent('dialog.confirm[open]')) ?? '', /Unpause this schedule\?/);
    await page.click('#confirm-ok');
    await waitText(page, '#schedule-paused', /active/);
    assert.equal((await new LocalScheduleState(home).get('hourly')).paused, false);
  });

  it('live: a running embedded run updates in place; cancelled from the page (confirmed)', async () => {
    await page.goto(`${base}runs/${held.runId}`);
    await page.waitForSelector('main[data-ready]');
    await page.evaluate(() => ((globalThis as unknown as Browser).marker = 42));
    assert.match(await waitText(page, `${row('hold.main')} .c1`, /running/), /▶ running/);
    assert.equal(await page.isDisabled('#retry-run'), true, 'a running run is not retried');
    await shot(page, 'run-live');
    await page.click('#cancel-run');
    assert.match((await page.textContent('dialog.confirm[open]')) ?? '', /Cancel this run\?/);
    await page.click('#confirm-ok');
    assert.match(await waitText(page, '.action-result', /cancel requested/), /dagctl run/);
    assert.match(await waitText(page, `${row('hold.main')} .c1`, /cancelled/), /■ cancelled/);
    await page.waitForSelector('main[data-phase="cancelled"]');
    assert.equal(await page.evaluate(() => (globalThis as unknown as Browser).marker), 42, 'updated without a reload');
    assert.equal((await heldDone).phase, 'cancelled');
    assert.equal(holdGate.signal.aborted, false, 'the page cancelled it, not the test');
  });

  it('retries a failed embedded run from the page (confirmed): a detached `dagctl run --resume` drives it again', async function () {
    this.timeout(120_000);
    await page.goto(`${base}runs/${failed.record.runId}`);
    await page.waitForSelector('main[data-ready]');
    await page.waitForSelector('#retry-run:not([disabled])');
    await page.selectOption('#retry-from', 'hold');
    await page.click('#retry-run');
    assert.match((await page.textContent('dialog.confirm[open]')) ?? '', /task hold and everything downstream/);
    await page.click('#confirm-ok');
    assert.match(await waitText(page, '.action-result', /retry started: \d+ instance/), /retry started: 1 instance/);
    // fan b002 fails on every attempt (failBucket): the retried run fails again, later, by a new driver.
    const reader = new LocalRunStore(home);
    let again: RunState | null = null;
    for (const end = Date.now() + 90_000; Date.now() < end; await new Promise((r) => setTimeout(r, 50))) {
      again = await reader.getState(failed.record.runId);
      if (again?.phase === 'failed' && (again.finishedAt ?? 0) > (failed.state.finishedAt ?? 0)) break;
    }
    await reader.close();
    assert.equal(again?.phase, 'failed');
    assert.ok((again?.finishedAt ?? 0) > (failed.state.finishedAt ?? 0), 'the run was driven again');
    await page.waitForSelector('main[data-phase="failed"]');
    assert.match((await page.textContent(`${row('fan.main.b002')} .c1`)) ?? '', /failed/);
  });

  describe('on Redis', function () {
    requireRedis(this);
    let cluster: Cluster;
    let redisStore: RedisRunStore;
    let run: RunRecord;

    before(async () => {
      const url = REDIS_URL ?? '';
      cluster = new Cluster(url);
      await cluster.startWorker(['--concurrency', '2']);
      redisStore = await openRunStore(url);
      run = await createRun(redisStore, home, holdDagYaml('hourly', home, { buckets: 2, sleepMs: HOUR }), 'bullmq');
      await submitRun(redisStore, run, url);
      sources.push(await redisSource(url, process.env));
      await server.close();
      server = await createUiServer({ sources, pollMs: 100 });
      base = (await server.listen(0, '127.0.0.1')).url;
    });

    after(async () => {
      if (run !== undefined) await cancelRun(run.runId, REDIS_URL ?? '').catch(() => undefined);
      await cluster?.stopAll();
      await redisStore?.close();
    });

    it('home page shows the Redis runs apart from the embedded ones', async () => {
      await page.goto(base);
      await page.waitForSelector('main[data-ready]');
      assert.ok(((await page.textContent('section.store-redis')) ?? '').includes(run.runId));
      assert.ok(!((await page.textContent('section.store-local')) ?? '').includes(run.runId));
      await shot(page, 'home-redis');
    });

    it('cancel, then retry from a task, from the run page (each confirmed)', async () => {
      await page.goto(`${base}runs/${run.runId}?store=redis`);
      await page.waitForSelector('main[data-ready]');
      assert.match(await waitText(page, `${row('hold.main')} .c1`, /running/), /running/);
      await page.waitForSelector('#cancel-run:not([disabled])');
      await page.click('#cancel-run');
      await page.waitForSelector('dialog.confirm[open]');
      await page.click('#confirm-no'); // "no" changes nothing
      await page.click('#cancel-run');
      await page.click('#confirm-ok');
      await page.waitForSelector('main[data-phase="cancelled"]');
      assert.match((await page.textContent(`${row('hold.main')} .c1`)) ?? '', /cancelled/);
      assert.equal((await redisStore.getState(run.runId))?.phase, 'cancelled');

      await page.waitForSelector('#retry-run:not([disabled])');
      await page.selectOption('#retry-from', 'hold');
      await page.click('#retry-run');
      assert.match((await page.textContent('dialog.confirm[open]')) ?? '', /task hold and everything downstream/);
      await page.click('#confirm-ok');
      await waitText(page, '.action-result', /retry started: \d+ instance/);
      await page.waitForSelector('main[data-phase="running"]');
      assert.match(await waitText(page, `${row('hold.main')} .c1`, /running/), /running/);
      assert.equal(await page.textContent(`${row('hold.main')} .c2`), '1', 'a reset instance starts a fresh attempt');
      assert.match((await page.textContent(`${row('fan.main.b000')} .c1`)) ?? '', /succeeded/, 'upstream of the task is not re-run');
      assert.match((await page.textContent(`${row('hold.main')} .c3`)) ?? '', /^tw\d+-/);
      await shot(page, 'run-redis');
    });
  });
});
