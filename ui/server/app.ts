/**
 * `dagctl ui`'s HTTP server (fastify). Pages (one HTML shell; the page script renders from the
 * JSON API): `/`, `/runs/RUN_ID`, `/dags/NAME`, `/views/DAG/DATASET`. API: `GET /api/home`,
 * `GET /api/runs/:id`, `GET /api/runs/:id/events` (server-sent events: snapshot, then patches),
 * `GET /api/runs/:id/instances/:instance` (its error and logs in full: the page caps them),
 * `GET /api/dags/:name` (`?workers=N&deadline=2h`: plan numbers), `GET /api/views/:dag/:dataset`
 * (a view's versions), `POST /api/runs/:id/cancel`, `POST /api/runs/:id/retry` (`{"from": TASK}`;
 * an embedded run is reset and resumed by a detached `dagctl run --resume`, sources.ts),
 * `POST /api/dags/:name/pause` (`{"paused": bool}`: `dagctl pause|unpause`),
 * `POST /api/views/:dag/:dataset/rollback` (`{"to": VERSION}`: `dagctl dataset rollback`).
 * `?store=local|redis` picks the store when both have the run (default: local first). Probes:
 * `/healthz`, `/readyz` (every store answers), `/metrics` (Prometheus text).
 *
 * Contract: access rules in security.ts (loopback-only without a token; CSRF-safe actions);
 * --read-only refuses actions (UI_READ_ONLY); errors are JSON `{error: {code, message}}` with a
 * stable code; no page or API carries a secret (the token is never echoed; Redis URLs are masked).
 * Assets are the files `npm run build` put in dist/ui/web/ plus ui/web/style.css, read at start:
 * a missing build fails the start loudly.
 */
import { randomBytes } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { availableParallelism } from 'node:os';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyCookie from '@fastify/cookie';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { healthRoutes } from '../../services/health.js';
import { parseDuration } from '../../core/duration.js';
import { DagctlError, errorCode, errorMessage, isDagctlError } from '../../core/errors.js';
import type { RunRecord, RunSummary } from '../../scheduler/ports.js';
import { whyOf } from '../../scheduler/status-view.js';
import { validateDagText } from '../../definitions/validate.js';
import { rollback } from '../../storage/dataset/history.js';
import { listVersions, readPointer } from '../../storage/dataset/publish.js';
import { manifestKey } from '../../storage/dataset/layout.js';
import { openObjectStore } from '../../storage/open.js';
import type { Manifest } from '../../storage/types.js';
import type { UiActions, UiDag, UiDagListItem, UiHome, UiInstanceTexts, UiRun, UiRunListItem, UiView, UiViewVersion } from '../api-types.js';
import { LiveHub } from './live.js';
import { checkRequest, CSRF_COOKIE, CSRF_HEADER, TOKEN_COOKIE, safeEqual } from './security.js';
import type { PageCache, RunSource } from './sources.js';
import { VIEW_CACHE_MIN_INSTANCES, withActions } from './view-cache.js';
import { buildRunView, dagGraph, instanceTexts, maskUrl, planNumbers, predictedWorkersOf, runBrief, runListItem, scheduleView, type RunBrief } from './views.js';

export interface UiServerOptions {
  sources: RunSource[];
  readOnly?: boolean;
  token?: string;
  /** How often a watched run is read for live updates (default 150 ms). */
  pollMs?: number;
  /** Runs listed on the home page per store (default 50). */
  listLimit?: number;
  /** Finished runs per store whose views are read in the background at start (default 2; 0: none). */
  prewarm?: number;
  now?(): number;
}

export interface UiServer {
  app: FastifyInstance;
  listen(port: number, host: string): Promise<{ url: string; port: number }>;
  close(): Promise<void>;
}

const STATUS_OF: Record<string, number> = {
  RUN_NOT_FOUND: 404,
  DATASET_NOT_FOUND: 404,
  TASK_NOT_FOUND: 404,
  USAGE: 400,
  UI_UNAUTHORIZED: 401,
  UI_FORBIDDEN: 403,
  UI_READ_ONLY: 403,
  RUN_ACTION_UNSUPPORTED: 409,
  RUN_LOCKED: 409,
  VERSION_NOT_FOUND: 404,
  VERSION_VACUUMED: 409,
  REDIS_UNAVAILABLE: 503,
};

