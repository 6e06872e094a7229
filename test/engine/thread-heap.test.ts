/**
 * The thread pool's heap settings (workers/threads/pool.ts threadHeap, startThread): which limits
 * and V8 flags a pool gives its threads (options over environment over defaults), and what they do
 * to a thread started the pool's way. A thread whose small live heap keeps promoting short-lived
 * objects (the pipeline's operators: ~13 MB live, hundreds of MB promoted) runs far fewer full
 * mark-compacts under the default floor than with V8's own limits (floor 0), counted by the thread
 * itself with a `gc` PerformanceObserver; and its new space stays within the young-generation limit.
 * Every thread dagctl starts (pool or not) gets its own young generation, not the main thread's.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { DEFAULT_THREAD_HEAP_FLOOR_MB, DEFAULT_THREAD_HEAP_MB, DEFAULT_THREAD_YOUNG_MB, startThread, threadHeap, type ThreadHeap } from '../../workers/threads/pool.js';

/**
 * Promotes ~`mb` MB through a FIFO of ~8 MB of 1 KB arrays (each outlives two scavenges of a
 * small young generation, then dies), then reports its major GCs and its new space's size.
 */
const CHURN = `
const { parentPort, workerData } = require('node:worker_threads');
const { PerformanceObserver, constants } = require('node:perf_hooks');
const { getHeapSpaceStatistics } = require('node:v8');
let majors = 0;
const obs = new PerformanceObserver((list) => { for (const e of list.getEntries()) if (e.detail.kind === constants.NODE_PERFORMANCE_GC_MAJOR) majors++; });
obs.observe({ entryTypes: ['gc'] });
const fifo = new Array(8192).fill(null);
let newSpace = 0;
for (let i = 0; i < workerData.mb * 1024; i++) {
  const a = new Array(120);
  for (let k = 0; k < 120; k++) a[k] = i + k + 0.5;
  fifo[i % fifo.length] = a;
  if ((i & 1023) === 0) newSpace = Math.max(newSpace, getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size);
}
// gc entries arrive asynchronously: report after they are delivered.
setTimeout(() => { obs.disconnect(); parentPort.postMessage({ majors, newSpace, kept: fifo.length }); }, 100);
`;

async function churn(heap: ThreadHeap | null, mb: number): Promise<{ majors: number; newSpace: number }> {
  const w = startThread(CHURN, heap, { eval: true, workerData: { mb } });
  try {
    return await new Promise((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    });
  } finally {
    await w.terminate();
  }
}

describe('thread pool heap settings', function () {
  this.timeout(60_000);

  it('options win over the environment, the environment over the defaults; the floor is at most half the limit', () => {
    assert.deepEqual(threadHeap({}, {}), {
      resourceLimits: { maxOldGenerationSizeMb: DEFAULT_THREAD_HEAP_MB, maxYoungGenerationSizeMb: DEFAULT_THREAD_YOUNG_MB },
      v8Flags: [`--initial-old-space-size=${DEFAULT_THREAD_HEAP_FLOOR_MB}`, '--heap-growing-percent=0', '--max-semi-space-size=0'],
    });
    const env = { DAGCTL_THREAD_HEAP_MB: '256', DAGCTL_THREAD_YOUNG_MB: '24', DAGCTL_THREAD_HEAP_FLOOR_MB: '0', DAGCTL_HEAP_GROWING_PERCENT: '200' };
    assert.deepEqual(threadHeap({}, env), { resourceLimits: { maxOldGenerationSizeMb: 256, maxYoungGenerationSizeMb: 24 }, v8Flags: ['--initial-old-space-size=0', '--heap-growing-percent=200', '--max-semi-space-size=0'] });
    assert.deepEqual(threadHeap({ maxThreadHeapMb: 64, youngGenerationMb: 6, heapFloorMb: 48, heapGrowingPercent: 0 }, env), {
      resourceLimits: { maxOldGenerationSizeMb: 64, maxYoungGenerationSizeMb: 6 },
      // The growing factor is set back to V8's own (0), so an earlier pool's opt-in does not carry over.
      v8Flags: ['--initial-old-space-size=32', '--heap-growing-percent=0', '--max-semi-space-size=0'],
    });
    // Values that are not whole MB counts fall back to the defaults.
    assert.deepEqual(threadHeap({}, { DAGCTL_THREAD_YOUNG_MB: 'x', DAGCTL_THREAD_HEAP_FLOOR_MB: '-1', DAGCTL_THREAD_HEAP_MB: '' }), threadHeap({}, {}));
  });

  it('a thread started with the default floor runs far fewer full mark-compacts than with V8 own limits, in its young-generation limit', async () => {
    const mb = 320;
    const v8Own = await churn(threadHeap({ heapFloorMb: 0 }, {}), mb);
    const pooled = await churn(threadHeap({}, {}), mb);
    // V8's own limits: a collection every few MB of promotion (~13 MB live × 1.35).
    assert.ok(v8Own.majors >= 8, `V8's own limits: ${v8Own.majors} full GCs`);
    assert.ok(pooled.majors * 2 <= v8Own.majors, `floor ${DEFAULT_THREAD_HEAP_FLOOR_MB} MB: ${pooled.majors} full GCs vs ${v8Own.majors}`);
    // Two semi-spaces of a third of the young generation each.
    assert.ok(pooled.newSpace <= (2 * DEFAULT_THREAD_YOUNG_MB * 1024 * 1024) / 3, `new space ${pooled.newSpace} B`);
  });

  it('a thread gets its own young generation even when the process runs with a small --max-semi-space-size (the launcher sets it for the main thread)', async () => {
    setFlagsFromString('--max-semi-space-size=1');
    try {
      const r = await churn(threadHeap({}, {}), 64);
      // With the process flag leaking in, new space would be 2 × 1 MB.
      assert.ok(r.newSpace > 2 * 1024 * 1024, `new space ${r.newSpace} B`);
    } finally {
      setFlagsFromString('--max-semi-space-size=0');
    }
  });

  it('a thread started outside a pool (gen\'s day workers, DAG validation) gets its own young generation too', async () => {
    setFlagsFromString('--max-semi-space-size=1');
    try {
      const r = await churn(null, 64);
      assert.ok(r.newSpace > 2 * 1024 * 1024, `new space ${r.newSpace} B`);
    } finally {
      setFlagsFromString('--max-semi-space-size=0');
    }
  });

  it('dagctl starts every thread through startThread (no other `new Worker(` in its sources)', () => {
    const repo = fileURLToPath(new URL('../../../', import.meta.url));
    const found: string[] = [];
    const walk = (rel: string): void => {
      for (const e of readdirSync(join(repo, rel), { withFileTypes: true })) {
        const r = rel === '' ? e.name : `${rel}/${e.name}`;
        if (e.isDirectory()) {
          // Tests and benchmarks (their peers' raw threads) are not dagctl's runtime.
          if (!['node_modules', 'dist', 'test', 'bench', '.git', '.tmp'].includes(r) && !e.name.startsWith('.')) walk(r);
        } else if (r.endsWith('.ts') && r !== 'workers/threads/pool.ts' && /new Worker\(/.test(readFileSync(join(repo, r), 'utf8'))) found.push(r);
      }
    };
    walk('');
    assert.deepEqual(found, []);
  });
});
