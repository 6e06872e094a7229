/**
 * `dagctl run` starts a fresh embedded run's first thread before it loads anything else when the
 * DAG's text names an operator that runs on threads (cli/commands/run.ts: workers/embedded/threads.ts
 * mayUseThreads, embeddedPool + ThreadPool.warm), so it loads its modules meanwhile, then keeps or
 * starts as many as the DAG can use (ThreadPool.shrink/warm to threadedTasks: none for inline
 * operators). A run's instances run on those threads; a run whose DAG does not
 * load or validate, or whose planning fails (INPUT_EMPTY), exits 2 as before, creates nothing and
 * leaves no thread behind, nor does a run that succeeds (the OS threads of this process,
 * /proc/self/task, counted before and after: Linux only).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadDag } from '../../definitions/load.js';
import { threadedTasks } from '../../workers/embedded/pool.js';
import { getOperator, operatorNames } from '../../operators/registry.js';
import { embeddedPool, MAY_RUN_INLINE, mayUseThreads } from '../../workers/embedded/threads.js';
import { runCli } from '../definitions/support/cli-io.js';

const head = (name: string): string => `apiVersion: dagctl/v1\nkind: Dag\nmetadata:\n  name: ${name}\n`;
const osThreads = async (): Promise<number> => (await readdir('/proc/self/task')).length;

describe('dagctl run: threads started ahead of planning', function () {
  this.timeout(60_000);
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dagctl-early-pool-'));
  });
  after(async () => {
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
    const file = join(dir, 'threaded.yaml');
    await writeFile(file, `${head('threaded')}tasks:\n  - { name: a, operator: noop, params: { onThread: true } }\n  - { name: b, operator: noop, dependsOn: [a], params: { onThread: true } }\n`);
    const first = await runCli(['run', file, '--concurrency', '2', '--json'], dir);
    assert.equal(first.code, 0, first.stderr);
    const before = await osThreads();
    const r = await runCli(['run', file, '--concurrency', '2', '--force', '--json'], dir);
    assert.equal(r.code, 0, r.stderr);
    const tasks = (JSON.parse(r.stdout) as { tasks: Array<{ name: string; state: string; worker?: string }> }).tasks;
    assert.deepEqual(tasks.map((t) => [t.name, t.state]), [['a', 'succeeded'], ['b', 'succeeded']]);
    for (const t of tasks) assert.match(t.worker ?? '', /^embedded-\d+$/);
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
    await mkdir(join(dir, 'empty'), { recursive: true });
    const file = join(dir, 'empty.yaml');
    await writeFile(file, `${head('empty')}datasets:\n  src: { uri: ${JSON.stringify(join(dir, 'empty'))} }\ntasks:\n  - { name: a, operator: noop, inputs: [src], params: { onThread: true } }\n`);
    const fail = async (): Promise<void> => {
      const r = await runCli(['run', file, '--concurrency', '2', '--json'], dir);
      assert.equal(r.code, 2, r.stderr);
      assert.equal((JSON.parse(r.stdout) as { error?: { code?: string } }).error?.code, 'INPUT_EMPTY');
    };
    await fail();
    const before = await osThreads();
    for (let i = 0; i < 3; i++) await fail();
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
    const file = join(dir, 'inline.yaml');
    await writeFile(file, `${head('inline')}tasks:\n  - { name: a, operator: noop }\n  - { name: b, operator: noop, dependsOn: [a] }\n`);
    const first = await runCli(['run', file, '--concurrency', '2', '--json'], dir);
    assert.equal(first.code, 0, first.stderr);
    const before = await osThreads();
    const r = await runCli(['run', file, '--concurrency', '2', '--force', '--json'], dir);
    assert.equal(r.code, 0, r.stderr);
    const tasks = (JSON.parse(r.stdout) as { tasks: Array<{ name: string; state: string; worker?: string }> }).tasks;
    assert.deepEqual(tasks.map((t) => [t.name, t.state]), [['a', 'succeeded'], ['b', 'succeeded']]);
    for (const t of tasks) assert.doesNotMatch(t.worker ?? '', /^embedded-\d+$/);
    assert.equal(await osThreads(), before);
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
