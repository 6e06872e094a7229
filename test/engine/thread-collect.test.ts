/**
 * Collection between instances (workers/threads/collect.ts): the pure decision and threshold, and
 * that a collector past its threshold really collects (an unreachable ArrayBuffer's WeakRef is
 * cleared) and resets its baseline; below it, or at 0, it never collects.
 */
import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { betweenInstances, collectMbOf, DEFAULT_THREAD_COLLECT_MB, shouldCollect } from '../../workers/threads/collect.js';
import { ThreadPool } from '../../workers/threads/pool.js';

const MB = 1048576;

describe('thread collection between instances', () => {
  it('collects once ArrayBuffer memory grew by the threshold since the last collection; never at 0 (pure)', () => {
    assert.equal(shouldCollect(40 * MB, 16 * MB, 24), true);
    assert.equal(shouldCollect(40 * MB - 1, 16 * MB, 24), false);
    assert.equal(shouldCollect(400 * MB, 0, 0), false);
    assert.equal(shouldCollect(10 * MB, 30 * MB, 8), false);
  });

  it('threshold: the option, else DAGCTL_THREAD_COLLECT_MB (an integer ≥ 0), else the default', () => {
    assert.equal(collectMbOf(12, { DAGCTL_THREAD_COLLECT_MB: '40' }), 12);
    assert.equal(collectMbOf(-3, {}), 0);
    assert.equal(collectMbOf(undefined, { DAGCTL_THREAD_COLLECT_MB: '40' }), 40);
    assert.equal(collectMbOf(undefined, { DAGCTL_THREAD_COLLECT_MB: '0' }), 0);
    for (const bad of ['', 'x', '1.5', '-2']) assert.equal(collectMbOf(undefined, { DAGCTL_THREAD_COLLECT_MB: bad }), DEFAULT_THREAD_COLLECT_MB);
    assert.equal(collectMbOf(undefined, {}), DEFAULT_THREAD_COLLECT_MB);
  });

  it('past its threshold the collector runs a full collection (an unreachable buffer is freed) and takes a new baseline', async () => {
    let ab = 10 * MB;
    const c = betweenInstances(8, () => ab);
    assert.equal(typeof (globalThis as { gc?: unknown }).gc, 'undefined', 'gc stays out of other contexts');
    let ref = new WeakRef(new ArrayBuffer(1 << 20));
    await tick();
    ab = 17 * MB;
    assert.equal(c.after(), false);
    ab = 18 * MB;
    assert.equal(c.after(), true);
    assert.ok(ref.deref() === undefined, "the unreachable buffer was collected");
    // The baseline is now 18 MB: 8 MB more is needed for the next one.
    ref = new WeakRef(new ArrayBuffer(1 << 20));
    await tick();
    ab = 25 * MB;
    assert.equal(c.after(), false);
    ab = 26 * MB;
    assert.equal(c.after(), true);
    assert.ok(ref.deref() === undefined, "the unreachable buffer was collected");
  });

  it('leaves --expose-gc as it found it: off stays off, on (node --expose-gc) stays on for later contexts', () => {
    assert.equal(runInNewContext('typeof gc'), 'undefined');
    betweenInstances(8);
    assert.equal(runInNewContext('typeof gc'), 'undefined');
    setFlagsFromString('--expose-gc');
    try {
      betweenInstances(8);
      assert.equal(runInNewContext('typeof gc'), 'function');
    } finally {
      setFlagsFromString('--no-expose-gc');
    }
  });

  it('at 0 the collector never collects', () => {
    const c = betweenInstances(0, () => 1e12);
    assert.equal(c.after(), false);
  });

  it('a pool passes its threshold to its threads', async () => {
    const pool = new ThreadPool({ size: 1, collectMb: 5, lazy: true });
    try {
      assert.equal((pool as unknown as { data: { collectMb: number } }).data.collectMb, 5);
    } finally {
      await pool.close();
    }
  });
});
