/**
 * The ThreadPool's promise API (`run`, what `dagctl worker` calls): a CPU-bound attempt ignoring
 * its timeout is terminated and ends TASK_TIMEOUT, an aborted signal ends the attempt
 * TASK_CANCELLED, and an attempt past the thread heap limit ends WORKER_OUT_OF_MEMORY — then the
 * replaced threads run the next attempt. The embedded executor's side is in embedded.test.ts.
 */
import assert from 'node:assert/strict';
import { JobResolver } from '../../scheduler/jobs.js';
import { ThreadPool } from '../../workers/threads/pool.js';
import { dagOf, noopTask, recordOf } from '../helpers/dags.js';

describe('thread pool (promise API of dagctl worker)', function () {
  this.timeout(30_000);
  const record = recordOf(
    dagOf('pool', [noopTask('hog', { timeoutMs: 200, params: { cpuMs: 20_000 } }), noopTask('sleep', { params: { sleepMs: 20_000 } }), noopTask('big', { params: { allocMb: 400 } }), noopTask('ok')]),
    `t-pool-${Math.random().toString(36).slice(2, 8)}`,
  );
  const recordJson = JSON.stringify(record);
  const resolver = new JobResolver(record);
  const job = (task: string) => resolver.build(`${task}.main`, 1, () => undefined);
  let pool: ThreadPool;
  before(() => {
    pool = new ThreadPool({ size: 1, graceMs: 200, maxThreadHeapMb: 64, workerPrefix: 'test/t' });
  });
  after(() => pool.close());

  it('terminates a CPU-bound attempt past its timeout (TASK_TIMEOUT), then runs the next one on a new thread', async () => {
    const [hog, ok] = await Promise.all([pool.run(recordJson, job('hog'), new AbortController().signal), pool.run(recordJson, job('ok'), new AbortController().signal)]);
    assert.equal(hog.ok, false);
    assert.equal(hog.ok ? '' : hog.code, 'TASK_TIMEOUT');
    assert.equal(ok.ok, true);
    assert.match(ok.ok ? (ok.result.worker ?? '') : '', /^test\/t\d+$/);
  });

  it('an aborted signal cancels the running attempt (TASK_CANCELLED)', async () => {
    const ac = new AbortController();
    const p = pool.run(recordJson, job('sleep'), ac.signal);
    ac.abort();
    const o = await p;
    assert.equal(o.ok ? '' : o.code, 'TASK_CANCELLED');
  });

  it('an attempt past the heap limit ends WORKER_OUT_OF_MEMORY, not retryable', async () => {
    const o = await pool.run(recordJson, job('big'), new AbortController().signal);
    assert.equal(o.ok ? '' : o.code, 'WORKER_OUT_OF_MEMORY');
    assert.equal(o.ok ? true : o.retryable, false);
    assert.equal((await pool.run(recordJson, job('ok'), new AbortController().signal)).ok, true);
  });
});
