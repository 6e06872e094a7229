/**
 * The serving layer's HTTP API (fastify): range queries over one or more rollup views.
 *
 *   GET /query?view=NAME&url=U&from=TIME&to=TIME   → serving/query.ts QueryAnswer as JSON; other
 *        key columns of a view are more query parameters (COL=VALUE). NAME is the view's dataset
 *        name (its manifest's `dataset`), or the name given as NAME=URI.
 *   GET /views    → each view's name, version, keys, rows, granularities, data extent
 *   GET /healthz  → 200 while the process runs;  GET /readyz → 200 once every view is loaded,
 *        503 while closing;  GET /metrics → Prometheus text.
 *   Errors: JSON { error: { code, message, details } } — 404 QUERY_VIEW_UNKNOWN, 400 other bad
 *        queries (QUERY_*), 500 anything else.
 *
 * Versions: every `pollMs` each view's current version is read (serving/view.ts currentVersion);
 * a new one is loaded in the background while the old keeps answering, then swapped in by one
 * reference assignment. A query takes the snapshot once, at its start, so it sees exactly one
 * version. If a version is vacuumed while a query re-reads one of its blocks (STORAGE_NOT_FOUND),
 * the view is refreshed and the query answered once more from the new version. If a block read
 * finds the key index wrong (KEY_INDEX_INVALID: a row it points at does not hold the key), the
 * current version is reloaded by scanning its files (single-flight), swapped in, and the query
 * answered once more, wholly from the scanned snapshot. A version is scanned at most once: if its
 * scan fails (e.g. VIEW_INVALID: two rows of one key, granularity and bucket), or the scanned
 * snapshot's block reads fail too, queries on it get HTTP 500 VIEW_INVALID naming the view,
 * version and file until a new version is published.
 * Speed layer (`speedRedis`): ranges past a view's high-water mark are answered with the realtime
 * hours `dagctl speed` keeps in Redis (serving/query.ts answer, serving/speed/state.ts).
 * Memory: the key index of each loaded version (two while a new one loads) + one BlockCache
 * (LRU of key blocks, `cacheBytes`) shared by all views (serving/view.ts).
 */
import http from 'node:http';
import Fastify, { type FastifyInstance } from 'fastify';
import FindMyWay from 'find-my-way';
import { healthRoutes } from '../services/health.js';
import { DagctlError, errorCode, errorMessage, isDagctlError } from '../core/errors.js';
import type { Redis } from 'ioredis';
import type { ObjectStore } from '../storage/types.js';
import { answerJson, answerJsonCached, iso, parseTime, type AnswerJson, type AnswerOptions } from './query.js';
import { redisSpeedSource } from './speed/state.js';
import { BlockCache, currentVersion, loadView, type ViewSnapshot } from './view.js';

export interface ServedView {
  store: ObjectStore;
  /** Default: the dataset name in the view's manifest. */
  name?: string;
}

export interface ServeOptions {
  views: ServedView[];
  port: number;
  host?: string;
  /** How often each view's current version is checked (ms). */
  pollMs: number;
  cacheBytes: number;
  /** The speed layer's Redis (dagctl speed): realtime hours past each view's high-water mark. */
  speedRedis?: Redis;
  log?: (event: Record<string, unknown>) => void;
}

export interface ServerHandle {
  port: number;
  app: FastifyInstance;
  /** Checks every view for a new version now and swaps it in (what the poller does). */
  refresh(): Promise<void>;
  close(): Promise<void>;
}

class ViewHandle {
  loads = 0;
  loadFailures = 0;
  rescans = 0;
  rescanFailures = 0;
  /** Versions already scanned (or whose scan failed): never scanned again; their failures answer this. */
  private readonly scanned = new Map<string, DagctlError | null>();
  private pending: Promise<void> | null = null;
  private rescanning: Promise<void> | null = null;
  constructor(
    readonly name: string,
    readonly store: ObjectStore,
    public current: ViewSnapshot,
    private readonly cache: BlockCache,
    private readonly log: (e: Record<string, unknown>) => void,
  ) {}

