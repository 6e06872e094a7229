/**
 * equiv-components through the harness against a plain union-find oracle (./components-oracle.ts, not
 * lib/union-find.ts): long chains, stars, many tiny components, self-loops, duplicate edges, and
 * fast-check properties (random graphs; long chains and stars over many rounds, with the rounds'
 * broadcast stars) that the partition of identifiers equals the oracle's — with 'local' on
 * rows, on Parquet pages through the WebAssembly kernel, and on pages through the JS kernel.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { equivComponents } from '../../operators/equiv-components/equiv-components.js';
import { runOperator } from './harness.js';
import { componentMinsOracle as oracle } from './components-oracle.js';
import type { Row, Schema } from '../../storage/types.js';


/** The equivs' Parquet schema: REQUIRED strings, so 'local' reads the ids from PLAIN pages. */
const EQUIV_SCHEMA: Schema = [{ name: 'id1', type: 'string' }, { name: 'id2', type: 'string' }, { name: 'ts', type: 'int64' }];

/**
 * Runs the operator; `pages`: give the input as Parquet files (one per partition) so that 'local'
 * reads the ids' bytes from the pages (checked through its fromPages metric), else as rows only.
 */
async function run(edges: Array<[string, string]>, parts: number, buckets: number, pages = false, kernel: 'wasm' | 'js' = 'wasm'): Promise<{ got: Map<string, string>; rounds: number; metrics: Record<string, number> }> {
  const partitions: Record<string, Row[]> = {};
  edges.forEach(([a, b], i) => { (partitions[`d${String(i % parts).padStart(3, '0')}`] ??= []).push({ id1: a, id2: b, ts: i }); });
  const r = await runOperator(equivComponents, { kernel }, { inputs: [pages ? { partitions, schema: EQUIV_SCHEMA } : { partitions }], buckets, batchSize: 500 });
  if (edges.length > 0) {
    assert.equal(r.metrics.fromPages ?? 0, pages ? Object.keys(partitions).length : 0, 'fromPages');
    // Pages go to the WebAssembly kernel unless the JS one is asked for (ids here are valid UTF-8).
    assert.equal(r.metrics.wasm ?? 0, pages && kernel === 'wasm' ? Object.keys(partitions).length : 0, 'wasm');
    // Propagate rounds and emit read their (small) edge chunks on the WebAssembly kernel too.
    assert.equal(r.metrics.wasmChunks ?? 0, kernel === 'wasm' ? buckets * ((r.metrics.rounds ?? 0) + 1) : 0, 'wasmChunks');
  }
  const got = new Map<string, string>();
  for (const row of r.outputs[0]!.rows) {
    assert.ok(!got.has(row.id as string), `duplicate id ${String(row.id)}`);
    got.set(row.id as string, row.person as string);
  }
  return { got, rounds: r.metrics.rounds ?? -1, metrics: r.metrics };
}

