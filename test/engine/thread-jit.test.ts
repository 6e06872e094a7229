/**
 * The thread pool's V8 compiler settings (workers/threads/jit.ts): TurboFan inlining is on by
 * default (V8's own), DAGCTL_THREAD_INLINING=0 turns it off and 1 on, anything else keeps the
 * default, and the flag is always set explicitly (an earlier pool's setting does not carry over). That a pool really applies it: a child process with
 * `--trace-turbo-inlining` starts a pool (which sets its flags, process-wide, before its threads
 * start), then optimizes a function calling a small one — V8 traces inlining decisions only when
 * inlining is on. The function is optimized synchronously (%OptimizeFunctionOnNextCall), so the trace
 * is written before the code goes on, however loaded the machine: a concurrent optimization could
 * still be queued when the thread ends. A thread outside the pool (startThread with no heap) started after a pool's
 * thread gets V8's defaults back (DEFAULT_V8_FLAGS): inlining again under DAGCTL_THREAD_INLINING=0.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { DEFAULT_THREAD_INLINING, jitFlags } from '../../workers/threads/jit.js';
import { DEFAULT_V8_FLAGS, threadHeap } from '../../workers/threads/pool.js';

const POOL_URL = new URL('../../workers/threads/pool.js', import.meta.url).href;

/** Lines of V8's inlining trace in a child that starts a pool, then runs a hot call. */
function inliningTraced(env: Record<string, string>): number {
  const script = `
    const { ThreadPool } = await import(${JSON.stringify(POOL_URL)});
    const pool = new ThreadPool({ size: 1 });
    await pool.ready();
    function small(x) { return x * 3 + 1; }
    function hot(a, i) { return (small(a) + i) | 0; }
    let s = 0;
    %PrepareFunctionForOptimization(hot);
    for (let i = 0; i < 100; i++) s = hot(s, i);
    %OptimizeFunctionOnNextCall(hot);
    s = hot(s, 1);
    await pool.close();
    console.log('sum', s);`;
  const out = execFileSync(process.execPath, ['--trace-turbo-inlining', '--allow-natives-syntax', '--input-type=module', '-e', script], { env: { ...process.env, ...env }, encoding: 'utf8' });
  assert.match(out, /sum -?\d+/);
  return out.split('\n').filter((l) => /inlin/i.test(l)).length;
}

/**
 * Lines of V8's inlining trace in a child that starts a pool thread with inlining off
 * (DAGCTL_THREAD_INLINING=0, process-wide), then a thread outside the pool (startThread with no
 * heap, as DAG validation does) that runs a hot call; the main thread runs none.
 */
function inliningTracedOutsidePool(): number {
  const script = `
    const { ThreadPool, startThread } = await import(${JSON.stringify(POOL_URL)});
    const pool = new ThreadPool({ size: 1 });
    await pool.ready();
    const code = 'function small(x) { return x * 3 + 1; } function hot(a, i) { return (small(a) + i) | 0; } let s = 0; %PrepareFunctionForOptimization(hot); for (let i = 0; i < 100; i++) s = hot(s, i); %OptimizeFunctionOnNextCall(hot); s = hot(s, 1); import("node:worker_threads").then((m) => m.parentPort.postMessage(s));';
    const w = startThread(code, null, { eval: true });
    const s = await new Promise((resolve) => w.once('message', resolve));
    await w.terminate();
    await pool.close();
    console.log('sum', s);`;
  const out = execFileSync(process.execPath, ['--trace-turbo-inlining', '--allow-natives-syntax', '--input-type=module', '-e', script], { env: { ...process.env, DAGCTL_THREAD_INLINING: '0' }, encoding: 'utf8' });
  assert.match(out, /sum -?\d+/);
  return out.split('\n').filter((l) => /inlin/i.test(l)).length;
}

describe('thread pool: V8 compiler flags (jit.ts)', function () {
  this.timeout(60_000);

  it('inlining on by default; DAGCTL_THREAD_INLINING=0 off, 1 on, other values the default', () => {
    assert.equal(DEFAULT_THREAD_INLINING, true);
    assert.deepEqual(jitFlags({}), ['--turbo-inlining']);
    assert.deepEqual(jitFlags({ DAGCTL_THREAD_INLINING: '0' }), ['--no-turbo-inlining']);
    assert.deepEqual(jitFlags({ DAGCTL_THREAD_INLINING: '1' }), ['--turbo-inlining']);
    assert.deepEqual(jitFlags({ DAGCTL_THREAD_INLINING: 'no' }), ['--turbo-inlining']);
    assert.deepEqual(jitFlags({ DAGCTL_THREAD_INLINING: '' }), ['--turbo-inlining']);
  });

  it('a pool sets the flag for the process: no inlining with DAGCTL_THREAD_INLINING=0, inlining by default', () => {
    assert.equal(inliningTraced({ DAGCTL_THREAD_INLINING: '0' }), 0);
    assert.ok(inliningTraced({ DAGCTL_THREAD_INLINING: '' }) > 0);
  });

  it("a thread outside the pool started after a pool's thread gets V8's defaults back (DEFAULT_V8_FLAGS), not the pool's flags", () => {
    assert.ok(inliningTracedOutsidePool() > 0);
    assert.deepEqual(DEFAULT_V8_FLAGS, ['--initial-old-space-size=0', '--heap-growing-percent=0', '--max-semi-space-size=0', '--turbo-inlining']);
    // Every flag a pool sets has its default there.
    const name = (f: string): string => f.replace(/^--(no-)?/, '').replace(/=.*$/, '');
    const pool = [...threadHeap({ heapFloorMb: 48, heapGrowingPercent: 10 }, {}).v8Flags, ...jitFlags({ DAGCTL_THREAD_INLINING: '0' })];
    assert.deepEqual(new Set(pool.map(name)), new Set(DEFAULT_V8_FLAGS.map(name)));
  });
});
