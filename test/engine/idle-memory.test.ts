/**
 * Idle memory by operator (core/idle-memory.ts): which holders an instance makes drop (pure), the
 * registry, the task runner dropping other operators' idle memory before an instance runs, and the
 * components kernel (operators/equiv-components/wasm-components.ts): kept for equiv-components'
 * next instance, let go for another operator's, and a fresh kernel after the drop labels a graph
 * exactly as union-find (the oracle) does.
 */
import assert from 'node:assert/strict';
import { dropIdleMemoryExcept, idleToDrop, registerIdleMemory } from '../../core/idle-memory.js';
import { WasmEdgeComponents } from '../../operators/equiv-components/wasm-components.js';
import type { InstanceJob } from '../../scheduler/jobs.js';
import type { PlannedInstance } from '../../scheduler/model.js';
import type { RunRecord } from '../../scheduler/ports.js';
import { runInstance } from '../../workers/task-runner.js';
import { noopTask } from '../helpers/dags.js';
import { componentMinsOracle } from '../operators/components-oracle.js';
import { plainPage } from '../helpers/pages.js';

/** The kernel's labels of `edges` (id → its component's smallest id), and the memory it ran in. */
function label(edges: Array<[string, string]>): { labels: Map<string, string>; memory: WebAssembly.Memory } {
  const uf = new WasmEdgeComponents(edges.length);
  try {
    assert.ok(uf.addPages([plainPage(edges.map(([a]) => a))], [plainPage(edges.map(([, b]) => b))]) !== null);
    uf.finish();
    const mins = uf.componentMins();
    const labels = new Map<string, string>();
    for (let i = 0; i < uf.count; i++) labels.set(uf.name(i), uf.name(mins[i]!));
    return { labels, memory: uf.kernel().memory };
  } finally {
    uf.release();
  }
}

const sorted = (m: Map<string, string>): Array<[string, string]> => [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

function graph(n: number, seed: number): Array<[string, string]> {
  let s = seed;
  const rnd = (k: number): number => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s % k; };
  return Array.from({ length: n }, () => [`user:${rnd(n)}`, `person-${rnd(n)}`]);
}

describe('idle memory by operator', () => {
  it('an instance drops the idle memory of every other operator that holds some, never its own (pure)', () => {
    const held = [
      { operator: 'equiv-components', bytes: 30 << 20 },
      { operator: 'rollup', bytes: 1 << 20 },
      { operator: 'dedupe', bytes: 0 },
      { operator: 'rollup', bytes: 0 },
    ];
    assert.deepEqual(idleToDrop('rollup', held), [0]);
    assert.deepEqual(idleToDrop('equiv-components', held), [1]);
    assert.deepEqual(idleToDrop('normalize', held), [0, 1]);
    assert.deepEqual(idleToDrop('normalize', []), []);
  });

  it('dropIdleMemoryExcept calls drop on the other operators\' holders and reports their bytes; unregistered holders are left alone', () => {
    // Other tests may leave idle memory (the components kernel): let it go first.
    dropIdleMemoryExcept('none');
    const dropped: string[] = [];
    const holder = (operator: string, bytes: number): (() => void) => registerIdleMemory({ operator, bytes: () => bytes, drop: () => dropped.push(operator) });
    const un = [holder('test-a', 100), holder('test-b', 20), holder('test-c', 0)];
    try {
      assert.equal(dropIdleMemoryExcept('test-a'), 20);
      assert.deepEqual(dropped, ['test-b']);
      un[1]!();
      dropped.length = 0;
      assert.equal(dropIdleMemoryExcept('test-c'), 100);
      assert.deepEqual(dropped, ['test-a']);
    } finally {
      for (const u of un) u();
    }
  });

  it('the task runner drops other operators\' idle memory before an instance runs, and keeps its own operator\'s', async () => {
    const dropped: string[] = [];
    const un = [
      registerIdleMemory({ operator: 'equiv-components-test', bytes: () => 1 << 20, drop: () => dropped.push('equiv-components-test') }),
      registerIdleMemory({ operator: 'noop', bytes: () => 1 << 20, drop: () => dropped.push('noop') }),
    ];
    try {
      const inst: PlannedInstance = { id: 'n.work', task: 'n', operator: 'noop', kind: 'work', stage: 'run', stageIndex: 0, round: 1, rounds: 1, partition: '', bucket: -1, buckets: 1, deps: [], inputBytes: 0, inputRows: 0, predictedMs: 0, overheadMs: 0, workMs: 0, costSource: 'default' };
      const record: RunRecord = {
        runId: 'idle-1', dag: { name: 'idle', params: {}, datasets: {}, tasks: [noopTask('n')], sourceHash: 'h', sourceFile: 'idle.yaml' },
        dagText: '', dagHash: 'h', plan: [inst], sources: {}, createdAt: 1, options: { force: false, params: {}, executor: 'embedded' },
      };
      const job: InstanceJob = { runId: record.runId, instanceId: inst.id, attempt: 1, inputs: [], prior: [], stages: {}, timeoutMs: 60_000, force: false };
      const result = await runInstance(record, job, { signal: new AbortController().signal, worker: 'test' });
      assert.equal(result.memoized, false);
      assert.deepEqual(dropped, ['equiv-components-test']);
    } finally {
      for (const u of un) u();
    }
  });

  it('components kernel: kept for the next equiv-components instance, let go for another operator\'s; the fresh kernel labels as union-find', () => {
    const g1 = graph(20_000, 3), g2 = graph(20_000, 5);
    const first = label(g1);
    assert.deepEqual(sorted(first.labels), sorted(componentMinsOracle(g1)));
    // Its own operator keeps the idle kernel: the next instance reuses its memory.
    assert.equal(dropIdleMemoryExcept('equiv-components'), 0);
    const second = label(g2);
    assert.equal(second.memory, first.memory);
    // Another operator's instance lets it go (its memory's size reported), and nothing is left to drop.
    assert.equal(dropIdleMemoryExcept('rollup'), first.memory.buffer.byteLength);
    assert.equal(dropIdleMemoryExcept('rollup'), 0);
    const third = label(g2);
    assert.notEqual(third.memory, first.memory);
    assert.deepEqual(sorted(third.labels), sorted(componentMinsOracle(g2)));
    assert.deepEqual(sorted(third.labels), sorted(second.labels));
  });
});
