/**
 * `dagctl run` starts a fresh embedded run's first thread before it loads anything else when the
 * DAG's text names an operator that runs on threads (cli/commands/run.ts: workers/embedded/threads.ts
 * mayUseThreads, embeddedPool + ThreadPool.warm), so it loads its modules meanwhile, then keeps or
 * starts as many as the DAG can use (ThreadPool.shrink/warm to threadedTasks: none for inline
 * operators). A run's instances run on those threads; a run whose DAG does not
 * load or validate, or whose planning fails (INPUT_EMPTY), exits 2 as before, creates nothing and
 * leaves no thread behind, nor does a run that succeeds (the OS threads of this process,
 * /proc/self/task, counted before and after: Linux only). The runs that start a thread ahead take
 * a DAG over the hint's cap (a padding comment), and a spy on ThreadPool shows that thread handed to
 * the executor (or shrunk to none); with one core none starts, and those tests say so as they skip.
 * The hint reads only a regular file, at most its cap: a DAG on /dev/stdin, through a FIFO or a
 * process substitution runs; /dev/zero is FILE_TOO_LARGE with the process small. A store whose
 * close fails still awaits the threads and unlocks the run.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadDag } from '../../definitions/load.js';
import { threadedTasks } from '../../workers/embedded/pool.js';
import { getOperator, operatorNames } from '../../operators/registry.js';
import { embeddedPool, MAY_RUN_INLINE, mayUseThreads } from '../../workers/embedded/threads.js';
import { ThreadPool } from '../../workers/threads/pool.js';
import { LocalRunStore } from '../../scheduler/stores/local-run-store.js';
import { DagctlError } from '../../core/errors.js';
import { HINT_MAX_BYTES } from '../../cli/commands/run.js';
import { runCli } from '../definitions/support/cli-io.js';

const BIN = new URL('../../cli/bin.js', import.meta.url).pathname;
const MAIN_URL = new URL('../../cli/main.js', import.meta.url).href;

/** Children not yet ended (a run that hangs on its FIFO is killed after the tests). */
const children = new Set<ChildProcess>();

/** Runs a command to its end: its exit code and output. */
function child(cmd: string, args: string[], cwd: string, stdin?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += String(d)));
    p.stderr.on('data', (d: Buffer) => (stderr += String(d)));
    p.on('error', reject);
    children.add(p);
    p.on('close', (code) => {
      children.delete(p);
      resolve({ code, stdout, stderr });
    });
    p.stdin.end(stdin ?? '');
  });
}

/** Every `lock` file under `dir`. */
async function locks(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) if (e.isFile() && e.name === 'lock') out.push(join(e.parentPath, e.name));
  return out;
}

const head = (name: string): string => `apiVersion: dagctl/v1\nkind: Dag\nmetadata:\n  name: ${name}\n`;
const osThreads = async (): Promise<number> => (await readdir('/proc/self/task')).length;
/** A YAML comment that takes a DAG's text over the hint's cap: the hint then says threads whatever its tasks. */
const pad = `# ${'x'.repeat(HINT_MAX_BYTES)}\n`;

/** Skips, saying why in the test's title, where `dagctl run` starts no thread ahead (one core). */
function needsEarlyThread(ctx: Mocha.Context): void {
  if (availableParallelism() > 1) return;
  if (ctx.test !== undefined) ctx.test.title += ' (SKIPPED: availableParallelism() <= 1, so no thread is started ahead)';
  ctx.skip();
}

type PoolCall = [pool: ThreadPool, call: 'warm' | 'shrink' | 'submit' | 'close', n: number];

