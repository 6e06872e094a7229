/**
 * Error texts and logs on a run page are capped (ui/server/views.ts UI_TEXT_CAP_BYTES) with a
 * visible "truncated, N bytes more" marker, and the full texts stay reachable: checked on the API
 * (byte counts against the texts the run holds, cut at a character boundary) and in real headless
 * Chromium (the marker on the instance detail, then "Show the full texts"), over an embedded run
 * whose instance failed twice (a reset between) with texts of multi-byte characters over the cap.
 * DAGCTL_UI_SCREENSHOTS=DIR also saves the detail with its markers as run-truncated.png there.
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { UiInstanceTexts, UiRun } from '../../ui/api-types.js';
import { createUiServer, type UiServer } from '../../ui/server/app.js';
import { localSource, type RunSource } from '../../ui/server/sources.js';
import { UI_TEXT_CAP_BYTES } from '../../ui/server/views.js';
import { initialState } from '../../scheduler/engine/state.js';
import { LocalRunStore } from '../../scheduler/stores/local-run-store.js';
import { dagOf, noopTask, recordOf } from '../helpers/dags.js';
import { launchChromium, requireChromium, tempDir } from './support.js';

const bytes = (s: string): number => Buffer.byteLength(s, 'utf8');
/** A text of about `n` bytes: numbered lines with 2- and 3-byte characters, ending in `end`. */
function longText(tag: string, n: number, end: string): string {
  const lines: string[] = [];
  for (let i = 0, size = 0; size < n; i++) {
    const l = `${tag} line ${i}: déjà vu — 12 € — ${'x'.repeat(i % 37)}`;
    lines.push(l);
    size += bytes(l) + 1;
  }
  return `${lines.join('\n')}\n${end}`;
}

