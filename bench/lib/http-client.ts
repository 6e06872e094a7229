/**
 * A lean HTTP client process for benchmarks (bench/serve.ts): a child process (started with `fork`)
 * that holds keep-alive connections of bench/lib/http-get.ts to the servers under test and times
 * rounds of GET requests on them, so the clock runs in a process that does nothing else — no
 * DuckDB, no view data, no big heap, no other timers. The parent drives it over IPC, one command
 * at a time, between measurements (nothing crosses the IPC channel while a round is timed):
 *
 *   const c = await startHttpClient();
 *   await c.connect('serve', port, 8);                      // 8 connections named 'serve'
 *   await c.paths('bench', pathList);                        // a list of request paths, kept by name
 *   await c.expect('serve', texts);                          // optional: each answer must equal texts[i]
 *   const { times, wallMs } = await c.round('serve', 'bench', 1);   // one pass over the paths, concurrency 1
 *   c.close();
 *
 * A round sends every path once, in order, over the first `concurrency` connections (each takes the
 * next path when its previous answer is complete, from that answer's callback: no promise per
 * request); each latency is the request to the whole response (the body read by its
 * Content-Length); the requests' bytes are made once, before any clock starts (http-get.ts
 * `request`/`send`: the response parsed as bytes, its status and Content-Length only); a
 * connection the server closed while idle is opened again before the round starts. With `expect` set, every answer's status must be
 * 200 and its body byte-identical to the expected text (checked after the round, off the clock);
 * a round that fails the check, or a request that fails, rejects with what differed.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { connectGet, type GetConnection } from './http-get.js';

export const HTTP_CLIENT_ENTRY = new URL(import.meta.url).pathname;

export interface RoundResult {
  /** Each request's latency in ms, in the order the requests completed. */
  times: number[];
  /** The round's wall time in ms. */
  wallMs: number;
}

export interface HttpClientProcess {
  readonly pid: number | undefined;
  connect(name: string, port: number, connections: number): Promise<void>;
  paths(name: string, paths: string[]): Promise<void>;
  expect(name: string, texts: string[]): Promise<void>;
  round(conn: string, paths: string, concurrency: number): Promise<RoundResult>;
  close(): void;
}

type Cmd =
  | { cmd: 'connect'; name: string; port: number; connections: number }
  | { cmd: 'paths'; name: string; paths: string[] }
  | { cmd: 'expect'; name: string; texts: string[] }
  | { cmd: 'round'; conn: string; paths: string; concurrency: number };
type Reply = { id: number; ok: true; result?: RoundResult } | { id: number; ok: false; error: string };

/** Forks the client process (its stderr inherited) and waits until it is ready. */
export async function startHttpClient(): Promise<HttpClientProcess> {
  const proc: ChildProcess = fork(HTTP_CLIENT_ENTRY, ['--http-client'], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  let nextId = 0;
  const pending = new Map<number, { resolve: (r: RoundResult | undefined) => void; reject: (e: Error) => void }>();
  let dead: Error | null = null;
  proc.on('message', (m: unknown) => {
    const r = m as Reply;
    const p = pending.get(r.id);
    if (p === undefined) return;
    pending.delete(r.id);
    if (r.ok) p.resolve(r.result);
    else p.reject(new Error(`http client: ${r.error}`));
  });
  proc.on('exit', (code, sig) => {
    dead = new Error(`http client process exited (${String(code ?? sig)})`);
    for (const p of pending.values()) p.reject(dead);
    pending.clear();
  });
  const call = (c: Cmd): Promise<RoundResult | undefined> => {
    if (dead !== null) return Promise.reject(dead);
    const id = nextId++;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      proc.send({ id, ...c });
    });
  };
  await new Promise<void>((resolve, reject) => {
    proc.once('message', () => resolve());
    proc.once('exit', (code) => reject(new Error(`http client process exited (${String(code)}) before it was ready`)));
  });
  return {
    pid: proc.pid,
    connect: async (name, port, connections) => void (await call({ cmd: 'connect', name, port, connections })),
    paths: async (name, paths) => void (await call({ cmd: 'paths', name, paths })),
    expect: async (name, texts) => void (await call({ cmd: 'expect', name, texts })),
    round: async (conn, paths, concurrency) => (await call({ cmd: 'round', conn, paths, concurrency }))!,
    close: () => void proc.kill('SIGTERM'),
  };
}