/** Runs `f` while recording what is done with ThreadPools (warm, shrink with the threads left after it, submits, close); the spies are gone afterwards. */
async function withPoolSpy<T>(f: () => Promise<T>): Promise<{ result: T; calls: PoolCall[] }> {
  const calls: PoolCall[] = [];
  const proto = ThreadPool.prototype;
  const { warm, shrink, submitAll, close } = proto;
  proto.warm = function (this: ThreadPool, n: number): void {
    calls.push([this, 'warm', n]);
    warm.call(this, n);
  };
  proto.shrink = async function (this: ThreadPool, n: number): Promise<void> {
    await shrink.call(this, n);
    calls.push([this, 'shrink', this.threads]);
  };
  proto.submitAll = function (this: ThreadPool, attempts): void {
    calls.push([this, 'submit', attempts.length]);
    submitAll.call(this, attempts);
  };
  proto.close = async function (this: ThreadPool): Promise<void> {
    calls.push([this, 'close', 0]);
    await close.call(this);
  };
  try {
    return { result: await f(), calls };
  } finally {
    Object.assign(proto, { warm, shrink, submitAll, close });
  }
}

type TaskView = { name: string; state: string; worker?: string };

/** `file` run once, then again with --force while ThreadPools are spied: the forced run's tasks, the pool calls, and the process's OS threads before it. */
async function forcedRunSpied(file: string, cwd: string): Promise<{ tasks: TaskView[]; calls: PoolCall[]; threadsBefore: number }> {
  const first = await runCli(['run', file, '--concurrency', '2', '--json'], cwd);
  assert.equal(first.code, 0, first.stderr);
  const threadsBefore = await osThreads();
  const { result: r, calls } = await withPoolSpy(() => runCli(['run', file, '--concurrency', '2', '--force', '--json'], cwd));
  assert.equal(r.code, 0, r.stderr);
  return { tasks: (JSON.parse(r.stdout) as { tasks: TaskView[] }).tasks, calls, threadsBefore };
}