const pad = (i: number): string => `user:${String(i).padStart(5, '0')}`;
function shuffled<T>(xs: T[], seed: number): T[] {
  const a = [...xs];
  let s = seed;
  for (let i = a.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const j = s % (i + 1);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

describe('operators/equiv-components/equiv-components', () => {
  it('a 10k-long path spread over 16 partitions and 8 buckets converges to one component', async () => {
    const edges: Array<[string, string]> = [];
    for (let i = 0; i < 10_000; i++) edges.push(i % 2 === 0 ? [pad(i), pad(i + 1)] : [pad(i + 1), pad(i)]);
    const { got, rounds, metrics } = await run(shuffled(edges, 7), 16, 8, true);
    assert.equal(got.size, 10_001);
    for (const v of got.values()) assert.equal(v, pad(0));
    assert.ok(rounds >= 1 && rounds < 64, `rounds=${rounds}`);
    // Rounds broadcast the stars around their changes (blob 'dirty'), and the next rounds join them.
    assert.ok((metrics.broadcastOut ?? 0) > 0 && (metrics.broadcastIn ?? 0) > 0, JSON.stringify(metrics));
  });

  it('one bucket sends no broadcast stars (its own edges hold them all)', async () => {
    const edges: Array<[string, string]> = [];
    for (let i = 0; i < 2000; i++) edges.push(i % 2 === 0 ? [pad(i), pad(i + 1)] : [pad(i + 1), pad(i)]);
    const { got, rounds, metrics } = await run(shuffled(edges, 5), 8, 1, true);
    assert.deepEqual(new Map([...got].sort()), new Map([...oracle(edges)].sort()));
    assert.ok(rounds >= 1, `rounds=${rounds}`);
    assert.equal(metrics.broadcastOut ?? 0, 0);
    assert.equal(metrics.broadcastIn ?? 0, 0);
  });

  it('stars, many tiny components, self-loops and duplicate edges', async () => {
    const edges: Array<[string, string]> = [];
    for (let i = 1; i <= 500; i++) edges.push([`email:hub`, `cookie:${i.toString(16)}`]);
    for (let i = 0; i < 1000; i++) edges.push([`user:a${i}`, `user:b${i}`], [`user:b${i}`, `user:a${i}`]);
    for (let i = 0; i < 50; i++) edges.push([`ip:10.0.0.${i}`, `ip:10.0.0.${i}`]);
    edges.push(['email:hub', 'email:hub']);
    const { got } = await run(shuffled(edges, 3), 5, 4);
    assert.deepEqual(new Map([...got].sort()), new Map([...oracle(edges)].sort()));
    assert.equal(got.get('ip:10.0.0.7'), 'ip:10.0.0.7');
    assert.equal(got.get('cookie:1f4'), 'cookie:1');
  });

  it('stars and self-loops read from Parquet pages', async () => {
    const edges: Array<[string, string]> = [];
    for (let i = 1; i <= 300; i++) edges.push([`email:hub`, `cookie:${i.toString(16)}`]);
    for (let i = 0; i < 40; i++) edges.push([`ip:10.0.0.${i}`, `ip:10.0.0.${i}`]);
    const { got } = await run(shuffled(edges, 5), 3, 4, true);
    assert.deepEqual(new Map([...got].sort()), new Map([...oracle(edges)].sort()));
  });

  it('JS string order on non-ASCII ids: supplementary characters sort before U+E000–U+FFFF', async () => {
    // UTF-8 byte order would pick 'x\uFFFD' (EF BF BD) / 'x\uE000' over 'x😀' (F0 9F 98 80).
    const edges: Array<[string, string]> = [['x\u{1F600}', 'x\uFFFD'], ['x\uE000', 'x\u{1F600}'], ['é', 'e\u0301'], ['y\uFFFF', 'y\u{10000}'], ['zä', 'z\u{20000}']];
    for (const [pages, kernel] of [[false, 'js'], [true, 'js'], [true, 'wasm']] as const) {
      const { got } = await run(edges, 2, 3, pages, kernel);
      assert.deepEqual(new Map([...got].sort()), new Map([...oracle(edges)].sort()));
      assert.equal(got.get('x\uE000'), 'x\u{1F600}');
    }
  });

  it('a big bucket (one bucket, 150k random edges: several kernel flushes per stage, chunks over the old 4 MiB limit) equals the oracle', async function () {
    this.timeout(120_000);
    let s = 11;
    const rnd = (k: number): number => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s % k; };
    const edges: Array<[string, string]> = [];
    for (let i = 0; i < 150_000; i++) edges.push([`cookie:${rnd(120_000).toString(16).padStart(16, '0')}`, `user:${1_000_000 + rnd(90_000)}`]);
    const { got } = await run(edges, 4, 1, true);
    const want = oracle(edges);
    assert.equal(got.size, want.size);
    for (const [id, person] of want) assert.equal(got.get(id), person, id);
  });

  it('long chains and stars over many rounds, with and without broadcast stars, equal union-find (fast-check)', async () => {
    // Chains of up to 400 ids (several rounds), stars around a hub, and isolated pairs, in random
    // order over partitions and buckets: the rounds' changed sets grow, shrink and empty early.
    let broadcastRuns = 0;
    await fc.assert(fc.asyncProperty(
      fc.array(fc.integer({ min: 2, max: 400 }), { minLength: 1, maxLength: 4 }), fc.integer({ min: 0, max: 60 }), fc.integer({ min: 0, max: 30 }),
      fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 1 << 30 }), fc.constantFrom('wasm' as const, 'js' as const),
      async (chains, star, pairs, parts, buckets, seed, kernel) => {
        const edges: Array<[string, string]> = [];
        chains.forEach((len, c) => {
          const ids = shuffled(Array.from({ length: len }, (_, i) => `c${c}:${i}`), seed + c);
          for (let i = 1; i < len; i++) edges.push(i % 3 === 0 ? [ids[i]!, ids[i - 1]!] : [ids[i - 1]!, ids[i]!]);
        });
        for (let i = 0; i < star; i++) edges.push([`hub`, `s${(i * 7919) % 1000}`]);
        for (let i = 0; i < pairs; i++) edges.push([`p${i}a`, `p${i}b`]);
        const { got, metrics } = await run(shuffled(edges, seed), parts, buckets, true, kernel);
        assert.deepEqual(new Map([...got].sort()), new Map([...oracle(edges)].sort()));
        if (kernel === 'js') assert.equal(metrics.broadcastIn ?? 0, 0);
        if ((metrics.broadcastIn ?? 0) > 0) broadcastRuns++;
      }), { numRuns: 60 });
    assert.ok(broadcastRuns > 0, 'no run joined broadcast stars');
  });

  it('partition equals union-find for random graphs, partitionings and buckets (fast-check)', async () => {
    const chars = ['a', 'b', 'Z', '0', 'é', '\u00ff', '\u4e2d', '\uE000', '\uFFFD', '\u{1F600}', '\u{10000}'];
    const node = fc.oneof(fc.integer({ min: 0, max: 40 }).map((i) => `n${i}`), fc.array(fc.constantFrom(...chars), { minLength: 1, maxLength: 3 }).map((cs) => cs.join('')));
    await fc.assert(fc.asyncProperty(
      fc.array(fc.tuple(node, node), { maxLength: 60 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 7 }), fc.boolean(), fc.constantFrom('wasm' as const, 'js' as const),
      async (edges, parts, buckets, pages, kernel) => {
        const { got } = await run(edges, parts, buckets, pages, kernel);
        assert.deepEqual(new Map([...got].sort()), new Map([...oracle(edges)].sort()));
      }), { numRuns: 150 });
  });
});
