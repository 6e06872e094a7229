/**
 * The run page of a finished big run, kept by its run store, so a page's first load sends it
 * without reading the run: no parse of the record and state (megabytes for a 10,000-instance
 * run), no prediction, no view build, no serialisation.
 *
 * A kept page is two lines: a header `{"token": T, "seq": N}` and the page (UiRun JSON without
 * `actions`, which depend on the server). T is the run's change token, taken before the state the
 * page was built from was read; a kept page whose token is no longer the run's is never used.
 *   - embedded runs (localPages): runs/<runId>/ui-view.json; T = size and mtime of state.json and
 *     size of events.jsonl (any later event — a reset, a resume — appends to the journal or
 *     rewrites the snapshot); replaced only while T is current, checked under
 *     runs/<runId>/ui-view.json.lock;
 *   - Redis runs (redisPages): the run's `page` key (scheduler/redis/keys.ts; gzipped), expiring with the
 *     run's keys; T = the run meta's createdAt, seq, phase and finishedAt (RedisRunStore.pageToken:
 *     every applied event moves seq), so the page is honest for a UI on another machine.
 *
 * keepPage is the one way a page is kept: by `dagctl run` (keepRunPage, under the run's lock,
 * after its store closed), by the scheduler's embedded launcher (the same, after the run's final
 * snapshot), by the process that applied a Redis run's final batch (keepRedisRunPage, from the
 * `finished` effect, which exactly one process gets), and by `dagctl ui` the first time it builds
 * a finished run's page (app.ts, through the source's PageCache).
 */
import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import type { RunState } from '../../scheduler/engine/state.js';
import { withFileLock } from '../../storage/local/lock.js';
import type { RunRecord } from '../../scheduler/ports.js';
import type { UiActions, UiRun, UiStoreId } from '../api-types.js';

/** Runs with fewer instances are cheap to read: no page is kept for them. */
export const VIEW_CACHE_MIN_INSTANCES = 1000;

const FILE = 'ui-view.json';
/** The page lock guards a stat and a rename: held longer, its holder died. */
const PAGE_LOCK_STALE_MS = 10_000;
const PAGE_LOCK_TIMEOUT_MS = 30_000;
const gzipP = promisify(gzip);
const gunzipP = promisify(gunzip);

/** A run store's kept pages. */
export interface PageCache {
  /** The store whose runs these are (a kept page names it). */
  readonly store: UiStoreId;
  /** The run's change token now (taken before a page is built from its state); null: no run. */
  token(runId: string): Promise<string | null>;
  /** The kept page (JSON text without `actions`) with its seq and token, when present and current. */
  read(runId: string): Promise<KeptPage | null>;
  /**
   * Keeps the page built from the state read after `token` was taken — only while `token` is still
   * the run's (a compare-and-set): a keep that read an older state and finishes late never
   * replaces the page of a newer one. Returns whether the page was written.
   */
  write(token: string, view: UiRun): Promise<boolean>;
}

export interface KeptPage {
  text: string;
  seq: number;
  token: string;
}

/** The kept form of a page: header line, then the page without its actions. */
export function pageText(token: string, view: UiRun): string {
  const { actions: _serverSide, ...page } = view;
  return `${JSON.stringify({ token, seq: view.seq })}\n${JSON.stringify(page)}`;
}

/** A kept page's parts, when it is well formed and its token is `current`. */
export function parsePage(raw: string | null, current: string | null): KeptPage | null {
  if (raw === null || current === null) return null;
  const nl = raw.indexOf('\n');
  if (nl < 0) return null;
  let head: { token?: unknown; seq?: unknown };
  try {
    head = JSON.parse(raw.slice(0, nl)) as { token?: unknown; seq?: unknown };
  } catch {
    return null;
  }
  if (typeof head.token !== 'string' || typeof head.seq !== 'number' || head.token !== current) return null;
  return { text: raw.slice(nl + 1), seq: head.seq, token: head.token };
}

/** The change token of a local run's files, or null when it has no snapshot. */
export async function runFilesToken(home: string, runId: string): Promise<string | null> {
  const dir = join(home, 'runs', runId);
  try {
    const s = await stat(join(dir, 'state.json'));
    const j = await stat(join(dir, 'events.jsonl')).catch(() => null);
    return `${s.size}:${s.mtimeMs}:${j?.size ?? -1}`;
  } catch {
    return null;
  }
}

