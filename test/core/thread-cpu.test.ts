/**
 * core/thread-cpu.ts: the schedstat parser on fixed lines (shape refused, units), and on Linux a
 * worker thread's own times (a thread that only sleeps gains no CPU time however busy another
 * thread is).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { parseSchedstat, threadTimes, timesSince } from '../../core/thread-cpu.js';

describe('core/thread-cpu', () => {
  it('parses a schedstat line as milliseconds and refuses other shapes', () => {
    assert.deepEqual(parseSchedstat('2743409541 16200613218 3545\n'), { cpuMs: 2743.409541, waitMs: 16200.613218 });
    assert.equal(parseSchedstat(''), null);
    assert.equal(parseSchedstat('12 34\n'), null);
    assert.equal(parseSchedstat('-1 2 3\n'), null);
    assert.equal(parseSchedstat('1 2 3 4\n'), null);
  });

  it('gives the calling thread its own CPU time (Linux)', async function () {
    if (!existsSync('/proc/thread-self/schedstat')) this.skip();
    const t0 = threadTimes();
    assert.notEqual(t0, null);
    // This thread burns CPU; a worker thread that only waits on a message must not gain it.
    const w = new Worker(`
      const { parentPort } = require('node:worker_threads');
      const { readFileSync } = require('node:fs');
      const ns = () => Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]);
      const a = ns();
      parentPort.once('message', () => parentPort.postMessage(ns() - a));
      parentPort.postMessage('ready');
    `, { eval: true });
    await new Promise((res) => w.once('message', res));
    let x = 0;
    for (let i = 0; i < 5e7; i++) x = (x + i) % 1000003;
    const d = timesSince(t0)!;
    w.postMessage('done');
    const workerNs = await new Promise<number>((res) => w.once('message', res));
    await w.terminate();
    assert.ok(x >= 0);
    assert.ok(d.cpuMs > 0 && d.waitMs >= 0);
    // The worker ran only to answer: far less than this thread's loop.
    assert.ok(workerNs / 1e6 < d.cpuMs, `worker ${workerNs / 1e6} ms vs main ${d.cpuMs} ms`);
  });
});