  /** Loads the current version if it is not the one served; single-flight. */
  refresh(): Promise<void> {
    this.pending ??= this.doRefresh().finally(() => (this.pending = null));
    return this.pending;
  }

  /**
   * A block read of `bad` found its key index wrong (KEY_INDEX_INVALID): the current version is
   * loaded by scanning its files (never through its index) and swapped in; single-flight, so
   * concurrent queries that hit the same bad snapshot wait for one scan. Once `bad` is no longer
   * served (another query's rescan or a refresh swapped it out), nothing is read. A version is
   * scanned at most once: when its scan fails, or its scanned snapshot's block reads fail too, the
   * query (and every later one on that version) fails with VIEW_INVALID naming the view, version
   * and file (HTTP 500); the old snapshot stays until a new version is published.
   */
  rescan(bad: ViewSnapshot, cause: unknown): Promise<void> {
    if (this.current !== bad) return Promise.resolve();
    if (this.scanned.has(bad.version)) return Promise.reject(this.settle(bad, cause));
    this.rescanning ??= this.doRescan(bad, cause).finally(() => (this.rescanning = null));
    return this.rescanning;
  }

  private async doRescan(bad: ViewSnapshot, cause: unknown): Promise<void> {
    // A refresh in flight may be loading the same version through the same index: let it finish first.
    await this.pending;
    if (this.current !== bad) return;
    const v = await currentVersion(this.store);
    if (v === null) throw cause;
    if (this.scanned.has(v.version)) throw this.scanned.get(v.version) ?? this.unservable(v.version, cause);
    let next: ViewSnapshot;
    try {
      next = await loadView(this.store, { name: this.name, cache: this.cache, version: v, scan: true });
    } catch (e) {
      const err = this.unservable(v.version, e);
      this.scanned.set(v.version, err);
      this.rescanFailures++;
      this.log({ event: 'view-rescan-failed', view: this.name, version: v.version, code: errorCode(e), error: errorMessage(e) });
      throw err;
    }
    this.scanned.set(v.version, null);
    if (this.current !== bad) {
      next.release();
      return;
    }
    this.current = next;
    this.rescans++;
    bad.release();
    this.log({ event: 'view-rescanned', view: this.name, from: bad.version, to: next.version, code: errorCode(cause), error: errorMessage(cause), keys: next.keys, rows: next.rows });
  }

  /**
   * What a query on `snap` that failed with `e` answers: for a version already scanned, a
   * KEY_INDEX_INVALID or VIEW_INVALID becomes (once, then kept) VIEW_INVALID naming the view,
   * version and file; anything else is `e`.
   */
  settle(snap: ViewSnapshot, e: unknown): unknown {
    if (!this.scanned.has(snap.version) || !(isDagctlError(e, 'KEY_INDEX_INVALID') || isDagctlError(e, 'VIEW_INVALID'))) return e;
    const known = this.scanned.get(snap.version);
    if (known !== undefined && known !== null) return known;
    const err = this.unservable(snap.version, e);
    this.scanned.set(snap.version, err);
    this.log({ event: 'view-unservable', view: this.name, version: snap.version, code: errorCode(e), error: errorMessage(e) });
    return err;
  }

  /** VIEW_INVALID: `version` cannot be served (its index and its scan both failed with `cause`). */
  private unservable(version: string, cause: unknown): DagctlError {
    const file = isDagctlError(cause) ? (cause.details as { file?: unknown }).file : undefined;
    const where = typeof file === 'string' ? file : null;
    return new DagctlError('VIEW_INVALID', `view ${this.name} version ${version}${where === null ? '' : ` (file ${where})`}: its key index is wrong and its scan failed too (${errorCode(cause)}: ${errorMessage(cause)}); it is not scanned again: republish the view`, { view: this.name, version, file: where, cause: errorCode(cause) });
  }

