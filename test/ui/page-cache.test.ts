/**
 * The page cache of finished big embedded runs (ui/server/view-cache.ts) over real HTTP: the page
 * `dagctl run` keeps (keepRunPage) is served by the API and as the live stream's snapshot without
 * reading the run (its record moved away meanwhile), equal to the page a server without the cache
 * builds; a server that builds a finished big run's page keeps it; and once the run's files change
 * (a reset, as a retry applies) the kept page is never served again. A real `dagctl run` keeps the
 * page of a big run it finished (equal to the page the server builds), and of no small one.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { access, rename, rm, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { UiRun } from '../../ui/api-types.js';
import { createUiServer, type UiServer } from '../../ui/server/app.js';
import { localSource, type RunSource } from '../../ui/server/sources.js';
import { keepPage, keepRunPage, localPages, readViewCache, VIEW_CACHE_MIN_INSTANCES } from '../../ui/server/view-cache.js';
import { LocalRunStore } from '../../scheduler/stores/local-run-store.js';
import { BIN } from '../distributed/cluster.js';
import { holdDagYaml, syntheticRun, tempDir } from './support.js';

const execFileP = promisify(execFile);

async function page(base: string, runId: string): Promise<UiRun> {
  const res = await fetch(`${base}api/runs/${runId}`);
  assert.equal(res.status, 200);
  return (await res.json()) as UiRun;
}

/** The first `snapshot` event of the run's live stream. */
async function snapshot(base: string, runId: string): Promise<UiRun> {
  const ac = new AbortController();
  const res = await fetch(`${base}api/runs/${runId}/events`, { signal: ac.signal });
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const dec = new TextDecoder();
  let text = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error('stream ended before a snapshot');
    text += dec.decode(value, { stream: true });
    const m = /event: snapshot\ndata: (.*)\n\n/.exec(text);
    if (m !== null) {
      ac.abort();
      return JSON.parse(m[1] ?? '') as UiRun;
    }
  }
}

