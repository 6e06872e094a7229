/**
 * Serving benchmark: `dagctl serve`'s query latency (p50/p99) and throughput at concurrency 1, 8
 * and 64 over real HTTP on loopback — the server is `dagctl serve` in a child process of its own (as
 * users run it), the clients keep-alive connections of bench/lib/http-get.ts (node:http's client
 * costs about as much CPU per request as the server's whole answer: one line reports it at
 * concurrency 1 for comparison) held by a lean client process of their own (bench/lib/http-client.ts:
 * it does nothing but time requests), against DuckDB answering the same ranges from the same view
 * in the same run in this process (the view's rows loaded into a DuckDB table; one prepared
 * statement per query summing the hour rows of the key in the range — what SQL over the view does
 * without the bucket decomposition; DuckDB cannot merge dagctl's sketches, so its peer answers
 * pageviews only). Until s16 the clients ran in this process, next to DuckDB; that method's serve
 * and bare node:http figures are still printed (the "bench-process client" lines) for context.
 * Every serve answer's pageviews must equal DuckDB's for the same query, and every timed answer
 * must be byte-identical to serve's warm-up answer (the run fails otherwise). Warm-up: 200 queries on
 * both, and on serve every query three times (so each key's block was read once, the server's
 * per-request code is optimized, and the rounds measure the cached, compiled hot path; the cache
 * holds them all), then one unrecorded round over the lean client's connections. The server's CPU per query (from /proc, Linux) is
 * reported too. Then `dagctl query`'s cold start (a fresh process: read the key's rows through the
 * version's key index, answer one range, exit) against the same query without the index (a copy of
 * the view whose index root was removed: it scans), `node -e 0` (a bare node start) and `dagctl
 * --version` (the CLI's start alone), interleaved, medians of 11.
 *
 * Then interleaved rounds at concurrency 1 — serve, DuckDB, and the HTTP floors of server stacks
 * (bench/lib/http-floor.ts: fastify; node:http + find-my-way, what serve's /query runs on; bare
 * node:http — each a child process answering each query with serve's answer text for it, so
 * responses are the same size, same client; and "fixed", node:http answering a short fixed path
 * with one ready-made Buffer, a minimal ping-pong) — reported as medians of the rounds' p50s with
 * their ratios and each server's CPU per query (BENCH_SERVE_ROUNDS, default 5). Every latency is the
 * request to the whole response. DAGCTL_BENCH_BASE_DIST=<another build's dist/> adds that build's
 * `dagctl serve` to the rounds (its answers checked byte-identical first): before/after in one run.
 *
 * The view: BENCH_SERVE_ROWS pageviews (default 300,000; `--10m`: 10,000,000) over 56 days generated
 * and rolled up (h/d/w/m) by `dagctl run` in a temp dir (BENCH_SERVE_DIR=<dir>: built there and
 * kept; reused by a later run of the same size). Ranges: the 200 most visited URLs and random
 * hour-aligned ranges of 1 hour to the whole data (every granularity). Medians and ratios: the
 * machine is shared.
 */
import { fork, spawn, spawnSync } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { readdirSync, readFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { generate } from '../gen/generate.js';
import { readCurrent } from '../storage/dataset/publish.js';
import { openObjectStore } from '../storage/open.js';
import { FLOOR_ENTRY, FLOOR_STACKS, type FloorStack } from './lib/http-floor.js';
import { startHttpClient, type HttpClientProcess } from './lib/http-client.js';
import { connectGet, type GetConnection } from './lib/http-get.js';
import { median, percentile, type BenchResult } from './types.js';

const BIN = resolve('dist/cli/bin.js');
// Rollup buckets: 4, or 32 from 5M pageviews (a reduce of 10M rows in 4 buckets passes a worker thread's 384 MB heap).
const dag = (buckets: number): string => `apiVersion: dagctl/v1
kind: Dag
metadata: { name: bench-serve }
params: { data: ./data }
datasets:
  pageviews: { uri: "\${params.data}/master/pageviews", partitionBy: date }
  pageviews-over-time: { uri: "\${params.data}/views/pageviews-over-time", view: true }
tasks:
  - { name: rollup, operator: rollup, inputs: [pageviews], outputs: [pageviews-over-time], params: { granularities: [h, d, w, m], buckets: ${buckets} } }
`;
/** How many times the warm-up sends every query to serve before anything is timed. */
const WARM_PASSES = 3;
const fmt = (x: number, d = 2): string => x.toLocaleString('en-US', { maximumFractionDigits: d });

function run(args: string[], cwd: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((res) => {
    const c = spawn(process.execPath, [BIN, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    // stdout too: a failed run says which instance failed there (its tail is kept).
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-8000)));
    c.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-8000)));
    c.on('close', (code) => res({ code, stderr }));
  });
}