describe('dagctl run: threads started ahead of planning', function () {
  this.timeout(60_000);
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dagctl-early-pool-'));
  });
  after(async () => {
    for (const p of children) p.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  it('threadedTasks counts the tasks that run on a thread, not inline ones or unknown operators', async () => {
    const count = async (name: string, tasks: string): Promise<number> => {
      const file = join(dir, `${name}.yaml`);
      await writeFile(file, `${head(name)}tasks:\n${tasks}`);
      const loaded = await loadDag(file);
      assert.ok(loaded.dag !== undefined, JSON.stringify(loaded.issues));
      return threadedTasks(loaded.dag);
    };
    assert.equal(await count('inline', '  - { name: a, operator: noop }\n  - { name: b, operator: noop, params: { sleepMs: 5 } }\n'), 0);
    assert.equal(await count('one', '  - { name: a, operator: noop, params: { onThread: true } }\n  - { name: b, operator: noop }\n'), 1);
    assert.equal(await count('two', '  - { name: a, operator: noop, params: { cpuMs: 1 } }\n  - { name: b, operator: noop, params: { onThread: true } }\n'), 2);
  });

  it('mayUseThreads: false only for a text that parses with every task on an operator that may run inline, which the registry agrees with', () => {
    for (const name of operatorNames()) assert.equal(MAY_RUN_INLINE.has(name), getOperator(name)?.inline !== undefined, name);
    assert.equal(mayUseThreads(`${head('a')}tasks:\n  - { name: a, operator: noop }\n  - name: b\n    operator: noop\n`), false);
    assert.equal(mayUseThreads(JSON.stringify({ metadata: { name: 'j' }, tasks: [{ name: 'a', operator: 'noop' }] })), false);
    assert.equal(mayUseThreads(`${head('b')}tasks:\n  - { name: a, operator: noop }\n  - { name: b, operator: normalize }\n`), true);
    assert.equal(mayUseThreads(`${head('c')}tasks:\n  - { name: a, operator: my-module-op }\n`), true);
    assert.equal(mayUseThreads(`${head('d')}tasks:\n  - { name: a }\n`), true);
    assert.equal(mayUseThreads(`${head('e')}tasks: [ { name: a\n`), false);
    assert.equal(mayUseThreads(`${head('f')}`), false);
  });

  it('runs the instances on the threads started ahead, and leaves no thread behind', async function () {
    if (!existsSync('/proc/self/task')) this.skip();
    needsEarlyThread(this);
    const file = join(dir, 'threaded.yaml');
    await writeFile(file, `${head('threaded')}${pad}tasks:\n  - { name: a, operator: noop, params: { onThread: true } }\n  - { name: b, operator: noop, dependsOn: [a], params: { onThread: true } }\n`);
    const { tasks, calls, threadsBefore: before } = await forcedRunSpied(file, dir);
    assert.deepEqual(tasks.map((t) => [t.name, t.state]), [['a', 'succeeded'], ['b', 'succeeded']]);
    for (const t of tasks) assert.match(t.worker ?? '', /^embedded-\d+$/);
    // One pool: its first thread started ahead (warm(1) before the DAG loaded), kept (shrink(2), for
    // the DAG's two threaded tasks, leaves it running), warmed to two, and handed to the executor,
    // which ran both tasks on it.
    const pools = new Set(calls.map(([p]) => p));
    assert.equal(pools.size, 1, 'the executor did not take over the pool started ahead');
    assert.deepEqual(calls.map(([, c, n]) => [c, n]), [['warm', 1], ['shrink', 1], ['warm', 2], ['submit', 1], ['submit', 1], ['close', 0]]);
    assert.equal(await osThreads(), before);
  });

  it('a bad --thread-heap-mb is USAGE before any run is created, with or without threaded tasks', async () => {
    for (const [name, params] of [['inl', ''], ['thr', ', params: { onThread: true }']] as const) {
      const sub = join(dir, `heap-${name}`);
      await mkdir(sub, { recursive: true });
      const file = join(sub, 'dag.yaml');
      await writeFile(file, `${head(`heap-${name}`)}tasks:\n  - { name: a, operator: noop${params} }\n`);
      const r = await runCli(['run', file, '--thread-heap-mb', '5', '--json'], sub);
      assert.equal(r.code, 2, r.stderr);
      assert.equal((JSON.parse(r.stdout) as { error?: { code?: string } }).error?.code, 'USAGE');
      const st = await runCli(['status', '--all', '--json'], sub);
      assert.equal((JSON.parse(st.stdout) as { error?: { code?: string } }).error?.code, 'RUN_NOT_FOUND', `a run was created: ${st.stdout}`);
    }
  });

  it('a run whose planning fails (INPUT_EMPTY) closes the threads it started', async function () {
    if (!existsSync('/proc/self/task')) this.skip();
    needsEarlyThread(this);
    await mkdir(join(dir, 'empty'), { recursive: true });
    const file = join(dir, 'empty.yaml');
    await writeFile(file, `${head('empty')}${pad}datasets:\n  src: { uri: ${JSON.stringify(join(dir, 'empty'))} }\ntasks:\n  - { name: a, operator: noop, inputs: [src], params: { onThread: true } }\n`);
    const fail = async (): Promise<void> => {
      const r = await runCli(['run', file, '--concurrency', '2', '--json'], dir);
      assert.equal(r.code, 2, r.stderr);
      assert.equal((JSON.parse(r.stdout) as { error?: { code?: string } }).error?.code, 'INPUT_EMPTY');
    };
    await fail();
    const before = await osThreads();
    const { calls } = await withPoolSpy(async () => {
      for (let i = 0; i < 3; i++) await fail();
    });
    // Each run started its thread ahead, kept it for the DAG's one threaded task, and closed it.
    assert.deepEqual(calls.map(([, c, n]) => [c, n]), Array.from({ length: 3 }, () => [['warm', 1], ['shrink', 1], ['warm', 1], ['close', 0]]).flat());
    assert.equal(new Set(calls.map(([p]) => p)).size, 3);
    assert.equal(await osThreads(), before);
  });

  it('a DAG that does not load or validate exits 2 as before, creates nothing and leaves no thread behind', async function () {
    if (!existsSync('/proc/self/task')) this.skip();
    const sub = join(dir, 'invalid');
    await mkdir(sub, { recursive: true });
    const bad = join(sub, 'bad.yaml');
    await writeFile(bad, `${head('bad')}tasks:\n  - { name: a, operator: no-such-operator, params: { onThread: true } }\n`);
    const syntax = join(sub, 'syntax.yaml');
    await writeFile(syntax, `${head('syntax')}tasks: [ { name: a\n`);
    // Each as `dagctl run --json` reports it (the first issue's code).
    const cases: Array<[string, string]> = [
      [bad, 'UNKNOWN_OPERATOR'],
      [syntax, 'YAML_SYNTAX'],
      [join(sub, 'missing.yaml'), 'FILE_READ_FAILED'],
    ];
    const once = async (): Promise<void> => {
      for (const [file, code] of cases) {
        const r = await runCli(['run', file, '--concurrency', '2', '--json'], sub);
        assert.equal(r.code, 2, r.stderr);
        const out = JSON.parse(r.stdout) as { valid?: boolean; issues?: Array<{ code?: string }> };
        assert.equal(out.valid, false);
        assert.equal(out.issues?.[0]?.code, code);
      }
    };
    await once();
    const before = await osThreads();
    await once();
    assert.equal(await osThreads(), before);
    assert.equal(existsSync(join(sub, '.dagctl')), false, 'an invalid DAG created run state');
  });

  it('a run of inline tasks only keeps none of the threads started ahead, and runs them on the main thread', async function () {
    if (!existsSync('/proc/self/task')) this.skip();
    needsEarlyThread(this);
    const file = join(dir, 'inline.yaml');
    // Over the hint's cap: the hint says threads, the DAG needs none.
    await writeFile(file, `${head('inline')}${pad}tasks:\n  - { name: a, operator: noop }\n  - { name: b, operator: noop, dependsOn: [a] }\n`);
    const { tasks, calls, threadsBefore: before } = await forcedRunSpied(file, dir);
    // The thread started ahead, then shrink(0): no thread left in the pool, nothing submitted to it.
    assert.deepEqual(calls.map(([, c, n]) => [c, n]), [['warm', 1], ['shrink', 0], ['warm', 0], ['close', 0]]);
    assert.deepEqual(tasks.map((t) => [t.name, t.state]), [['a', 'succeeded'], ['b', 'succeeded']]);
    for (const t of tasks) assert.doesNotMatch(t.worker ?? '', /^embedded-\d+$/);
    assert.equal(await osThreads(), before);
  });

  describe('the hint reads only a regular file, and at most its cap', () => {
    const good = `${head('piped')}tasks:\n  - { name: a, operator: noop, params: { onThread: true } }\n`;

    it('a DAG on stdin (/dev/stdin) runs, exit 0', async function () {
      const sub = join(dir, 'stdin');
      await mkdir(sub, { recursive: true });
      const file = join(sub, 'dag.yaml');
      await writeFile(file, good);
      // Through a pipe, as a shell makes it (a spawned child's stdin is a socket, which /dev/stdin cannot reopen).
      const r = await child('bash', ['-c', 'cat "$2" | exec "$0" "$1" run /dev/stdin --json', process.execPath, BIN, file], sub);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.equal((JSON.parse(r.stdout) as { phase?: string; tasks?: Array<{ state: string }> }).tasks?.[0]?.state, 'succeeded');
    });

    it('a DAG through a FIFO and a process substitution runs, exit 0', async function () {
      const sub = join(dir, 'fifo');
      await mkdir(sub, { recursive: true });
      const fifo = join(sub, 'dag.fifo');
      execFileSync('mkfifo', [fifo]);
      const run = child(process.execPath, [BIN, 'run', fifo, '--json'], sub);
      await writeFile(fifo, good);
      const r = await run;
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const file = join(sub, 'dag.yaml');
      await writeFile(file, good);
      const ps = await child('bash', ['-c', 'exec "$0" "$1" run <(cat "$2") --json --force', process.execPath, BIN, file], sub);
      assert.equal(ps.code, 0, ps.stdout + ps.stderr);
    });

    it('/dev/zero is FILE_TOO_LARGE without the hint reading it (the process stays small)', async function () {
      const sub = join(dir, 'zero');
      await mkdir(sub, { recursive: true });
      const script = `
        const { main } = await import(${JSON.stringify(MAIN_URL)});
        const code = await main(['run', '/dev/zero', '--max-dag-bytes', '1000', '--json'], { stdout: process.stdout, stderr: process.stderr, env: {}, cwd: process.cwd(), interrupted: new AbortController().signal });
        process.stderr.write('maxRssKb ' + process.resourceUsage().maxRSS + '\\n');
        process.exitCode = code;`;
      const r = await child(process.execPath, ['--input-type=module', '-e', script], sub);
      assert.equal(r.code, 2, r.stdout + r.stderr);
      const out = JSON.parse(r.stdout) as { issues?: Array<{ code?: string }> };
      assert.equal(out.issues?.[0]?.code, 'FILE_TOO_LARGE');
      const kb = Number(/maxRssKb (\d+)/.exec(r.stderr)?.[1]);
      // A Node process running the CLI is ~100 MB; the hint reading /dev/zero took it past 600 MB.
      assert.ok(kb > 0 && kb < 350 * 1024, `max RSS ${kb} KB`);
    });
  });

  it('a store whose close fails still awaits the threads and unlocks the run', async function () {
    if (!existsSync('/proc/self/task')) this.skip();
    const sub = join(dir, 'close-fails');
    await mkdir(sub, { recursive: true });
    const file = join(sub, 'dag.yaml');
    await writeFile(file, `${head('closefails')}${pad}tasks:\n  - { name: a, operator: noop, params: { onThread: true } }\n`);
    const first = await runCli(['run', file, '--concurrency', '2', '--json'], sub);
    assert.equal(first.code, 0, first.stderr);
    const before = await osThreads();
    const proto = LocalRunStore.prototype;
    const { close } = proto;
    proto.close = async function (this: LocalRunStore): Promise<void> {
      await close.call(this);
      throw new DagctlError('INTERNAL', 'the store did not close');
    };
    let r;
    try {
      r = await runCli(['run', file, '--concurrency', '2', '--force', '--json'], sub);
    } finally {
      proto.close = close;
    }
    assert.notEqual(r.code, 0, r.stdout);
    // The run's report, then the error the failed close threw.
    const error = r.stdout.slice(r.stdout.lastIndexOf('{\n  "error"'));
    assert.equal((JSON.parse(error) as { error?: { code?: string } }).error?.code, 'INTERNAL');
    assert.deepEqual(await locks(join(sub, '.dagctl')), [], 'the run is still locked');
    assert.equal(await osThreads(), before, 'a thread outlived the run');
  });

  it('ThreadPool.shrink terminates the idle threads beyond n (while they load), and the pool starts them again on demand', async function () {
    if (!existsSync('/proc/self/task')) this.skip();
    const base = await osThreads();
    const pool = embeddedPool({ concurrency: 3 });
    try {
      pool.warm(3);
      assert.equal(await osThreads(), base + 3);
      await pool.shrink(1);
      assert.equal(await osThreads(), base + 1);
      assert.equal(pool.size, 3);
      await pool.ready(); // starts the missing threads again
      assert.equal(await osThreads(), base + 3);
      await pool.shrink(0);
      assert.equal(await osThreads(), base);
    } finally {
      await pool.close();
    }
  });
});