  private async doRefresh(): Promise<void> {
    try {
      const v = await currentVersion(this.store);
      if (v === null || v.version === this.current.version) return;
      const next = await loadView(this.store, { name: this.name, cache: this.cache, version: v });
      const old = this.current;
      this.current = next; // the swap: queries that started before keep `old`
      this.loads++;
      for (const k of this.scanned.keys()) if (k !== next.version) this.scanned.delete(k);
      old.release();
      this.log({ event: 'view-swapped', view: this.name, from: old.version, to: next.version, keys: next.keys, rows: next.rows });
    } catch (e) {
      this.loadFailures++;
      this.log({ event: 'view-load-failed', view: this.name, code: errorCode(e), error: errorMessage(e) });
    }
  }
}

const JSON_TYPE = 'application/json; charset=utf-8';

const STATUS: Record<string, number> = { QUERY_VIEW_STALE: 503, QUERY_VIEW_UNKNOWN: 404, QUERY_INVALID: 400, QUERY_KEY_UNKNOWN: 400, QUERY_RANGE_INVALID: 400, QUERY_RANGE_OUTSIDE_DATA: 400, USAGE: 400 };
/** GET /query's parameters as parsed (fast-querystring: a parameter given twice is an array). */
type Query = Record<string, string | string[] | undefined>;
const twice = (k: string): DagctlError => new DagctlError('QUERY_INVALID', `query parameter ${k} given more than once`, { parameter: k });