describe('ui: capped error texts and logs, full texts on demand', function () {
  this.timeout(120_000);
  requireChromium(this);
  let home: string;
  let server: UiServer;
  let base: string;
  let runId: string;
  const sources: RunSource[] = [];
  const ID = 'fan.main.b000';
  const E1 = longText('first error', 12_000, 'END-OF-E1');
  const L1 = longText('first log', 9_000, 'END-OF-L1');
  const E2 = longText('second error', 20_000, 'END-OF-E2');
  const L2 = 'a short log';

  before(async () => {
    home = await tempDir('dagctl-ui-cap-');
    const store = new LocalRunStore(home);
    const dag = dagOf('capped', [noopTask('fan', { params: { buckets: 2 } })]);
    const t0 = Date.now();
    const record = recordOf(dag, `capped-${t0}`, t0);
    runId = record.runId;
    await store.createRun(record, initialState(runId, dag.name, record.plan, t0));
    const ok = { memoized: false, fingerprint: 'f', outputs: [], metrics: {}, inputBytes: 0, inputRows: 0, outputRows: 0, durationMs: 5, setupMs: 1 };
    await store.apply(runId, [
      { type: 'start', at: t0 },
      { type: 'started', id: ID, attempt: 1, at: t0 + 1 },
      { type: 'failed', id: ID, attempt: 1, at: t0 + 2, error: E1, code: 'TASK_FAILED', retryable: false, log: L1 },
      { type: 'started', id: 'fan.main.b001', attempt: 1, at: t0 + 3 },
      { type: 'succeeded', id: 'fan.main.b001', attempt: 1, at: t0 + 4, result: ok },
    ]);
    await store.apply(runId, [
      { type: 'reset', ids: [ID], at: t0 + 10 },
      { type: 'started', id: ID, attempt: 1, at: t0 + 11 },
      { type: 'failed', id: ID, attempt: 1, at: t0 + 12, error: E2, code: 'TASK_FAILED', retryable: false, log: L2 },
    ]);
    await store.close();
    sources.push(localSource(home));
    server = await createUiServer({ sources, prewarm: 0 });
    base = (await server.listen(0, '127.0.0.1')).url;
  });

  after(async () => {
    await server?.close();
    for (const s of sources) await s.close();
    await rm(home, { recursive: true, force: true });
  });

  it('the page carries at most the cap of each text, with the bytes left out; the instance endpoint the full texts', async () => {
    const run = (await (await fetch(`${base}api/runs/${runId}`)).json()) as UiRun;
    assert.equal(run.phase, 'failed');
    const row = run.instances.find((r) => r.id === ID);
    assert.ok(row !== undefined && row.error !== null);
    // The last attempt's error: its start, cut at a character boundary, and how much is left out.
    assert.ok(bytes(row.error) <= UI_TEXT_CAP_BYTES && bytes(row.error) > UI_TEXT_CAP_BYTES - 4);
    assert.ok(E2.startsWith(row.error));
    assert.equal(row.errorMore, bytes(E2) - bytes(row.error));
    assert.equal(row.log, L2);
    assert.equal(row.logMore, undefined);
    // Its why quotes the error: capped too, with its own count.
    assert.ok(row.why !== null && bytes(row.why) <= UI_TEXT_CAP_BYTES && (row.whyMore ?? 0) > 0);
    // The earlier attempt: its error's start, its log's end.
    const [a] = row.earlierAttempts ?? [];
    assert.ok(a !== undefined && a.log !== undefined);
    assert.equal(row.earlierAttempts?.length, 1);
    assert.ok(E1.startsWith(a.error) && bytes(a.error) <= UI_TEXT_CAP_BYTES);
    assert.equal(a.errorMore, bytes(E1) - bytes(a.error));
    assert.ok(L1.endsWith(a.log) && bytes(a.log) <= UI_TEXT_CAP_BYTES && a.log.endsWith('END-OF-L1'));
    assert.equal(a.logMore, bytes(L1) - bytes(a.log));

    const res = await fetch(`${base}api/runs/${runId}/instances/${ID}`);
    assert.equal(res.status, 200);
    const full = (await res.json()) as UiInstanceTexts;
    assert.equal(full.error, E2);
    assert.ok(full.why?.endsWith('END-OF-E2') === true && full.why.startsWith(row.why));
    assert.equal(full.log, L2);
    assert.deepEqual(full.earlierAttempts.map((x) => [x.error, x.log]), [[E1, L1]]);
    const missing = await fetch(`${base}api/runs/${runId}/instances/no.such`);
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { error: { code: string } }).error.code, 'TASK_NOT_FOUND');
  });

  it('in Chromium: the instance detail marks each cut text, and shows the full texts on demand', async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.context.newPage();
      page.on('pageerror', (e) => assert.fail(`page error: ${e.message}`));
      await page.goto(`${base}runs/${runId}`);
      await page.waitForSelector('main[data-ready]');
      await page.click(`.grid-row[data-id="${ID}"]`);
      await page.waitForSelector('.detail button.full-texts');
      const marks = await page.locator('.detail .truncated').allTextContents();
      const row = ((await (await fetch(`${base}api/runs/${runId}`)).json()) as UiRun).instances.find((r) => r.id === ID);
      const n = (v: number | undefined): string => (v ?? 0).toLocaleString('en-US');
      assert.deepEqual(marks, [` … truncated, ${n(row?.whyMore)} bytes more`, ` … truncated, ${n(row?.errorMore)} bytes more`, ` … truncated, ${n(row?.earlierAttempts?.[0]?.errorMore)} bytes more`, ` … truncated, ${n(row?.earlierAttempts?.[0]?.logMore)} bytes more`]);
      const shots = process.env.DAGCTL_UI_SCREENSHOTS;
      const box = await page.locator('.detail').boundingBox();
      // The detail's top: the why and the error with their markers (the rest is more of the same).
      if (shots !== undefined && shots !== '' && box !== null) await page.screenshot({ path: join(shots, 'run-truncated.png'), fullPage: true, clip: { x: box.x, y: box.y, width: box.width, height: Math.min(box.height, 760) } });
      const before = (await page.textContent('.detail')) ?? '';
      assert.ok(!before.includes('END-OF-E2') && !before.includes('END-OF-E1'));
      await page.click('.detail button.full-texts');
      await page.waitForSelector('.detail:not(:has(.truncated))');
      const after = (await page.textContent('.detail')) ?? '';
      assert.ok(after.includes('END-OF-E2') && after.includes('END-OF-E1'), 'the full errors are shown');
      assert.ok(after.includes(L1.slice(0, 200)), 'the earlier attempt\'s full log is shown');
      assert.equal(await page.locator('.detail button.full-texts').count(), 0);
    } finally {
      await browser.close();
    }
  });
});
