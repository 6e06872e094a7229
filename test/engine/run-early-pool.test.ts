/**
 * `dagctl run` starts an embedded run's threads before it plans (workers/embedded/pool.ts
 * embeddedPool + ThreadPool.warm), so they load their modules meanwhile: threadedTasks counts the
 * tasks that need a thread (none for inline operators); a run's instances run on those threads;
 * and a run whose planning fails (INPUT_EMPTY) or whose tasks all succeed leaves no thread behind
 * (the OS threads of this process, /proc/self/task, counted before and after: Linux only).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadDag } from '../../definitions/load.js';
import { threadedTasks } from '../../workers/embedded/pool.js';
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
});