export async function startServer(opts: ServeOptions): Promise<ServerHandle> {
  const log = opts.log ?? ((): void => undefined);
  const cache = new BlockCache(opts.cacheBytes);
  const views = new Map<string, ViewHandle>();
  for (const v of opts.views) {
    const snap = await loadView(v.store, { cache, ...(v.name !== undefined ? { name: v.name } : {}) });
    if (views.has(snap.name)) throw new DagctlError('USAGE', `two views are named ${snap.name}: name them NAME=URI`, { view: snap.name });
    views.set(snap.name, new ViewHandle(snap.name, v.store, snap, cache, log));
    log({ event: 'view-loaded', view: snap.name, version: snap.version, keys: snap.keys, rows: snap.rows });
  }
  let closing = false;
  const counts = new Map<string, number>();
  let latencySum = 0, latencyCount = 0;
  const buckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];
  const hist = new Array<number>(buckets.length).fill(0);

  /** An error's status and JSON body (fastify's own errors, a malformed request, carry a 4xx statusCode). */
  const errorReply = (e: unknown): { status: number; body: { error: ReturnType<DagctlError['toJSON']> } } => {
    const sc = typeof e === 'object' && e !== null && 'statusCode' in e && typeof e.statusCode === 'number' ? e.statusCode : 500;
    const err = isDagctlError(e) ? e : new DagctlError(sc < 500 ? 'QUERY_INVALID' : 'INTERNAL', errorMessage(e));
    return { status: STATUS[err.code] ?? (sc < 500 ? sc : 500), body: { error: err.toJSON() } };
  };
  // GET /query, the hot route, is routed by find-my-way (fastify's own router) on node:http in
  // front of fastify (its serverFactory), which handles every other request — /healthz, /readyz,
  // /metrics, /views, HEAD, 404s — as before. Same answers, statuses and bodies either way; the
  // query path skips fastify's per-request hooks and reply objects (bench/serve.ts measures both
  // stacks' floors in the same run).
  const router = FindMyWay<FindMyWay.HTTPVersion.V1>({ defaultRoute: (req, res) => fastifyHandler(req, res) });
  let fastifyHandler: (req: http.IncomingMessage, res: http.ServerResponse) => void = (_req, res) => {
    res.statusCode = 503;
    res.end();
  };
  // find-my-way hands the handler the query string parsed (fast-querystring, as fastify parses
  // it): parameters are read from it, never parsed a second time.
  router.on('GET', '/query', (_req, res, _params, _store, q) => {
    // A query that needs no I/O — a cached block, or a refusal before any read — is answered at
    // once, without a promise, and counted once; anything else (a block to read, the speed layer)
    // goes the async way, which answers it (and its errors) in full. Same statuses and bodies.
    const t0 = performance.now();
    let a: AnswerJson | undefined;
    try {
      a = queryCached(q);
    } catch (e) {
      observe(t0, errorCode(e));
      sendError(res, e);
      return;
    }
    if (a !== undefined) {
      observe(t0, 'OK');
      sendAnswer(res, a);
      return;
    }
    query(q).then(
      (a) => sendAnswer(res, a),
      (e: unknown) => sendError(res, e),
    );
  });
  /**
   * An answer's reply: its headers as one flat list of name/value pairs (node:http writes them as
   * given, without a headers object to walk), the Content-Length its UTF-8 length.
   */
  const sendAnswer = (res: http.ServerResponse, a: AnswerJson): void => {
    res.writeHead(200, ['content-type', JSON_TYPE, 'content-length', String(a.bytes)]);
    res.end(a.json);
  };
  /** An error's reply on the GET /query route (errorReply's status and body). */
  const sendError = (res: http.ServerResponse, e: unknown): void => {
    const { status, body } = errorReply(e);
    const text = JSON.stringify(body);
    res.writeHead(status, ['content-type', JSON_TYPE, 'content-length', String(Buffer.byteLength(text))]);
    res.end(text);
  };
  const app = Fastify({
    logger: false,
    serverFactory: (handler, o) => {
      fastifyHandler = handler;
      // A request target never holds a fragment (RFC 9112): one with '#' is refused, on every
      // route alike, rather than read one way by find-my-way (the '#' ends the path) and another
      // by fastify.
      const server = http.createServer((req, res) => {
        if (req.url?.includes('#') === true) sendError(res, new DagctlError('QUERY_INVALID', `request target ${req.url} holds a fragment ('#'): send the path and query only`, { target: req.url }));
        else router.lookup(req, res);
      });
      // What fastify sets on a server it creates itself (lib/server.js), from its validated options.
      const n = (v: unknown, d: number): number => (typeof v === 'number' ? v : d);
      server.keepAliveTimeout = n(o.keepAliveTimeout, 72_000);
      server.requestTimeout = n(o.requestTimeout, 0);
      server.setTimeout(n(o.connectionTimeout, 0));
      return server;
    },
  });
  app.setErrorHandler((e: unknown, _req, reply) => {
    const { status, body } = errorReply(e);
    void reply.code(status).send(body);
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send({ error: { code: 'USAGE', message: `no route ${req.method} ${req.url.split('?')[0] ?? ''}`, details: {} } });
  });

  // The speed layer's port per view (no per-query state): made once.
  const answerOpts = new Map<string, AnswerOptions>([...views.keys()].map((n) => [n, opts.speedRedis === undefined ? {} : { speed: redisSpeedSource(opts.speedRedis, n) }]));
  /** A query's latency and outcome (OK or an error code), counted in /metrics. */
  const observe = (t0: number, code: string): void => {
    const s = (performance.now() - t0) / 1000;
    latencySum += s;
    latencyCount++;
    for (let i = 0; i < buckets.length; i++) if (s <= buckets[i]!) hist[i]!++;
    counts.set(code, (counts.get(code) ?? 0) + 1);
  };
  /** GET /query's parameters checked: the view, its key columns' values, the range (refusals are DagctlErrors). */
  const params = (q: Query): { h: ViewHandle; where: Record<string, string>; from: number; to: number } => {
    const name = q.view, fromText = q.from, toText = q.to;
    if (typeof name !== 'string' || typeof fromText !== 'string' || typeof toText !== 'string') {
      for (const k of ['view', 'from', 'to']) if (Array.isArray(q[k])) throw twice(k);
      throw new DagctlError('QUERY_INVALID', 'GET /query needs view, from, to and the key columns (url=…)', { needs: ['view', 'from', 'to'] });
    }
    const h = views.get(name);
    if (h === undefined) throw new DagctlError('QUERY_VIEW_UNKNOWN', `no view named ${name} is served (views: ${[...views.keys()].join(', ')})`, { view: name, views: [...views.keys()] });
    const where: Record<string, string> = {};
    for (const k in q) {
      if (k === 'view' || k === 'from' || k === 'to') continue;
      const v = q[k];
      if (Array.isArray(v)) throw twice(k);
      where[k] = v ?? '';
    }
    return { h, where, from: parseTime(fromText, 'from'), to: parseTime(toText, 'to') };
  };
  /**
   * GET /query's answer when it needs no I/O (serving/query.ts answerJsonCached), else undefined
   * (`query` answers it). Its errors are final, as `query` would give them: a refusal of the
   * parameters or the range, or a merge's (a bad sketch) — KEY_INDEX_INVALID, STORAGE_NOT_FOUND and
   * QUERY_VIEW_STALE, which `query` retries, arise only on a block read or the speed layer, never
   * here. Not counted (the caller counts it once).
   */
  const queryCached = (q: Query): AnswerJson | undefined => {
    const { h, where, from, to } = params(q);
    const snap = h.current;
    try {
      return answerJsonCached(snap, where, from, to, answerOpts.get(h.name));
    } catch (e) {
      throw h.settle(snap, e);
    }
  };
  /** GET /query's answer (its JSON: serving/query.ts answerJson) to parsed query parameters (its errors are DagctlErrors: errorReply), counted in /metrics. */
  const query = async (q: Query): Promise<AnswerJson> => {
    const t0 = performance.now();
    let code = 'OK';
    try {
      const { h, where, from, to } = params(q);
      const snap = h.current; // one version for the whole query
      const ao = answerOpts.get(h.name)!;
      try {
        return await answerJson(snap, where, from, to, ao);
      } catch (e) {
        // A block read found the version's key index wrong: reload by scanning, answer again.
        // The version's files were vacuumed under a block re-read, or the speed layer expired
        // hours after a newer batch version was published: answer from the newest version.
        // Either way the second answer is wholly from one snapshot (h.current, taken once).
        // A version that was scanned and fails again answers VIEW_INVALID (h.settle): never a second scan.
        if (isDagctlError(e, 'KEY_INDEX_INVALID')) await h.rescan(snap, e);
        else if (isDagctlError(e, 'STORAGE_NOT_FOUND') || isDagctlError(e, 'QUERY_VIEW_STALE')) await h.refresh();
        else throw h.settle(snap, e);
        const again = h.current;
        if (again === snap) throw h.settle(snap, e);
        try {
          return await answerJson(again, where, from, to, ao);
        } catch (e2) {
          throw h.settle(again, e2);
        }
      }
    } catch (e) {
      code = errorCode(e);
      throw e;
    } finally {
      observe(t0, code);
    }
  };
  app.get('/query', async (req, reply) => reply.type(JSON_TYPE).send((await query(req.query as Query)).json));

  app.get('/views', async () =>
    [...views.values()].map((h) => {
      const s = h.current;
      return { name: s.name, version: s.version, keyColumns: s.keyColumns, keys: s.keys, rows: s.rows, granularities: s.granularities, from: s.extent === null ? null : iso(s.extent.from), to: s.extent === null ? null : iso(s.extent.to) };
    }),
  );
  const metricsText = (): string => {
    const l: string[] = [];
    l.push('# HELP dagctl_serve_queries_total Queries answered, by outcome (OK or error code).', '# TYPE dagctl_serve_queries_total counter');
    for (const [c, n] of counts) l.push(`dagctl_serve_queries_total{code="${c}"} ${n}`);
    l.push('# HELP dagctl_serve_query_seconds Query latency.', '# TYPE dagctl_serve_query_seconds histogram');
    buckets.forEach((b, i) => l.push(`dagctl_serve_query_seconds_bucket{le="${b}"} ${hist[i]!}`));
    l.push(`dagctl_serve_query_seconds_bucket{le="+Inf"} ${latencyCount}`, `dagctl_serve_query_seconds_sum ${latencySum}`, `dagctl_serve_query_seconds_count ${latencyCount}`);
    l.push('# HELP dagctl_serve_view_info The version each view serves.', '# TYPE dagctl_serve_view_info gauge');
    for (const h of views.values()) l.push(`dagctl_serve_view_info{view="${h.name}",version="${h.current.version}"} 1`);
    l.push('# HELP dagctl_serve_view_keys Keys in the served version.', '# TYPE dagctl_serve_view_keys gauge');
    for (const h of views.values()) l.push(`dagctl_serve_view_keys{view="${h.name}"} ${h.current.keys}`);
    l.push('# HELP dagctl_serve_view_swaps_total New versions swapped in.', '# TYPE dagctl_serve_view_swaps_total counter');
    for (const h of views.values()) l.push(`dagctl_serve_view_swaps_total{view="${h.name}"} ${h.loads}`);
    l.push('# HELP dagctl_serve_view_load_failures_total Failed loads of a new version (the old one kept serving).', '# TYPE dagctl_serve_view_load_failures_total counter');
    for (const h of views.values()) l.push(`dagctl_serve_view_load_failures_total{view="${h.name}"} ${h.loadFailures}`);
    l.push('# HELP dagctl_serve_view_rescans_total Versions reloaded by scanning after a block read found their key index wrong (KEY_INDEX_INVALID).', '# TYPE dagctl_serve_view_rescans_total counter');
    for (const h of views.values()) l.push(`dagctl_serve_view_rescans_total{view="${h.name}"} ${h.rescans}`);
    l.push('# HELP dagctl_serve_view_rescan_failures_total Rescans whose scan failed (that version is never scanned again).', '# TYPE dagctl_serve_view_rescan_failures_total counter');
    for (const h of views.values()) l.push(`dagctl_serve_view_rescan_failures_total{view="${h.name}"} ${h.rescanFailures}`);
    l.push('# TYPE dagctl_serve_cache_bytes gauge', `dagctl_serve_cache_bytes ${cache.bytes}`);
    l.push('# TYPE dagctl_serve_cache_limit_bytes gauge', `dagctl_serve_cache_limit_bytes ${cache.maxBytes}`);
    l.push('# TYPE dagctl_serve_cache_blocks gauge', `dagctl_serve_cache_blocks ${cache.size}`);
    l.push('# TYPE dagctl_serve_cache_hits_total counter', `dagctl_serve_cache_hits_total ${cache.hits}`);
    l.push('# TYPE dagctl_serve_cache_misses_total counter', `dagctl_serve_cache_misses_total ${cache.misses}`);
    l.push('# TYPE dagctl_serve_cache_evictions_total counter', `dagctl_serve_cache_evictions_total ${cache.evictions}`);
    return l.join('\n') + '\n';
  };
  healthRoutes(app, { ready: () => (closing ? 'closing' : true), metrics: metricsText });

  const refresh = async (): Promise<void> => {
    await Promise.all([...views.values()].map((h) => h.refresh()));
  };
  const timer = setInterval(() => void refresh(), opts.pollMs);
  timer.unref();
  await app.listen({ port: opts.port, host: opts.host ?? '127.0.0.1' });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : opts.port;
  return {
    port,
    app,
    refresh,
    async close() {
      closing = true;
      clearInterval(timer);
      await app.close();
    },
  };
}