describe('ui page cache (finished big embedded runs)', function () {
  this.timeout(120_000);
  let home: string;
  const servers: UiServer[] = [];
  const sources: RunSource[] = [];

  async function serve(source: RunSource): Promise<string> {
    sources.push(source);
    const s = await createUiServer({ sources: [source], prewarm: 0 });
    servers.push(s);
    return (await s.listen(0, '127.0.0.1')).url;
  }

  before(async () => {
    home = await tempDir('dagctl-ui-pages-');
  });

  after(async () => {
    for (const s of servers) await s.close();
    for (const s of sources) await s.close();
    await rm(home, { recursive: true, force: true });
  });

  it('serves the kept page without reading the run, equal to a fresh build, until the run changes', async () => {
    const store = new LocalRunStore(home);
    const rec = await syntheticRun(store, VIEW_CACHE_MIN_INSTANCES + 500, 'cached');
    await store.close();
    const state = await new LocalRunStore(home).getState(rec.runId);
    assert.ok(state !== null);
    assert.equal(state.phase, 'succeeded');
    const { pages: _none, ...uncached } = localSource(home);
    const want = await page(await serve(uncached), rec.runId);
    assert.equal(await readViewCache(home, rec.runId), null, 'a server without the cache keeps nothing');

    await keepRunPage(home, rec, state, availableParallelism());
    const base = await serve(localSource(home));
    const recordFile = join(home, 'runs', rec.runId, 'record.json');
    await rename(recordFile, `${recordFile}.away`);
    try {
      assert.deepEqual(await page(base, rec.runId), want);
      assert.deepEqual(await snapshot(base, rec.runId), want);
    } finally {
      await rename(`${recordFile}.away`, recordFile);
    }

    // A reset (what a retry applies) changes the run's files: the kept page is stale from then on.
    const other = new LocalRunStore(home);
    await other.apply(rec.runId, [{ type: 'reset', ids: [rec.plan[0]?.id ?? ''], at: Date.now() }]);
    await other.close();
    assert.equal(await readViewCache(home, rec.runId), null);
    const after = await page(base, rec.runId);
    assert.equal(after.phase, 'running');
    assert.equal(after.instances.find((r) => r.id === rec.plan[0]?.id)?.state, 'queued');
  });

  it('dagctl run keeps the page of the big run it finished, and only of a big one', async () => {
    const ids: string[] = [];
    for (const buckets of [VIEW_CACHE_MIN_INSTANCES, 3]) {
      const dagFile = join(home, `cli-${buckets}.yaml`);
      await writeFile(dagFile, holdDagYaml(`cli${buckets}`, home, { buckets }));
      const out = await execFileP(process.execPath, [BIN, 'run', dagFile, '--json'], { env: { ...process.env, DAGCTL_HOME: home }, cwd: home, maxBuffer: 64 * 1024 * 1024 });
      ids.push((JSON.parse(out.stdout) as { runId: string }).runId);
    }
    const [big, small] = ids as [string, string];
    const kept = await readViewCache(home, big);
    assert.ok(kept !== null, 'the big run\'s page is kept and current');
    const { pages: _none, ...uncached } = localSource(home);
    const want = await page(await serve(uncached), big);
    const { actions: _a, ...rest } = want;
    assert.deepEqual(JSON.parse(kept.text), rest);
    assert.equal(await readViewCache(home, small), null);
  });

  it('a server that builds a finished big run\'s page keeps it for the next server', async () => {
    const store = new LocalRunStore(home);
    const rec = await syntheticRun(store, VIEW_CACHE_MIN_INSTANCES, 'built');
    await store.close();
    const first = await page(await serve(localSource(home)), rec.runId);
    const file = join(home, 'runs', rec.runId, 'ui-view.json');
    // The write is in the background of the response: wait for the file (a liveness bound).
    for (let i = 0; i < 600 && (await access(file).then(() => false, () => true)); i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal((await readViewCache(home, rec.runId))?.seq, first.seq);
    assert.deepEqual(await page(await serve(localSource(home)), rec.runId), first);
  });

  it('a keep that read an older state and finishes late never replaces the page of the run\'s current state', async () => {
    const store = new LocalRunStore(home);
    const rec = await syntheticRun(store, VIEW_CACHE_MIN_INSTANCES, 'late');
    await store.close();
    const older = await new LocalRunStore(home).getState(rec.runId);
    assert.ok(older !== null && older.phase === 'succeeded');

    // A UI's lazy keep takes the run's token and is held (a barrier this test owns) before it
    // builds and writes the page, as a keep started for an earlier load of the page can be.
    let release: () => void = () => undefined;
    const barrier = new Promise<void>((r) => (release = r));
    let reading: () => void = () => undefined;
    const tokenTaken = new Promise<void>((r) => (reading = r));
    const stale = keepPage(localPages(home), rec, async () => {
      reading();
      await barrier;
      return older;
    }, availableParallelism());
    await tokenTaken;

    // Meanwhile the run changes and finishes again (a retry and its resume) and its driver keeps
    // the page of its final state.
    const id = rec.plan[0]?.id ?? '';
    const other = new LocalRunStore(home);
    const at = Date.now();
    await other.apply(rec.runId, [{ type: 'reset', ids: [id], at }]);
    await other.apply(rec.runId, [
      { type: 'started', id, attempt: 1, at: at + 1 },
      { type: 'succeeded', id, attempt: 1, at: at + 2, result: { memoized: false, fingerprint: 'again', outputs: [], metrics: {}, inputBytes: 0, inputRows: 0, outputRows: 0, durationMs: 1, setupMs: 0 } },
    ]);
    await other.close();
    const current = await new LocalRunStore(home).getState(rec.runId);
    assert.ok(current !== null && current.seq > older.seq);
    assert.equal(current.phase, 'succeeded', JSON.stringify(current.instances[id]));
    assert.equal(await keepRunPage(home, rec, current, availableParallelism()), true);
    assert.equal((await readViewCache(home, rec.runId))?.seq, current.seq);

    // The held keep goes on: its token is not the run's any more, so it writes nothing.
    release();
    assert.equal(await stale, false, 'a keep built from an older state is not written');
    assert.equal((await readViewCache(home, rec.runId))?.seq, current.seq, 'the current page is still kept');
  });
});
