/**
 * The thread pool's dispatch order (workers/threads/pool.ts mayHold): a thread prefetches jobs
 * beyond the one it runs next only while enough jobs wait for every thread, so a step's last jobs
 * go to whichever thread frees first instead of queueing behind a long one. Checked with attempts
 * held at a barrier the test controls (which jobs reach it, on which threads), never with timings.
 */
import assert from 'node:assert/strict';
import { JobResolver } from '../../scheduler/jobs.js';
import { mayHold, ThreadPool, type Outcome } from '../../workers/threads/pool.js';
import { Barrier } from '../helpers/barrier.js';
import { dagOf, noopTask, recordOf } from '../helpers/dags.js';

describe('thread pool dispatch order', function () {
  this.timeout(120_000);

  it('mayHold: the next job always; deeper only while more than threads × (depth − 1) wait', () => {
    assert.equal(mayHold(1, 1, 2), true);
    assert.equal(mayHold(1, 0, 2), true);
    // 8 buckets on 2 threads: after one each, 6 wait → a second each; then 4 wait → no third.
    assert.equal(mayHold(2, 6, 2), true);
    assert.equal(mayHold(2, 3, 2), true);
    assert.equal(mayHold(2, 2, 2), false);
    assert.equal(mayHold(3, 4, 2), false);
    assert.equal(mayHold(3, 5, 2), true);
    // A wide fan-out keeps the whole prefetch depth.
    assert.equal(mayHold(4, 5000, 2), true);
    assert.equal(mayHold(2, 2, 1), true);
  });

  it("a step's last jobs go to the thread that frees first, not behind a held one", async () => {
    const barrier = new Barrier();
    // 4 buckets; barrierEvery 2 holds buckets 1 and 3 until the test opens the barrier.
    const record = recordOf(dagOf('dispatch', [noopTask('fan', { params: { buckets: 4, barrier: barrier.dir, barrierEvery: 2, onThread: true } })]), `t-dispatch-${Math.random().toString(36).slice(2, 8)}`);
    const recordJson = JSON.stringify(record);
    const resolver = new JobResolver(record);
    const pool = new ThreadPool({ size: 2, prefetch: 4, workerPrefix: 'test/d' });
    try {
      await pool.ready();
      const ends: Array<Promise<Outcome>> = [];
      const attempts = [0, 1, 2, 3].map((b) => {
        let end: (o: Outcome) => void = () => undefined;
        ends.push(new Promise<Outcome>((r) => (end = r)));
        return { job: resolver.build(`fan.main.b00${b}`, 1, () => undefined), recordJson, onEnd: end };
      });
      pool.submitAll(attempts);
      // Split up front (b0, b2 | b1, b3), bucket 3 would wait behind held bucket 1 on one thread
      // and never arrive; dispatched as threads free, the other thread runs b0, b2, then b3.
      const arrived = await barrier.waitFor('buckets 1 and 3 held at once', (a) => a.length >= 2, 60_000);
      assert.deepEqual(arrived.map((a) => a.bucket).sort(), [1, 3]);
      barrier.open();
      const outcomes = await Promise.all(ends);
      assert.deepEqual(outcomes.map((o) => o.ok), [true, true, true, true]);
      const workerOf = (b: number): string => {
        const o = outcomes[b] as Outcome;
        return o.ok ? (o.result.worker ?? '') : '';
      };
      // b0, b2 and b3 ran on one thread, b1 on the other.
      assert.equal(workerOf(0), workerOf(2));
      assert.equal(workerOf(2), workerOf(3));
      assert.notEqual(workerOf(1), workerOf(3));
    } finally {
      await pool.close();
      barrier.remove();
    }
  });
});