/** The child's side: connections, path lists and expected answers by name; one command at a time. */
function serveCommands(): void {
  const conns = new Map<string, GetConnection[]>();
  const ports = new Map<string, number>();
  const pathLists = new Map<string, string[]>();
  const expected = new Map<string, string[]>();
  /** Request bytes by connection set and path list (made on a round's first use; dropped when either is replaced). */
  const requests = new Map<string, Buffer[]>();
  const round = async (conn: string, pathsName: string, concurrency: number): Promise<RoundResult> => {
    const cs = conns.get(conn), paths = pathLists.get(pathsName);
    if (cs === undefined || paths === undefined) throw new Error(`no connections '${conn}' or paths '${pathsName}'`);
    if (concurrency < 1 || concurrency > cs.length) throw new Error(`concurrency ${concurrency} with ${cs.length} connections`);
    // Connections the server closed while idle (its keep-alive timeout) are opened again, off the clock.
    for (let i = 0; i < concurrency; i++) if (!cs[i]!.open()) cs[i] = await connectGet('127.0.0.1', ports.get(conn)!);
    // The requests' bytes, made once per connection set and path list, before any clock starts
    // (every connection of a set goes to the same host and port: the same bytes).
    const rk = `${conn}\u0000${pathsName}`;
    let reqs = requests.get(rk);
    if (reqs === undefined) requests.set(rk, (reqs = paths.map((p) => cs[0]!.request(p))));
    const times: number[] = [];
    const bodies = new Array<Buffer>(paths.length);
    const statuses = new Array<number>(paths.length);
    let next = 0;
    const t0 = performance.now();
    // Each connection sends its next request from the previous answer's callback: no promise per request.
    await new Promise<void>((resolve, reject) => {
      let running = concurrency, failed = false;
      const loop = (k: number): void => {
        if (failed) return;
        if (next >= paths.length) {
          if (--running === 0) resolve();
          return;
        }
        const i = next++;
        const t = performance.now();
        cs[k]!.send(reqs[i]!, (e, r) => {
          times.push(performance.now() - t);
          if (e !== null) {
            failed = true;
            reject(e);
            return;
          }
          bodies[i] = r!.body;
          statuses[i] = r!.status;
          loop(k);
        });
      };
      for (let k = 0; k < concurrency; k++) loop(k);
    });
    const wallMs = performance.now() - t0;
    const want = expected.get(conn);
    for (let i = 0; i < paths.length; i++) {
      if (statuses[i] !== 200) throw new Error(`${conn} ${paths[i]!}: HTTP ${String(statuses[i])}`);
      if (want !== undefined && bodies[i]!.toString() !== want[i]) throw new Error(`${conn} ${paths[i]!} answered differently: ${bodies[i]!.toString().slice(0, 300)}`);
    }
    return { times, wallMs };
  };
  process.on('message', (m: unknown) => {
    const { id, ...c } = m as { id: number } & Cmd;
    void (async (): Promise<RoundResult | undefined> => {
      switch (c.cmd) {
        case 'connect': {
          for (const k of requests.keys()) if (k.startsWith(`${c.name}\u0000`)) requests.delete(k);
          for (const old of conns.get(c.name) ?? []) old.close();
          const list: GetConnection[] = [];
          for (let i = 0; i < c.connections; i++) list.push(await connectGet('127.0.0.1', c.port));
          conns.set(c.name, list);
          ports.set(c.name, c.port);
          return undefined;
        }
        case 'paths':
          for (const k of requests.keys()) if (k.endsWith(`\u0000${c.name}`)) requests.delete(k);
          pathLists.set(c.name, c.paths);
          return undefined;
        case 'expect':
          expected.set(c.name, c.texts);
          return undefined;
        case 'round':
          return round(c.conn, c.paths, c.concurrency);
      }
    })().then(
      (result) => process.send?.({ id, ok: true, result } satisfies Reply),
      (e: unknown) => process.send?.({ id, ok: false, error: e instanceof Error ? e.message : String(e) } satisfies Reply),
    );
  });
  // The parent gone (its IPC channel closed): close the connections so the process can end.
  process.once('disconnect', () => {
    for (const list of conns.values()) for (const c of list) c.close();
  });
  process.send?.({ ready: true });
}

if (process.send !== undefined && process.argv.includes('--http-client')) serveCommands();