const CONTENT_TYPES: Record<string, string> = { '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.map': 'application/json' };

interface Asset {
  body: Buffer;
  type: string;
}

/** The page assets: compiled scripts from dist/ui/web/ and the style sheet from ui/web/. */
async function loadAssets(): Promise<Map<string, Asset>> {
  const webDir = fileURLToPath(new URL('../web/', import.meta.url));
  const css = fileURLToPath(new URL('../../../ui/web/style.css', import.meta.url));
  const assets = new Map<string, Asset>();
  let names: string[] = [];
  try {
    names = (await readdir(webDir)).filter((n) => n.endsWith('.js'));
  } catch {
    // reported below
  }
  if (!names.includes('main.js')) throw new DagctlError('USAGE', `the UI's page scripts are not built (no ${webDir}main.js): run \`npm run build\``, { dir: webDir });
  for (const n of names) assets.set(n, { body: await readFile(webDir + n), type: CONTENT_TYPES['.js'] as string });
  assets.set('style.css', { body: await readFile(css), type: CONTENT_TYPES['.css'] as string });
  return assets;
}

function shell(csrf: string, readOnly: boolean): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="dagctl-csrf" content="${csrf}">
<meta name="dagctl-read-only" content="${readOnly ? '1' : '0'}">
<title>dagctl</title>
<link rel="stylesheet" href="/assets/style.css">
<script type="module" src="/assets/main.js"></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top"><nav aria-label="Main"><a href="/" class="brand">dagctl</a>${readOnly ? ' <span class="badge" title="actions are disabled">read-only</span>' : ''}</nav></header>
<main id="main" tabindex="-1"><p class="loading" role="status">Loading…</p></main>
</body>
</html>
`;
}

interface RunMetaCache {
  record: RunRecord;
  brief: RunBrief;
}

/** Full records kept (a 10,000-instance record is megabytes); briefs for the lists, many more. */
const RECORDS_KEPT = 8;
const BRIEFS_KEPT = 5000;
const FINISHED_VIEWS_KEPT = 4;
/** Run ids the server accepts (as the stores do). */
const RUN_ID = /^[A-Za-z0-9._-]+$/;

function remember<V>(map: Map<string, V>, key: string, value: V, cap: number): V {
  map.delete(key);
  if (map.size >= cap) map.delete(map.keys().next().value as string);
  map.set(key, value);
  return value;
}

export async function createUiServer(opts: UiServerOptions): Promise<UiServer> {
  const now = opts.now ?? Date.now;
  const readOnly = opts.readOnly === true;
  const token = opts.token === '' ? undefined : opts.token;
  const csrf = randomBytes(24).toString('base64url');
  const assets = await loadAssets();
  const page = shell(csrf, readOnly);
  const sources = opts.sources;
  const requests = new Map<string, number>();
  // Records never change once written: keep the recent ones, and the brief of many more.
  const records = new Map<string, RunMetaCache>();
  const briefs = new Map<string, RunBrief>();
  // An embedded run without --concurrency ran one thread per core, most likely of this machine.
  const cores = availableParallelism();
  const app = Fastify({ logger: false, bodyLimit: 64 * 1024, forceCloseConnections: true });
  await app.register(fastifyCookie);

  async function recordOf(source: RunSource, runId: string): Promise<RunMetaCache | null> {
    const key = `${source.id}\u0000${runId}`;
    const hit = records.get(key);
    if (hit !== undefined) return remember(records, key, hit, RECORDS_KEPT);
    const record = await source.store.getRecord(runId);
    if (record === null) return null;
    const brief = briefs.get(key) ?? remember(briefs, key, runBrief(record, cores), BRIEFS_KEPT);
    return remember(records, key, { record, brief }, RECORDS_KEPT);
  }

  async function briefOf(source: RunSource, runId: string): Promise<RunBrief | null> {
    const hit = briefs.get(`${source.id}\u0000${runId}`);
    return hit ?? (await recordOf(source, runId))?.brief ?? null;
  }

  function actionsOf(source: RunSource, phase: UiRun['phase'], cancelRequested: boolean): UiActions {
    if (readOnly) return { cancel: false, retry: false, reason: 'read-only mode (dagctl ui --read-only)' };
    const active = phase === 'running' || phase === 'pending';
    const cancel = source.cancel !== undefined && active && !cancelRequested;
    const retry = source.retry !== undefined && !active;
    const reasons: string[] = [];
    if (active && cancelRequested) reasons.push('the run is being cancelled');
    if (source.retry === undefined || source.cancel === undefined) reasons.push(source.noActions ?? 'this store has no actions');
    return { cancel, retry, reason: reasons.length === 0 ? null : reasons.join('; ') };
  }

  // Views of finished runs, kept: an embedded run never changes once finished; a Redis run only
  // by a retry, which moves its sequence number (checked before a cached view is used).
  const finished = new Map<string, UiRun>();
  async function buildView(source: RunSource, meta: RunMetaCache, sinceSeq: number | null): Promise<UiRun | 'same' | null> {
    const key = `${source.id}\u0000${meta.record.runId}`;
    const cached = finished.get(key);
    if (cached !== undefined && (source.seq === undefined || (await source.seq(meta.record.runId)) === cached.seq)) return sinceSeq === cached.seq ? 'same' : cached;
    // A big run's page is kept on disk once finished: the token is taken before its state is read.
    const pages = meta.record.plan.length >= VIEW_CACHE_MIN_INSTANCES ? source.pages : undefined;
    const token = pages === undefined ? null : await pages.token(meta.record.runId);
    const state = await source.store.getState(meta.record.runId);
    if (state === null) return null;
    if (sinceSeq !== null && state.seq === sinceSeq) return 'same';
    const view = buildRunView(source.id, meta.record, state, now(), actionsOf(source, state.phase, state.cancelRequested), meta.brief);
    if (state.phase === 'succeeded' || state.phase === 'failed' || state.phase === 'cancelled') {
      remember(finished, key, view, FINISHED_VIEWS_KEPT);
      if (pages !== undefined && token !== null) void pages.write(token, view).catch(() => undefined); // only a cache
    } else finished.delete(key);
    return view;
  }

  /**
   * A finished run's page from its store's page cache (view-cache.ts), with this server's actions,
   * as JSON text: no read of the run. Null when no store has a current one.
   */
  async function cachedPage(runId: string, store: string | undefined): Promise<{ source: RunSource; pages: PageCache; text: string; token: string } | null> {
    if (!RUN_ID.test(runId) || /^\.+$/.test(runId)) return null; // a run folder's name, never `.` or `..`
    for (const source of sourceNamed(store)) {
      const pages = source.pages;
      const hit = pages === undefined ? null : await pages.read(runId);
      // Actions of a finished run do not depend on which finished phase it is in.
      if (pages !== undefined && hit !== null) return { source, pages, text: withActions(hit.text, actionsOf(source, 'succeeded', false)), token: hit.token };
    }
    return null;
  }

  const hub = new LiveHub({
    pollMs: opts.pollMs ?? 150,
    // The watch holds the record: no store read for it, however many runs are watched.
    view: (source, record, since) => {
      const key = `${source.id}\u0000${record.runId}`;
      return buildView(source, { record, brief: briefs.get(key) ?? remember(briefs, key, runBrief(record, cores), BRIEFS_KEPT) }, since);
    },
  });


  function sourceNamed(id: string | undefined): RunSource[] {
    if (id === undefined || id === '') return sources;
    const s = sources.filter((x) => x.id === id);
    if (s.length === 0) throw new DagctlError('USAGE', `no store "${id}" (have: ${sources.map((x) => x.id).join(', ')})`, { store: id });
    return s;
  }

  /** The run and the store holding it (`store` narrows the search). */
  async function findRun(runId: string, store: string | undefined): Promise<{ source: RunSource; meta: RunMetaCache }> {
    if (!RUN_ID.test(runId)) throw new DagctlError('RUN_NOT_FOUND', `invalid run id "${runId}"`, { runId });
    for (const source of sourceNamed(store)) {
      const meta = await recordOf(source, runId);
      if (meta !== null) return { source, meta };
    }
    throw new DagctlError('RUN_NOT_FOUND', `no run ${runId} in ${sourceNamed(store).map((s) => s.id).join(' or ')}`, { runId });
  }

  async function listOf(source: RunSource, limit: number): Promise<{ runs: UiRunListItem[]; all: RunSummary[] }> {
    const all = await source.store.listRuns({ limit: Math.max(limit, 500) });
    const runs: UiRunListItem[] = [];
    for (const s of all.slice(0, limit)) {
      runs.push(runListItem(source.id, s, await briefOf(source, s.runId)));
    }
    return { runs, all };
  }

  async function dagsOf(source: RunSource, all: RunSummary[]): Promise<UiDagListItem[]> {
    const byDag = new Map<string, { latest: RunSummary; runs: number }>();
    for (const s of all) {
      const d = byDag.get(s.dag);
      if (d === undefined) byDag.set(s.dag, { latest: s, runs: 1 });
      else d.runs++;
    }
    const out: UiDagListItem[] = [];
    for (const [name, d] of [...byDag].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      const brief = await briefOf(source, d.latest.runId);
      if (brief === null) continue;
      out.push({ name, store: source.id, latestRunId: d.latest.runId, dagHash: brief.dagHash, runs: d.runs, tasks: brief.tasks });
    }
    return out;
  }

  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    const path = req.url.split('?')[0] ?? '/';
    requests.set(path.startsWith('/api/') ? 'api' : path.startsWith('/assets/') ? 'assets' : 'page', (requests.get(path.startsWith('/api/') ? 'api' : path.startsWith('/assets/') ? 'assets' : 'page') ?? 0) + 1);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('x-frame-options', 'DENY');
    reply.header('content-security-policy', "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'");
    // A page opened once with ?token=T: keep the token in an HttpOnly cookie, drop it from the URL.
    const q = req.query as Record<string, string | undefined>;
    if (token !== undefined && req.method === 'GET' && typeof q.token === 'string' && !path.startsWith('/api/')) {
      if (!safeEqual(q.token, token)) return sendError(reply, new DagctlError('UI_UNAUTHORIZED', 'wrong token'));
      reply.setCookie(TOKEN_COOKIE, token, { httpOnly: true, sameSite: 'strict', path: '/' });
      const u = new URL(req.url, 'http://x');
      u.searchParams.delete('token');
      return reply.redirect(`/${u.pathname.replace(/^\/+/, '')}${u.search}`, 303);
    }
    const v = checkRequest(
      {
        method: req.method,
        path,
        host: req.headers.host,
        origin: req.headers.origin,
        authorization: req.headers.authorization,
        tokenCookie: req.cookies[TOKEN_COOKIE],
        csrfHeader: typeof req.headers[CSRF_HEADER] === 'string' ? req.headers[CSRF_HEADER] : undefined,
        csrfCookie: req.cookies[CSRF_COOKIE],
        contentType: req.headers['content-type'],
      },
      { token, csrf },
    );
    if (!v.ok) return sendError(reply, new DagctlError(v.code, v.message));
    return undefined;
  });

  app.setErrorHandler((err, _req, reply) => sendError(reply, err));
  app.setNotFoundHandler((req, reply) => sendError(reply, new DagctlError('RUN_NOT_FOUND', `no page ${req.url.split('?')[0] ?? ''}`)));

  const sendPage = (reply: FastifyReply): FastifyReply =>
    reply.setCookie(CSRF_COOKIE, csrf, { httpOnly: true, sameSite: 'strict', path: '/' }).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(page);
  app.get('/', (_req, reply) => sendPage(reply));
  // A run page's first load: start reading the run while the browser loads the page script, so
  // the page's API call finds the record (and a finished run's view) read or being read.
  const warming = new Map<string, Promise<unknown>>();
  app.get<{ Params: { id: string }; Querystring: { store?: string } }>('/runs/:id', (req, reply) => {
    const id = req.params.id;
    if (!warming.has(id)) {
      // (Nothing to read when the store keeps the finished run's page.)
      const p = cachedPage(id, req.query.store)
        .then(async (hit) => (hit !== null ? undefined : findRun(id, req.query.store).then(({ source, meta }) => buildView(source, meta, null))))
        .catch(() => undefined) // the API call reports it
        .finally(() => warming.delete(id));
      warming.set(id, p);
    }
    return sendPage(reply);
  });
  app.get('/dags/:name', (_req, reply) => sendPage(reply));
  app.get('/views/:dag/:dataset', (_req, reply) => sendPage(reply));
  app.get<{ Params: { name: string } }>('/assets/:name', (req, reply) => {
    const a = assets.get(req.params.name);
    if (a === undefined) return sendError(reply, new DagctlError('RUN_NOT_FOUND', `no asset ${req.params.name}`));
    return reply.type(a.type).header('cache-control', 'no-cache').send(a.body);
  });

  const readiness = async (): Promise<true | string> => {
    const bad: string[] = [];
    for (const s of sources) {
      try {
        await s.store.latestRunId();
      } catch (e) {
        bad.push(`${s.id}: ${errorMessage(e)}`);
      }
    }
    return bad.length === 0 ? true : bad.join('; ');
  };
  const metricsText = (): string => {
    const lines = [
      '# HELP dagctl_ui_requests_total HTTP requests served by dagctl ui, by kind.',
      '# TYPE dagctl_ui_requests_total counter',
      ...[...requests].map(([k, n]) => `dagctl_ui_requests_total{kind="${k}"} ${n}`),
      '# HELP dagctl_ui_live_subscribers Open live-update streams.',
      '# TYPE dagctl_ui_live_subscribers gauge',
      `dagctl_ui_live_subscribers ${hub.subscribers}`,
      '# HELP dagctl_ui_live_polls_total Run store reads for live updates.',
      '# TYPE dagctl_ui_live_polls_total counter',
      `dagctl_ui_live_polls_total ${hub.polls}`,
      '# HELP dagctl_ui_live_events_total Live-update events sent.',
      '# TYPE dagctl_ui_live_events_total counter',
      `dagctl_ui_live_events_total ${hub.events}`,
    ];
    return lines.join('\n') + '\n';
  };
  healthRoutes(app, { ready: readiness, metrics: metricsText });

  app.get('/api/home', async (): Promise<UiHome> => {
    const stores: UiHome['stores'] = [];
    for (const s of sources) {
      try {
        const { runs, all } = await listOf(s, opts.listLimit ?? 50);
        stores.push({ id: s.id, label: s.label, error: null, runs, dags: await dagsOf(s, all) });
      } catch (e) {
        stores.push({ id: s.id, label: s.label, error: `${errorCode(e)}: ${errorMessage(e)}`, runs: [], dags: [] });
      }
    }
    return { stores, readOnly };
  });

  app.get<{ Params: { id: string }; Querystring: { store?: string } }>('/api/runs/:id', async (req, reply) => {
    await warming.get(req.params.id);
    const hit = await cachedPage(req.params.id, req.query.store);
    if (hit !== null) return reply.type('application/json; charset=utf-8').send(hit.text);
    const { source, meta } = await findRun(req.params.id, req.query.store);
    const view = await buildView(source, meta, null);
    if (view === null || view === 'same') throw new DagctlError('RUN_NOT_FOUND', `no state for run ${req.params.id}`);
    return view;
  });

  // One instance's error and logs in full (the run page caps them: views.ts UI_TEXT_CAP_BYTES).
  app.get<{ Params: { id: string; instance: string }; Querystring: { store?: string } }>('/api/runs/:id/instances/:instance', async (req): Promise<UiInstanceTexts> => {
    const { source, meta } = await findRun(req.params.id, req.query.store);
    const state = await source.store.getState(meta.record.runId);
    const s = state?.instances[req.params.instance];
    if (s === undefined) throw new DagctlError('TASK_NOT_FOUND', `run ${meta.record.runId} has no instance "${req.params.instance}"`, { runId: meta.record.runId, instance: req.params.instance });
    const p = meta.record.plan.find((x) => x.id === req.params.instance);
    const why = state === null || p === undefined ? null : whyOf(p, s, state, new Map(meta.record.plan.map((x) => [x.id, x])), now());
    return instanceTexts(meta.record.runId, req.params.instance, s, why);
  });

  app.get<{ Params: { id: string }; Querystring: { store?: string } }>('/api/runs/:id/events', async (req, reply) => {
    const { id } = req.params;
    const hit = await cachedPage(id, req.query.store);
    const found = hit === null ? await findRun(id, req.query.store) : null;
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-content-type-options': 'nosniff' });
    raw.write(': live\n\n');
    const heartbeat = setInterval(() => raw.write(': ping\n\n'), 15_000);
    const sub = {
      send: (event: string, data: unknown) => raw.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`),
      end: () => raw.end(),
    };
    let closed = false;
    let unsubscribe = (): void => undefined;
    let timer: NodeJS.Timeout | null = null;
    if (found !== null) unsubscribe = hub.subscribe(found.source, found.meta.record, sub);
    else if (hit !== null) {
      // The cached page is the snapshot; the run is followed live again once its files change (a retry).
      raw.write(`event: snapshot\ndata: ${hit.text}\n\n`);
      const check = async (): Promise<void> => {
        timer = null;
        if (closed) return;
        try {
          if ((await hit.pages.token(id)) === hit.token) {
            if (!closed) timer = setTimeout(() => void check(), opts.pollMs ?? 150);
            return;
          }
          const { source, meta } = await findRun(id, hit.source.id);
          if (!closed) unsubscribe = hub.subscribe(source, meta.record, sub);
        } catch (e) {
          sub.send('error', { error: { code: errorCode(e), message: errorMessage(e) } });
        }
      };
      timer = setTimeout(() => void check(), opts.pollMs ?? 150);
    }
    req.raw.on('close', () => {
      closed = true;
      clearInterval(heartbeat);
      if (timer !== null) clearTimeout(timer);
      unsubscribe();
    });
  });

  app.post<{ Params: { id: string }; Querystring: { store?: string } }>('/api/runs/:id/cancel', async (req) => {
    if (readOnly) throw new DagctlError('UI_READ_ONLY', 'read-only mode: actions are disabled');
    const { source, meta } = await findRun(req.params.id, req.query.store);
    if (source.cancel === undefined) throw new DagctlError('RUN_ACTION_UNSUPPORTED', source.noActions ?? 'this store cannot cancel runs', { runId: meta.record.runId });
    const phase = (await source.store.getState(meta.record.runId))?.phase;
    if (phase !== 'running' && phase !== 'pending') throw new DagctlError('RUN_ACTION_UNSUPPORTED', `run ${meta.record.runId} is ${phase ?? 'gone'}: nothing to cancel`, { runId: meta.record.runId });
    const note = await source.cancel(meta.record.runId);
    return { runId: meta.record.runId, store: source.id, cancelRequested: true, note };
  });

  app.post<{ Params: { id: string }; Querystring: { store?: string }; Body: { from?: unknown } | null }>('/api/runs/:id/retry', async (req) => {
    if (readOnly) throw new DagctlError('UI_READ_ONLY', 'read-only mode: actions are disabled');
    const { source, meta } = await findRun(req.params.id, req.query.store);
    if (source.retry === undefined) throw new DagctlError('RUN_ACTION_UNSUPPORTED', source.noActions ?? 'this store cannot retry runs', { runId: meta.record.runId });
    const from = req.body?.from;
    if (from !== undefined && from !== null && (typeof from !== 'string' || !meta.record.dag.tasks.some((t) => t.name === from))) {
      throw new DagctlError('TASK_NOT_FOUND', `run ${meta.record.runId} has no task ${String(from)}`, { task: from });
    }
    const phase = (await source.store.getState(meta.record.runId))?.phase;
    if (source.id === 'local' && (phase === 'running' || phase === 'pending')) throw new DagctlError('RUN_ACTION_UNSUPPORTED', `run ${meta.record.runId} is ${phase}: cancel it first, or resume it with \`dagctl run --resume ${meta.record.runId}\``, { runId: meta.record.runId });
    const dispatched = await source.retry(meta.record.runId, typeof from === 'string' ? from : undefined);
    finished.delete(`${source.id}\u0000${meta.record.runId}`);
    return { runId: meta.record.runId, store: source.id, dispatched: dispatched.length };
  });

  app.get<{ Params: { name: string }; Querystring: { store?: string; workers?: string; deadline?: string } }>('/api/dags/:name', async (req): Promise<UiDag> => {
    const name = req.params.name;
    const workersText = req.query.workers;
    const workers = workersText === undefined || workersText === '' ? undefined : Number(workersText);
    if (workers !== undefined && (!Number.isInteger(workers) || workers < 1 || workers > 100_000)) throw new DagctlError('USAGE', `workers must be an integer 1..100000, got "${workersText}"`);
    const dl = req.query.deadline;
    const deadlineMs = dl === undefined || dl === '' ? undefined : parseDuration(dl);
    if (deadlineMs === null || (deadlineMs !== undefined && deadlineMs <= 0)) throw new DagctlError('USAGE', `deadline: "${dl}" is not a positive duration such as 90s or 2h`);
    for (const source of sourceNamed(req.query.store)) {
      const all = await source.store.listRuns({ dag: name, limit: 50 });
      const latest = all[0];
      if (latest === undefined) continue;
      const meta = await recordOf(source, latest.runId);
      if (meta === null) continue;
      const r = meta.record;
      const runs: UiRunListItem[] = [];
      for (const s of all) {
        runs.push(runListItem(source.id, s, await briefOf(source, s.runId)));
      }
      return {
        name,
        store: source.id,
        runId: r.runId,
        dagHash: r.dagHash,
        sourceFile: r.dag.sourceFile,
        description: r.dag.description ?? null,
        text: r.dagText,
        issues: r.dagText === '' ? null : revalidate(r),
        graph: dagGraph(r.dag),
        views: Object.values(r.dag.datasets).filter((d) => d.view).map((d) => d.name),
        plan: planNumbers(r.plan, workers ?? predictedWorkersOf(r, cores), deadlineMs),
        schedule: scheduleView(r.dag, Date.now(), r.dag.schedule === undefined || source.schedules === undefined ? null : (await source.schedules.get(name)).paused),
        runs,
      };
    }
    throw new DagctlError('RUN_NOT_FOUND', `no runs of DAG ${name}`, { dag: name });
  });

  app.get<{ Params: { dag: string; dataset: string }; Querystring: { store?: string } }>('/api/views/:dag/:dataset', async (req): Promise<UiView> => {
    const { dag: name, dataset } = req.params;
    for (const source of sourceNamed(req.query.store)) {
      const latest = (await source.store.listRuns({ dag: name, limit: 1 }))[0];
      const meta = latest === undefined ? null : await recordOf(source, latest.runId);
      if (meta === null) continue;
      const ds = meta.record.dag.datasets[dataset];
      if (ds === undefined || !ds.view) throw new DagctlError('DATASET_NOT_FOUND', `DAG ${name} has no view dataset ${dataset}`, { dag: name, dataset });
      return { dag: name, dataset, store: source.id, uri: maskUrl(ds.uri), producer: meta.record.dag.tasks.find((t) => t.outputs.includes(dataset))?.name ?? null, ...(await viewVersions(ds.uri, 100)) };
    }
    throw new DagctlError('RUN_NOT_FOUND', `no runs of DAG ${name}`, { dag: name });
  });

  // Pause/unpause a DAG's schedule: the same ScheduleState.setPaused as `dagctl pause|unpause`.
  app.post<{ Params: { name: string }; Querystring: { store?: string }; Body: { paused?: unknown } | null }>('/api/dags/:name/pause', async (req) => {
    if (readOnly) throw new DagctlError('UI_READ_ONLY', 'read-only mode: actions are disabled');
    const paused = req.body?.paused;
    if (typeof paused !== 'boolean') throw new DagctlError('USAGE', 'body: expected {"paused": true|false}');
    const name = req.params.name;
    for (const source of sourceNamed(req.query.store)) {
      const latest = (await source.store.listRuns({ dag: name, limit: 1 }))[0];
      if (latest === undefined) continue;
      if (source.schedules === undefined) throw new DagctlError('RUN_ACTION_UNSUPPORTED', `the ${source.id} store keeps no schedule state`, { dag: name });
      await source.schedules.setPaused(name, paused);
      return { dag: name, store: source.id, paused };
    }
    throw new DagctlError('RUN_NOT_FOUND', `no runs of DAG ${name}`, { dag: name });
  });

  // Roll a view back: the same storage/dataset/history.ts rollback as `dagctl dataset rollback`.
  app.post<{ Params: { dag: string; dataset: string }; Querystring: { store?: string }; Body: { to?: unknown } | null }>('/api/views/:dag/:dataset/rollback', async (req) => {
    if (readOnly) throw new DagctlError('UI_READ_ONLY', 'read-only mode: actions are disabled');
    const to = req.body?.to;
    if (typeof to !== 'string' || to === '') throw new DagctlError('USAGE', 'body: expected {"to": VERSION}');
    const { dag: name, dataset } = req.params;
    for (const source of sourceNamed(req.query.store)) {
      const latest = (await source.store.listRuns({ dag: name, limit: 1 }))[0];
      const meta = latest === undefined ? null : await recordOf(source, latest.runId);
      if (meta === null) continue;
      const ds = meta.record.dag.datasets[dataset];
      if (ds === undefined || !ds.view) throw new DagctlError('DATASET_NOT_FOUND', `DAG ${name} has no view dataset ${dataset}`, { dag: name, dataset });
      const r = await rollback(await openObjectStore(ds.uri), to);
      return { dag: name, dataset, restored: r.restored.version, alreadyCurrent: r.alreadyCurrent, publication: r.pointer.publication?.seq ?? null };
    }
    throw new DagctlError('RUN_NOT_FOUND', `no runs of DAG ${name}`, { dag: name });
  });

  app.addHook('preClose', async () => hub.close());

  // The most recent finished runs are read (record, snapshot, view) in the background once the
  // server listens, so their first page load does not pay for it; one run at a time.
  let closing = false;
  async function prewarm(): Promise<void> {
    const n = opts.prewarm ?? 2;
    if (n <= 0) return;
    for (const source of sources) {
      let recent: RunSummary[] = [];
      try {
        recent = (await source.store.listRuns({ limit: 50 })).filter((r) => r.phase === 'succeeded' || r.phase === 'failed' || r.phase === 'cancelled').slice(0, Math.min(n, FINISHED_VIEWS_KEPT));
      } catch {
        continue; // the home page reports the store's error
      }
      for (const r of recent) {
        if (closing) return;
        await new Promise((res) => setImmediate(res));
        const meta = await recordOf(source, r.runId).catch(() => null);
        if (meta !== null) await buildView(source, meta, null).catch(() => undefined);
      }
    }
  }

  return {
    app,
    async listen(port, host) {
      await app.listen({ port, host });
      void prewarm();
      const addr = app.server.address() as AddressInfo;
      const shown = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
      return { url: `http://${shown}:${addr.port}/`, port: addr.port };
    },
    async close() {
      closing = true;
      hub.close();
      await app.close();
    },
  };
}