interface Q { url: string; from: number; to: number }

export async function benchServe(): Promise<BenchResult> {
  // `npm run bench -- serve --10m`: the 10M-pageview view (slow to build; default 300,000).
  const rows = process.argv.includes('--10m') ? 10_000_000 : Number(process.env.BENCH_SERVE_ROWS ?? '300000');
  // BENCH_SERVE_DIR=<dir>: build the view there and keep it; a later run with the same rows reuses it.
  const keep = process.env.BENCH_SERVE_DIR ?? '';
  const dir = keep === '' ? await mkdtemp(join(tmpdir(), 'dagctl-bench-serve-')) : resolve(keep);
  const metrics: Record<string, number> = {};
  const lines: string[] = [];
  let serverProc: { kill(signal: NodeJS.Signals): boolean } | undefined;
  try {
    const data = join(dir, 'data');
    const progress = (what: string): void => void process.stderr.write(`serve bench: ${what}\n`);
    const built = join(dir, 'built-rows');
    if (keep === '' || (await readFile(built, 'utf8').catch(() => '')) !== String(rows)) {
      await rm(data, { recursive: true, force: true });
      await mkdir(dir, { recursive: true });
      progress(`generating ${fmt(rows, 0)} pageviews`);
      await generate('pageviews', { store: await openObjectStore(pathToFileURL(`${data}/master/pageviews`).href), rows, seed: 3, start: '2024-03-01', days: 56, persons: Math.max(1000, rows / 20) });
      await writeFile(join(dir, 'dag.yaml'), dag(rows >= 5_000_000 ? 32 : 4));
      progress('rolling up (dagctl run)');
      const r = await run(['run', 'dag.yaml', '--param', `data=${data}`], dir);
      if (r.code !== 0) throw new Error(`dagctl run failed: ${r.stderr}`);
      if (keep !== '') await writeFile(built, String(rows));
    } else progress(`reusing the view of ${fmt(rows, 0)} pageviews in ${dir}`);
    const viewUri = pathToFileURL(`${data}/views/pageviews-over-time`).href;
    const store = await openObjectStore(viewUri);
    const cur = await readCurrent(store);
    if (cur === null) throw new Error('no view');
    const files = cur.manifest.files.map((f) => `'${join(fileURLToPath(viewUri), f.path)}'`).join(', ');

    const { DuckDBInstance } = await import('@duckdb/node-api');
    const con = await (await DuckDBInstance.create(':memory:')).connect();
    await con.run(`CREATE TABLE v AS SELECT url, granularity, bucket, pageviews FROM read_parquet([${files}])`);
    const top = (await con.runAndReadAll(`SELECT url FROM v WHERE granularity = 'h' GROUP BY url ORDER BY sum(pageviews) DESC LIMIT 200`)).getRowObjectsJS().map((x) => String(x.url));
    const ext = (await con.runAndReadAll(`SELECT min(bucket) AS lo, max(bucket) AS hi FROM v WHERE granularity = 'h'`)).getRowObjectsJS()[0]!;
    const lo = Number(ext.lo), hi = Number(ext.hi) + 3600;
    let seed = 12345;
    const rnd = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    const queries: Q[] = [];
    for (let i = 0; i < 2000; i++) {
      const hours = (hi - lo) / 3600;
      const a = rnd(hours), len = 1 + rnd(hours - a);
      queries.push({ url: top[rnd(top.length)]!, from: lo + a * 3600, to: lo + (a + len) * 3600 });
    }
    const iso = (s: number): string => new Date(s * 1000).toISOString();
    lines.push(`serve: view of ${fmt(rows, 0)} pageviews over 56 days (${fmt(cur.manifest.rows, 0)} view rows, ${top.length} URLs queried), random hour-aligned ranges`);
    metrics.view_rows = cur.manifest.rows;

    progress('queries: duckdb, then dagctl serve');
    // The CPU time (user + system, µs) of a process from /proc (null where there is none): the sum
    // of its threads' run time in ns (/proc/PID/task/*/schedstat) — a round of 2,000 queries at
    // ~50 µs each is ~10 clock ticks, too coarse for /proc/PID/stat's 10 ms ones, which are the
    // fallback where schedstat is missing. Threads that ended are not in the sum (a server's are
    // long-lived: its event loop, the libuv pool, V8's).
    const cpuOf = (pid: number | undefined): number | null => {
      try {
        let ns = 0;
        for (const t of readdirSync(`/proc/${String(pid)}/task`)) {
          let line: string;
          try {
            line = readFileSync(`/proc/${String(pid)}/task/${t}/schedstat`, 'utf8');
          } catch (e) {
            if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue; // the thread ended after the listing: not in the sum, like any ended thread
            throw e;
          }
          ns += Number(line.split(' ')[0]);
        }
        if (Number.isFinite(ns)) return ns / 1000;
      } catch {
        // no schedstat: the clock ticks below
      }
      try {
        const f = readFileSync(`/proc/${String(pid)}/stat`, 'utf8').split(') ')[1]!.split(' ');
        return ((Number(f[11]) + Number(f[12])) * 1e6) / 100; // clock ticks of 10 ms (USER_HZ)
      } catch {
        return null;
      }
    };
    const children: Array<{ kill(signal: NodeJS.Signals): boolean }> = [];
    serverProc = { kill: (sig) => { for (const c of children) c.kill(sig); return true; } };
    /** `dagctl serve` (of the build whose CLI is `bin`) in a child process on a free port; ready once /readyz answers 200. */
    const startServe = async (bin: string): Promise<{ proc: ReturnType<typeof spawn>; port: number; exited: () => boolean }> => {
      const port = await new Promise<number>((res, rej) => {
        const probe = net.createServer().listen(0, '127.0.0.1', () => {
          const a = probe.address();
          probe.close(() => (typeof a === 'object' && a !== null ? res(a.port) : rej(new Error('no free port'))));
        });
      });
      const proc = spawn(process.execPath, [bin, 'serve', '--port', String(port), '--poll', '60s', '--cache-mb', '256', viewUri], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
      children.push(proc);
      let err = '', exited: number | null | undefined;
      proc.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
      proc.once('exit', (code) => (exited = code));
      for (let waited = 0; ; waited += 50) {
        if (exited !== undefined) throw new Error(`dagctl serve (${bin}) exited (${String(exited)}): ${err}`);
        if (waited > 300_000) throw new Error(`dagctl serve (${bin}) not ready after 300 s: ${err}`);
        const ready = await connectGet('127.0.0.1', port).then(async (c) => {
          try {
            return (await c.get('/readyz')).status === 200;
          } finally {
            c.close();
          }
        }, () => false);
        if (ready) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      progress(`dagctl serve (${bin}) ready on port ${port}`);
      return { proc, port, exited: () => exited !== undefined };
    };
    const { proc: server, port, exited: serverExited } = await startServe(BIN);
    const serverCpu = (): number | null => cpuOf(server.pid);
    const pathOf = (q: Q): string => `/query?view=pageviews-over-time&url=${encodeURIComponent(q.url)}&from=${iso(q.from)}&to=${iso(q.to)}`;
    // The bench process's own connection (warm-up, the answers' check against DuckDB, and the
    // old-method lines); the timed runs go through the lean client process (below).
    let conn = await connectGet('127.0.0.1', port);
    const served = new Array<number>(queries.length);
    // Each query's answer text (kept by the warm-up: the floors answer with the same bodies).
    const texts = new Array<string>(queries.length);
    /** One query on serve: its latency (ms, to the whole response; the client's JSON.parse after the clock stops). */
    const ask = async (qi: number, c: GetConnection): Promise<number> => {
      const t = performance.now();
      const r = await c.get(pathOf(queries[qi]!));
      const ms = performance.now() - t;
      const text = r.body.toString();
      const body = JSON.parse(text) as { pageviews: number };
      if (r.status !== 200) throw new Error(`query failed: ${JSON.stringify(body)}`);
      served[qi] = body.pageviews;
      texts[qi] = text;
      return ms;
    };
    // node:http's client (keep-alive), for the concurrency-1 comparison line.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const askNodeHttp = (qi: number): Promise<number> =>
      new Promise((resolveAsk, reject) => {
        const t = performance.now();
        const req = http.get({ host: '127.0.0.1', port, agent, path: pathOf(queries[qi]!) }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const ms = performance.now() - t;
            const body = JSON.parse(Buffer.concat(chunks).toString()) as { pageviews: number };
            if (res.statusCode !== 200) reject(new Error(`query failed: ${JSON.stringify(body)}`));
            else resolveAsk(ms);
          });
          res.on('error', reject);
        });
        req.on('error', reject);
      });
    // DuckDB: the same ranges, sequentially (an embedded engine, no network).
    const stmt = await con.prepare(`SELECT sum(pageviews) AS pv FROM v WHERE url = $1 AND granularity = 'h' AND bucket >= $2 AND bucket < $3`);
    const duckAnswers = new Array<number>(queries.length);
    const duck = async (qi: number): Promise<number> => {
      const q = queries[qi]!;
      const t = performance.now();
      stmt.bindVarchar(1, q.url);
      stmt.bindBigInt(2, BigInt(q.from));
      stmt.bindBigInt(3, BigInt(q.to));
      const r = await stmt.runAndReadAll();
      const ms = performance.now() - t;
      duckAnswers[qi] = Number(r.getRowObjectsJS()[0]?.pv ?? 0);
      return ms;
    };
    // Warm-up: the first 200 queries on both, then every query once on serve (each key's block read
    // once, the server's code compiled: the rounds measure the hot path, not first reads of a key).
    for (let qi = 0; qi < 200; qi++) {
      await ask(qi, conn);
      await duck(qi);
    }
    // Every query WARM_PASSES times: V8 tiers a server's per-request functions up to optimized
    // code only after a few thousand calls (measured: the first pass after one warm-up pass cost
    // ~2× the server CPU of later ones, compiling), and the rounds are meant to time the hot path.
    for (let pass = 0; pass < WARM_PASSES; pass++) for (let qi = 0; qi < queries.length; qi++) await ask(qi, conn);
    const textOf = texts.slice();
    // DuckDB with its default threads, then with one thread (often faster for point queries on a
    // loaded 2-core machine): the serve ratios are against the better of the two medians.
    let duckP50 = Infinity;
    for (const threads of ['default', '1']) {
      if (threads === '1') await con.run('SET threads TO 1');
      const duckTimes: number[] = [];
      const d0 = performance.now();
      for (let qi = 0; qi < queries.length; qi++) duckTimes.push(await duck(qi));
      const duckWall = performance.now() - d0;
      const p50 = median(duckTimes);
      duckP50 = Math.min(duckP50, p50);
      metrics[`duckdb.threads_${threads}.p50_ms`] = p50;
      metrics[`duckdb.threads_${threads}.p99_ms`] = percentile(duckTimes, 99);
      lines.push(`  duckdb (in-process, sequential, threads ${threads})  p50 ${fmt(p50, 3)} ms  p99 ${fmt(percentile(duckTimes, 99), 3)} ms  ${fmt(queries.length / (duckWall / 1000), 0)} q/s`);
    }
    metrics['duckdb.p50_ms'] = duckP50;
    const check = (what: string): void => {
      for (let qi = 0; qi < queries.length; qi++) {
        if (served[qi] !== duckAnswers[qi]) throw new Error(`${what}: serve answered ${String(served[qi])} pageviews for ${pathOf(queries[qi]!)}, DuckDB ${String(duckAnswers[qi])}`);
      }
      served.fill(NaN);
    };
    // Every warm-up answer's pageviews equal DuckDB's; the timed runs below then require answers
    // byte-identical to these texts.
    check('warm-up');
    // The timed HTTP runs: from a lean client process of their own (bench/lib/http-client.ts), not
    // from this one, which hosts DuckDB (its threads and memory), the view's table and the
    // bookkeeping of the run — a client's clock should not share a process with the peer it is
    // compared with. Connections are opened after the DuckDB runs (they can outlast the server's
    // keep-alive timeout, 72 s, on a loaded machine).
    const client: HttpClientProcess = await startHttpClient();
    children.push({ kill: () => (client.close(), true) });
    await client.connect('serve', port, 64);
    await client.paths('bench', queries.map(pathOf));
    await client.expect('serve', textOf);
    // One round over all 64 connections first, kept out of the concurrency metrics but printed on
    // its own line: it costs the server 2–3× the CPU per query of later rounds. Not the
    // connections being fresh (a second set of 64 fresh connections costs nothing extra), and not
    // serve's code (the bare node:http floor shows the same: 83 vs 15 µs/query, s18): it is V8
    // re-tiering node's own http/stream code. The warm-up ran over one connection, so node's
    // stream, events and http functions (emit, addListener, Readable/Writable paths,
    // OutgoingMessage end/_send, setStreamTimeout, …) were optimized for that one socket's hidden
    // classes; 64 new sockets reach them with new maps — ~40 "wrong map" deopts and ~280
    // re-optimizations in that round (--trace-deopt/--trace-opt, s18) — and the young generation
    // grows to 64 requests in flight (~14 scavenges in it, 1 in a later round). A second
    // concurrent round still pays some (~2×); later ones none. Real for a server's first
    // concurrent clients; not what the rounds below time.
    {
      const cpu0 = serverCpu();
      const { times, wallMs: wall } = await client.round('serve', 'bench', 64);
      const cpu1 = serverCpu();
      const cpu = cpu0 === null || cpu1 === null ? null : (cpu1 - cpu0) / queries.length;
      lines.push(`  (serve over HTTP, concurrency 64, the first round on fresh connections, not in the figures below: p50 ${fmt(median(times), 3)} ms  p99 ${fmt(percentile(times, 99), 3)} ms  ${fmt(queries.length / (wall / 1000), 0)} q/s${cpu === null ? '' : `  server CPU ${fmt(cpu, 0)} µs/query`})`);
    }
    for (const c of [1, 8, 64]) {
      const cpu0 = serverCpu();
      const { times, wallMs: wall } = await client.round('serve', 'bench', c);
      const cpu1 = serverCpu();
      progress(`concurrency ${c} done`);
      const p50 = median(times), p99 = percentile(times, 99);
      metrics[`serve.c${c}.p50_ms`] = p50;
      metrics[`serve.c${c}.p99_ms`] = p99;
      metrics[`serve.c${c}.qps`] = queries.length / (wall / 1000);
      const cpu = cpu0 === null || cpu1 === null ? null : (cpu1 - cpu0) / queries.length;
      if (cpu !== null) metrics[`serve.c${c}.server_cpu_us_per_query`] = cpu;
      lines.push(`  serve over HTTP, concurrency ${String(c).padStart(2)}  p50 ${fmt(p50, 3)} ms  p99 ${fmt(p99, 3)} ms  ${fmt(queries.length / (wall / 1000), 0)} q/s${cpu === null ? '' : `  server CPU ${fmt(cpu, 0)} µs/query`}  (p50 ÷ best duckdb p50: ${fmt(p50 / duckP50, 3)} = ${fmt(duckP50 / p50, 1)}× lower)`);
    }
    {
      // The method before s16, for context: the same client in the bench's own process (with DuckDB).
      conn.close();
      conn = await connectGet('127.0.0.1', port);
      const times: number[] = [];
      for (let qi = 0; qi < queries.length; qi++) times.push(await ask(qi, conn));
      check('concurrency 1, client in the bench process');
      const p50 = median(times);
      metrics['serve.c1_in_bench_process.p50_ms'] = p50;
      lines.push(`  (the same, concurrency 1, the client in the bench's own process, which hosts DuckDB — the method before s16: p50 ${fmt(p50, 3)} ms  p99 ${fmt(percentile(times, 99), 3)} ms = ${fmt(duckP50 / p50, 1)}× lower than duckdb)`);
    }
    {
      const times: number[] = [];
      for (let qi = 0; qi < queries.length; qi++) times.push(await askNodeHttp(qi));
      const p50 = median(times);
      metrics['serve.c1_node_http.p50_ms'] = p50;
      lines.push(`  (the same, concurrency 1, with node:http's client: p50 ${fmt(p50, 3)} ms  p99 ${fmt(percentile(times, 99), 3)} ms = ${fmt(duckP50 / p50, 1)}× lower than duckdb — the client's own cost is in every latency)`);
    }
    {
      // Interleaved rounds at concurrency 1 (the machine is shared: one round of each in turn, medians
      // of the rounds' p50s): serve, DuckDB (threads 1, as left above), and the HTTP floors
      // (bench/lib/http-floor.ts: a child process answering each query with serve's answer text for
      // it, no query work) — fastify (what serve was), fmw (node:http + find-my-way +
      // fast-querystring: what serve's /query is now), node-http (no routing or parsing at all),
      // fixed (node:http, one ready-made Buffer of a median answer's size for a short fixed path: a
      // minimal ping-pong). All from the lean client process; serve and the node-http floor also
      // from a client in this process (the method before s16), to show what hosting the clock next
      // to DuckDB costs.
      const byLen = textOf.map((t, qi) => [Buffer.byteLength(t), qi] as const).sort((x, y) => x[0] - y[0]);
      const medianText = textOf[byLen[byLen.length >> 1]![1]]!;
      const floors: Array<{ stack: FloorStack; proc: ReturnType<typeof fork>; port: number }> = [];
      // DAGCTL_BENCH_BASE_DIST=<another build's dist/>: that build's `dagctl serve` too, in the same rounds (before/after).
      const baseDist = process.env.DAGCTL_BENCH_BASE_DIST;
      let base: { proc: ReturnType<typeof spawn>; conn: GetConnection } | null = null;
      let inBench: GetConnection | null = null;
      try {
        if (baseDist !== undefined && baseDist !== '') {
          const b = await startServe(resolve(baseDist, 'cli/bin.js'));
          base = { proc: b.proc, conn: await connectGet('127.0.0.1', b.port) };
          // Its answers: the same text as this build's, query for query (its warm-up too, as long as this build's).
          for (let pass = 0; pass < WARM_PASSES; pass++) for (let qi = 0; qi < queries.length; qi++) {
            const r = await base.conn.get(pathOf(queries[qi]!));
            if (r.status !== 200 || r.body.toString() !== textOf[qi]) throw new Error(`the base build's serve answered ${pathOf(queries[qi]!)} differently: ${r.body.toString().slice(0, 300)}`);
          }
          base.conn.close();
          await client.connect('serve base', b.port, 1);
          await client.expect('serve base', textOf);
        }
        for (const stack of FLOOR_STACKS) {
          const proc = fork(FLOOR_ENTRY, ['--http-floor'], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
          const floorPort = await new Promise<number>((res, rej) => {
            proc.once('message', (m: unknown) => (typeof m === 'object' && m !== null && 'port' in m && typeof m.port === 'number' ? res(m.port) : rej(new Error('http floor: no port'))));
            proc.once('exit', (code) => rej(new Error(`http floor exited (${String(code)})`)));
            // Each query's body is serve's answer to it: the floor's responses are as large as serve's.
            proc.send({ body: medianText, bodies: stack === 'fixed' ? [] : queries.map((q, qi) => [pathOf(q), textOf[qi]!]), stack });
          });
          floors.push({ stack, proc, port: floorPort });
          await client.connect(`floor ${stack}`, floorPort, 1);
          if (stack !== 'fixed') await client.expect(`floor ${stack}`, textOf);
        }
        await client.paths('fixed', queries.map(() => '/query?q=1'));
        const nodeFloor = floors.find((f) => f.stack === 'node-http')!;
        inBench = await connectGet('127.0.0.1', nodeFloor.port);
        conn.close();
        conn = await connectGet('127.0.0.1', port);
        /** A round of the in-process client: the median of `one`'s latencies (the request to the whole response). */
        const timed = async (one: (qi: number) => Promise<number>): Promise<number> => {
          const times: number[] = [];
          for (let qi = 0; qi < queries.length; qi++) times.push(await one(qi));
          return median(times);
        };
        // The bench-process connections, reopened before a round where the server closed them while idle.
        const reopen = async (): Promise<void> => {
          if (!conn.open()) conn = await connectGet('127.0.0.1', port);
          if (!inBench!.open()) inBench = await connectGet('127.0.0.1', nodeFloor.port);
        };
        const getMs = async (c: GetConnection, qi: number): Promise<number> => {
          const t = performance.now();
          const r = await c.get(pathOf(queries[qi]!));
          const ms = performance.now() - t;
          if (r.status !== 200) throw new Error(`${pathOf(queries[qi]!)}: HTTP ${r.status}`);
          return ms;
        };
        /** A round of the lean client on its connection `name`: the median latency. */
        const lean = (name: string, paths = 'bench') => async (): Promise<number> => median((await client.round(name, paths, 1)).times);
        const contenders: Array<[string, () => Promise<number>, number | undefined]> = [
          ['serve', lean('serve'), server.pid],
          ...(base === null ? [] : [['serve base', lean('serve base'), base.proc.pid] as [string, () => Promise<number>, number | undefined]]),
          ['duckdb', () => timed(duck), undefined],
          ...floors.map((f): [string, () => Promise<number>, number | undefined] => [`floor ${f.stack}`, lean(`floor ${f.stack}`, f.stack === 'fixed' ? 'fixed' : 'bench'), f.proc.pid]),
          ['serve, bench-process client', async () => (await reopen(), timed((qi) => ask(qi, conn))), server.pid],
          ['floor node-http, bench-process client', async () => (await reopen(), timed((qi) => getMs(inBench!, qi))), nodeFloor.proc.pid],
        ];
        // One unrecorded round of each HTTP contender (the floors' code and connections warm).
        for (const [name, one] of contenders) if (name !== 'duckdb') await one();
        const rounds = new Map<string, number[]>(contenders.map(([n]) => [n, []]));
        const cpus = new Map<string, number[]>(contenders.map(([n]) => [n, []]));
        // The other end's CPU per query: the lean client process's for a contender it times (its
        // work is on the critical path at concurrency 1), this process's for DuckDB (DuckDB's
        // threads and the bindings' JS: all of DuckDB's side).
        const sidePid = (name: string): number | undefined => (name === 'duckdb' ? process.pid : name.includes('bench-process') ? undefined : client.pid);
        const sideCpus = new Map<string, number[]>(contenders.map(([n]) => [n, []]));
        const ROUNDS = Number(process.env.BENCH_SERVE_ROUNDS ?? '5');
        for (let r = 0; r < ROUNDS; r++) {
          for (const [name, one, pid] of contenders) {
            const side = sidePid(name);
            const c0 = pid === undefined ? null : cpuOf(pid), s0 = side === undefined ? null : cpuOf(side);
            rounds.get(name)!.push(await one());
            const c1 = pid === undefined ? null : cpuOf(pid), s1 = side === undefined ? null : cpuOf(side);
            if (c0 !== null && c1 !== null) cpus.get(name)!.push((c1 - c0) / queries.length);
            if (s0 !== null && s1 !== null) sideCpus.get(name)!.push((s1 - s0) / queries.length);
          }
          check(`round ${r + 1}`);
          progress(`interleaved round ${r + 1}/${ROUNDS} done`);
        }
        const med = (name: string): number => median(rounds.get(name)!);
        const duckMed = med('duckdb'), serveMed = med('serve');
        const bodyBytes = textOf.map((t) => Buffer.byteLength(t));
        lines.push(`  interleaved rounds at concurrency 1 (${ROUNDS} rounds of ${queries.length} queries each, in turn; medians of the rounds' p50s; latency to the whole response; every HTTP contender timed by the same lean client process unless named (request bytes made once, the status and Content-Length parsed as bytes); duckdb in this process, no HTTP (bind, run, read the row; its CPU is this process's); server/client CPU from /proc schedstat, all threads; floors answer each query with serve's body for it, median ${fmt(median(bodyBytes), 0)} bytes; "fixed": one ${fmt(Buffer.byteLength(medianText), 0)}-byte Buffer for a short fixed path):`);
        for (const [name] of contenders) {
          const m = med(name);
          const cpu = cpus.get(name)!;
          const key = name.replace(/[^a-z0-9]+/g, '_');
          metrics[`rounds.${key}.p50_ms`] = m;
          const side = sideCpus.get(name)!;
          if (cpu.length > 0) metrics[`rounds.${key}.cpu_us_per_query`] = median(cpu);
          if (side.length > 0) metrics[`rounds.${key}.${name === 'duckdb' ? 'process' : 'client'}_cpu_us_per_query`] = median(side);
          lines.push(`    ${name.padEnd(38)} p50 ${fmt(m, 3)} ms  (rounds ${rounds.get(name)!.map((x) => fmt(x, 3)).join(' ')})${cpu.length === 0 ? '' : `  server CPU ${fmt(median(cpu), 0)} µs/query`}${side.length === 0 ? '' : `  ${name === 'duckdb' ? 'process' : 'client'} CPU ${fmt(median(side), 0)} µs/query`}${name === 'duckdb' ? '' : `  duckdb ÷ this: ${fmt(duckMed / m, 1)}×${name === 'serve' ? '' : `; serve ÷ this: ${fmt(serveMed / m, 2)}×`}`}`);
        }
        metrics['rounds.duckdb_over_serve'] = duckMed / serveMed;
        metrics['http_floor.c1.p50_ms'] = med('floor fastify');
      } finally {
        for (const f of floors) f.proc.kill('SIGTERM');
        inBench?.close();
        base?.conn.close();
        base?.proc.kill('SIGTERM');
      }
    }
    client.close();
    agent.destroy();
    conn.close();
    server.kill('SIGTERM');
    if (!serverExited()) await new Promise((res) => server.once('exit', res));
    stmt.destroySync();

    progress('dagctl query cold starts');
    // Cold start of `dagctl query` (a fresh process) against a bare node start (`node -e 0`) and
    // the CLI's own start (`dagctl --version`), interleaved in the same run (the machine is shared);
    // and the same query on a copy of the view whose key index was removed (it scans the key columns).
    const q = queries[0]!;
    const scanned = join(dir, 'scanned');
    await cp(fileURLToPath(viewUri), scanned, { recursive: true });
    if (cur.manifest.keyIndex !== undefined) await rm(join(scanned, cur.manifest.keyIndex.path));
    const queryArgs = (uri: string): string[] => [BIN, 'query', uri, '--where', `url=${q.url}`, '--from', iso(q.from), '--to', iso(q.to), '--json'];
    const cold: number[] = [], scan: number[] = [], bare: number[] = [], version: number[] = [];
    const N = 11;
    let answers = '';
    for (let i = 0; i < N; i++) {
      let t = performance.now();
      const s = spawnSync(process.execPath, queryArgs(viewUri), { cwd: dir });
      if (s.status !== 0) throw new Error(`dagctl query failed: ${s.stderr.toString()}`);
      cold.push(performance.now() - t);
      t = performance.now();
      const s2 = spawnSync(process.execPath, queryArgs(pathToFileURL(scanned).href), { cwd: dir });
      if (s2.status !== 0 || !s2.stderr.toString().includes('KEY_INDEX_INVALID')) throw new Error(`dagctl query (scan) failed: ${s2.stderr.toString()}`);
      scan.push(performance.now() - t);
      const a = JSON.parse(s.stdout.toString()) as { pageviews: number; uniques: number }, b = JSON.parse(s2.stdout.toString()) as { pageviews: number; uniques: number };
      if (a.pageviews !== b.pageviews || a.uniques !== b.uniques) throw new Error('the indexed and the scanning query disagree');
      answers = `${a.pageviews} pageviews / ${a.uniques} uniques`;
      t = performance.now();
      spawnSync(process.execPath, ['-e', '0']);
      bare.push(performance.now() - t);
      t = performance.now();
      spawnSync(process.execPath, [BIN, '--version']);
      version.push(performance.now() - t);
    }
    metrics['query.cold_ms'] = median(cold);
    metrics['query.cold_scan_ms'] = median(scan);
    metrics['node.bare_ms'] = median(bare);
    metrics['cli.version_ms'] = median(version);
    metrics['query.cold_vs_node'] = median(cold) / median(bare);
    lines.push(`  dagctl query cold start (${q.url}, ${iso(q.from)} → ${iso(q.to)}: ${answers}): ${fmt(median(cold), 0)} ms = ${fmt(median(cold) / median(bare), 2)}× node -e 0 (${fmt(median(bare), 0)} ms), ${fmt(median(cold) - median(bare), 0)} ms over it; without the key index (scan) ${fmt(median(scan), 0)} ms; dagctl --version ${fmt(median(version), 0)} ms (medians of ${N}, interleaved; goal: query < 300 ms)`);
  } finally {
    serverProc?.kill('SIGTERM');
    if (keep === '') await rm(dir, { recursive: true, force: true });
    else await rm(join(dir, 'scanned'), { recursive: true, force: true });
  }
  return { name: 'serve', lines, metrics };
}