/** Embedded runs' pages, kept as runs/<runId>/ui-view.json under `home`. */
export function localPages(home: string): PageCache {
  return {
    store: 'local',
    token: (runId) => runFilesToken(home, runId),
    async read(runId) {
      let raw: string;
      try {
        raw = await readFile(join(home, 'runs', runId, FILE), 'utf8');
      } catch {
        return null;
      }
      return parsePage(raw, await runFilesToken(home, runId));
    },
    async write(token, view) {
      // The page is written aside first; the check and the rename are one step under the page's
      // lock, which every local keep takes: of two keeps, the later one sees the run's files as
      // they are when it replaces the page, so a page built from an older state never lands over
      // a current one (the local form of the Redis keep script's check).
      const path = join(home, 'runs', view.runId, FILE);
      const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
      await writeFile(tmp, pageText(token, view));
      try {
        return await withFileLock(`${path}.lock`, async () => {
          if ((await runFilesToken(home, view.runId)) !== token) return false;
          await rename(tmp, path);
          return true;
        }, { staleMs: PAGE_LOCK_STALE_MS, timeoutMs: PAGE_LOCK_TIMEOUT_MS });
      } finally {
        await rm(tmp, { force: true });
      }
    },
  };
}

/** What redisPages needs of the RedisRunStore (its page hooks). */
export interface RedisPageStore {
  pageToken(runId: string): Promise<string | null>;
  keepPage(runId: string, token: string, data: Buffer): Promise<boolean>;
  keptPage(runId: string): Promise<{ token: string | null; data: Buffer | null }>;
}

/**
 * Redis runs' pages, kept gzipped (a 10,000-instance page's 2.4 MB of JSON is ~10× smaller: it
 * stays in Redis memory for the run's retention) in the run's `page` key, written only while its
 * token is current.
 */
export function redisPages(store: RedisPageStore): PageCache {
  return {
    store: 'redis',
    token: (runId) => store.pageToken(runId),
    async read(runId) {
      const { token, data } = await store.keptPage(runId);
      if (data === null || token === null) return null;
      let text: string;
      try {
        text = (await gunzipP(data)).toString('utf8');
      } catch {
        return null; // not a page this version wrote: rebuilt from the run
      }
      return parsePage(text, token);
    },
    async write(token, view) {
      return store.keepPage(view.runId, token, await gzipP(pageText(token, view), { level: 1 }));
    },
  };
}

/** Embedded runs: the kept page (readViewCache) of a run under `home`, when current. */
export function readViewCache(home: string, runId: string): Promise<KeptPage | null> {
  return localPages(home).read(runId);
}

/** The kept page's text with this server's actions added (a UiRun as JSON). */
export function withActions(text: string, actions: UiActions): string {
  return `{"actions":${JSON.stringify(actions)},${text.slice(1)}`;
}

/**
 * Keeps the page of a finished big run: its token is taken first, then its state read
 * (`readState`), and the page built and written. Nothing for a small or unfinished run.
 * `cores`: the embedded default of the prediction, as the UI's. The page code is loaded only here
 * (small runs do not pay for it). Returns whether a page was written.
 */
export async function keepPage(pages: PageCache, record: RunRecord, readState: () => Promise<RunState | null>, cores: number): Promise<boolean> {
  if (record.plan.length < VIEW_CACHE_MIN_INSTANCES) return false;
  const token = await pages.token(record.runId);
  if (token === null) return false;
  const state = await readState();
  if (state === null || (state.phase !== 'succeeded' && state.phase !== 'failed' && state.phase !== 'cancelled')) return false;
  const { buildRunView, runBrief } = await import('./views.js');
  return pages.write(token, buildRunView(pages.store, record, state, Date.now(), { cancel: false, retry: false, reason: null }, runBrief(record, cores)));
}

/**
 * An embedded run's driver (`dagctl run`, the scheduler's launcher): after the run finished and
 * its final snapshot is written, while it still holds the run's lock, keeps its page.
 */
export function keepRunPage(home: string, record: RunRecord, state: RunState, cores: number): Promise<boolean> {
  return keepPage(localPages(home), record, () => Promise.resolve(state), cores);
}

/** The process that applied a Redis run's final batch (its `finished` effect) keeps its page. */
export function keepRedisRunPage(store: RedisPageStore & { getState(runId: string): Promise<RunState | null> }, record: RunRecord, cores: number): Promise<boolean> {
  return keepPage(redisPages(store), record, () => store.getState(record.runId), cores);
}