/** A view's published versions, newest first (manifests read for at most `limit` of them). */
async function viewVersions(uri: string, limit: number): Promise<Pick<UiView, 'current' | 'versions' | 'more'>> {
  const store = await openObjectStore(uri);
  const pointer = await readPointer(store);
  const names = (await listVersions(store)).sort().reverse();
  const versions: UiViewVersion[] = [];
  for (const v of names.slice(0, limit)) {
    try {
      const m = JSON.parse(new TextDecoder().decode(await store.get(manifestKey(v)))) as Manifest;
      versions.push({ version: v, createdAt: m.createdAt, rows: m.rows, bytes: m.bytes, files: m.files.length, current: pointer?.version === v });
    } catch (e) {
      if (!isDagctlError(e, 'STORAGE_NOT_FOUND')) throw e; // a version being vacuumed or not yet complete
    }
  }
  return { current: pointer?.version ?? null, versions, more: Math.max(0, names.length - limit) };
}

/** The recorded DAG text validated again, with the run's params, against today's operators. */
function revalidate(r: RunRecord): NonNullable<UiDag['issues']> {
  const { issues } = validateDagText(r.dagText, r.dag.sourceFile, { paramOverrides: Object.fromEntries(Object.entries(r.options.params).map(([k, v]) => [k, String(v)])), baseDir: dirname(r.dag.sourceFile) });
  return issues.map((i) => ({ code: i.code, severity: i.severity, message: i.message, line: i.line, column: i.column, path: i.path }));
}

function sendError(reply: FastifyReply, err: unknown): FastifyReply {
  const code = isDagctlError(err) ? err.code : typeof (err as { statusCode?: unknown }).statusCode === 'number' ? 'USAGE' : errorCode(err);
  const status = isDagctlError(err) ? (STATUS_OF[err.code] ?? 500) : ((err as { statusCode?: number }).statusCode ?? 500);
  return reply.code(status).type('application/json').send({ error: { code, message: errorMessage(err) } });
}
