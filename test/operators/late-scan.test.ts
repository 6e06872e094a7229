/**
 * lib/late-scan.ts and BloomFilter.hasBytes: the late-materializing scan returns exactly the rows
 * a full decode + filter returns (fast path on REQUIRED keys, PLAIN or dictionary-encoded, across
 * pages and row groups; fallback on nullable keys), and the byte-level probe agrees with the string probe
 * (BloomFilter and SplitBlockBloom); with an exact key set, only its members with their ids; column-scan's own PLAIN INT32/INT64 decoding == the values,
 * and numbersAt == numbers() at the rows asked for.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parquetWriteBuffer, type ColumnSource } from 'hyparquet-writer';
import { lateScanColumns, type LateScanOptions, type LateScanStats } from '../../operators/partial-recompute/late-scan.js';
import { BloomFilter } from '../../operators/lib/sketches/bloom.js';
import { SplitBlockBloom, murmur3x86_32 } from '../../operators/partial-recompute/split-bloom.js';
import { openColumnFile } from '../../storage/parquet/column-scan.js';
import { KernelKeys } from '../../storage/parquet/page-kernel.js';
import { createHyparquetCodec } from '../../storage/parquet/hyparquet.js';
import { isDagctlError } from '../../core/errors.js';
import type { Row } from '../../storage/types.js';

const enc = new TextEncoder();
const codec = createHyparquetCodec();

/** lateScanColumns' hits as `{ person, age, ts }` rows (what the oracle's decode gives). */
async function* lateScan(bytes: Uint8Array, o: LateScanOptions, stats: LateScanStats): AsyncIterable<Row[]> {
  for await (const h of lateScanColumns(bytes, o, stats)) {
    yield h.keys.map((person, i) => ({ [o.key]: person, ...Object.fromEntries(o.columns.map((c, j) => [c, h.values[j]![i]!])) }));
  }
}

async function collect(bytes: Uint8Array, keep: (s: string) => boolean, stats: LateScanStats, paged = false): Promise<Row[]> {
  const out: Row[] = [];
  const probe = (b: Uint8Array, s: number, l: number): boolean => keep(new TextDecoder('utf-8', { ignoreBOM: true }).decode(b.subarray(s, s + l)));
  // probePage: the same test a page at a time (as SplitBlockBloom.probeRanges).
  const probePage = (b: Uint8Array, st: Int32Array, ln: Int32Array, n: number, hits: Int32Array, at: number): number => {
    for (let i = 0; i < n; i++) if (probe(b, st[i]!, ln[i]!)) hits[at++] = i;
    return at;
  };
  for await (const rows of lateScan(bytes, { key: 'person', columns: ['age', 'ts'], probe, ...(paged ? { probePage } : {}), probeString: keep }, stats)) out.push(...rows);
  return out;
}

async function expected(bytes: Uint8Array, keep: (s: string) => boolean): Promise<Row[]> {
  const out: Row[] = [];
  for await (const b of codec.decode(bytes, { columns: ['person', 'age', 'ts'] })) for (const r of b) if (keep(r.person as string)) out.push({ person: r.person as string, age: r.age as number, ts: r.ts as number });
  return out;
}

const person = fc.oneof(fc.integer({ min: 0, max: 50 }).map((i) => `user:${i}`), fc.string({ maxLength: 6, unit: 'grapheme' }));
const rowArb = fc.record({ person, age: fc.integer({ min: 0, max: 120 }), ts: fc.integer({ min: -1e12, max: 1e12 }) }, { noNullPrototype: true });

describe('lib/late-scan', () => {
  it('== full decode + filter, over pages and row groups (fast-check)', async () => {
    await fc.assert(fc.asyncProperty(fc.array(rowArb, { maxLength: 60 }), fc.integer({ min: 1, max: 20 }), fc.integer({ min: 0, max: 200 }), fc.boolean(), fc.boolean(),
      async (rows, rowGroupSize, pageSize, nullable, dict) => {
        const bytes = new Uint8Array(parquetWriteBuffer({
          columnData: [
            { name: 'person', data: rows.map((r) => r.person), type: 'STRING', nullable, encoding: dict ? 'RLE_DICTIONARY' as const : 'PLAIN' as const },
            { name: 'age', data: Int32Array.from(rows.map((r) => r.age)), type: 'INT32', nullable: false },
            { name: 'ts', data: BigInt64Array.from(rows.map((r) => BigInt(r.ts))), type: 'INT64', nullable: false },
          ],
          codec: 'SNAPPY', rowGroupSize, ...(pageSize > 0 ? { pageSize } : {}),
        }));
        const keep = (s: string): boolean => s.length % 2 === 0;
        const stats: LateScanStats = { rows: 0, fastGroups: 0, slowGroups: 0 };
        const want = await expected(bytes, keep);
        assert.deepEqual(await collect(bytes, keep, stats), want);
        assert.deepEqual(await collect(bytes, keep, { rows: 0, fastGroups: 0, slowGroups: 0 }, true), want);
        assert.equal(stats.rows, rows.length);
        if (!nullable && rows.length > 0) assert.equal(stats.slowGroups, 0);
        if (nullable && rows.length > 0) assert.equal(stats.fastGroups, 0);
        // A split-block filter with `bloom` set: PLAIN pages through the page kernel.
        const f = SplitBlockBloom.forCapacity(Math.max(1, rows.length), 0.3);
        for (const r of rows) if (r.person.length % 2 === 0) f.add(r.person);
        const bs: LateScanStats = { rows: 0, fastGroups: 0, slowGroups: 0 };
        const got: Row[] = [];
        for await (const b of lateScan(bytes, { key: 'person', columns: ['age', 'ts'], probe: (x, s, l) => f.hasBytes(x, s, l), probeString: (s) => f.has(s), bloom: f.layout() }, bs)) got.push(...b);
        assert.deepEqual(got, await expected(bytes, (s) => f.has(s)));
        if (!nullable && rows.length > 0) assert.equal(bs.slowGroups, 0);
        // With `keys` (an exact set the filter pre-filters; other strings in the filter too): only
        // the members, with their ids, on every path (page kernel, JS pages, rows); the filter's
        // other passes counted as dropped.
        const members = [...new Set(rows.map((r) => r.person).filter((p) => p.length % 3 === 0))];
        const g = SplitBlockBloom.forCapacity(Math.max(1, rows.length), 0.3);
        for (const m of members) g.add(m);
        for (const r of rows) if (r.person.length % 2 === 0) g.add(r.person);
        const idOf = new Map(members.map((m, i) => [m, i]));
        const passes = await expected(bytes, (s) => g.has(s));
        for (const kernel of [KernelKeys.of(members)!, null]) {
          const ks: LateScanStats = { rows: 0, fastGroups: 0, slowGroups: 0 };
          const hits: Row[] = [];
          const probe = (x: Uint8Array, s: number, l: number): boolean => g.hasBytes(x, s, l);
          for await (const h of lateScanColumns(bytes, { key: 'person', columns: ['age', 'ts'], probe, probeString: (s) => g.has(s), bloom: g.layout(), keys: { kernel, idOf: (s) => idOf.get(s) ?? -1 } }, ks)) {
            assert.equal(h.keys.length, 0);
            assert.ok(h.ids !== undefined && h.ids.length === h.n);
            for (let i = 0; i < h.n; i++) hits.push({ person: members[h.ids[i]!]!, age: h.values[0]![i]!, ts: h.values[1]![i]! });
          }
          assert.deepEqual(hits, passes.filter((r) => idOf.has(r.person as string)));
          // The page kernel counts only the false positives it tested (past its prefilter).
          if (kernel === null || nullable || dict) assert.equal(ks.dropped ?? 0, passes.length - hits.length);
          else assert.ok((ks.dropped ?? 0) <= passes.length - hits.length);
        }
      }), { numRuns: 60 });
  });
});

describe('BloomFilter.hasBytes', () => {
  it('agrees with has() on the UTF-8 bytes of the same string (fast-check)', () => {
    fc.assert(fc.property(fc.array(fc.string({ unit: 'grapheme', maxLength: 40 }), { maxLength: 40 }), fc.array(fc.string({ unit: 'grapheme', maxLength: 300 }), { maxLength: 40 }), fc.nat(8),
      (added, probes, pad) => {
        const f = BloomFilter.forCapacity(Math.max(1, added.length), 0.2);
        for (const s of added) f.add(s);
        for (const s of [...added, ...probes]) {
          const b = enc.encode(s);
          const buf = new Uint8Array(pad + b.length + 3);
          buf.set(b, pad);
          assert.equal(f.hasBytes(buf, pad, b.length), f.has(s));
        }
        for (const s of added) assert.equal(f.hasBytes(enc.encode(s), 0, enc.encode(s).length), true);
      }), { numRuns: 100 });
  });
});

describe('SplitBlockBloom', () => {
  it('MurmurHash3 x86_32 reference values', () => {
    const h = (s: string): number => { const b = enc.encode(s); return murmur3x86_32(b, 0, b.length); };
    assert.equal(h(''), 0);
    assert.equal(h('hello'), 0x248bfa47);
    assert.equal(h('The quick brown fox jumps over the lazy dog'), 0x2e4ff723);
  });
  it('hasBytes agrees with has() on the UTF-8 bytes; no false negatives; survives serialization (fast-check)', () => {
    fc.assert(fc.property(fc.array(fc.string({ unit: 'grapheme', maxLength: 40 }), { maxLength: 60 }), fc.array(fc.string({ unit: 'grapheme', maxLength: 300 }), { maxLength: 40 }), fc.nat(8),
      (added, probes, pad) => {
        const f = SplitBlockBloom.forCapacity(Math.max(1, added.length), 0.2);
        for (const s of added) f.add(s);
        const g = SplitBlockBloom.deserialize(f.serialize());
        for (const s of [...added, ...probes]) {
          const b = enc.encode(s);
          const buf = new Uint8Array(pad + b.length + 3);
          buf.set(b, pad);
          assert.equal(f.hasBytes(buf, pad, b.length), f.has(s));
          assert.equal(g.has(s), f.has(s));
        }
        for (const s of added) assert.equal(f.has(s), true);
      }), { numRuns: 100 });
  });
  it('probeRanges == hasBytes value by value, over pages of values at any offsets (fast-check)', () => {
    fc.assert(fc.property(fc.array(fc.string({ unit: 'grapheme', maxLength: 12 }), { maxLength: 40 }), fc.array(fc.tuple(fc.string({ unit: 'grapheme', maxLength: 40 }), fc.nat(5)), { maxLength: 200 }), fc.integer({ min: 1, max: 3000 }), fc.nat(4),
      (added, values, capacity, at) => {
        // Few keys in a filter sized for `capacity` at a 30% rate: many hits and many misses, and
        // block counts that are not powers of two.
        const f = SplitBlockBloom.forCapacity(capacity, 0.3);
        for (const s of added) f.add(s);
        for (const [v] of values.slice(0, values.length >> 1)) f.add(v);
        const parts: number[] = [];
        const start = new Int32Array(values.length), len = new Int32Array(values.length);
        values.forEach(([v, gap], i) => {
          for (let k = 0; k < gap; k++) parts.push(0xff);
          const b = enc.encode(v);
          start[i] = parts.length;
          len[i] = b.length;
          parts.push(...b);
        });
        const bytes = Uint8Array.from(parts);
        const hits = new Int32Array(at + values.length).fill(-1);
        const end = f.probeRanges(bytes, start, len, values.length, hits, at);
        const want: number[] = [];
        for (let i = 0; i < values.length; i++) if (f.hasBytes(bytes, start[i]!, len[i]!)) want.push(i);
        assert.deepEqual([...hits.subarray(at, end)], want);
        assert.equal(end, at + want.length);
      }), { numRuns: 200 });
  });
  it('keeps its false-positive rate near the target', () => {
    const f = SplitBlockBloom.forCapacity(5000, 0.01);
    for (let i = 0; i < 5000; i++) f.add(`user:${i}`);
    let fp = 0;
    for (let i = 0; i < 100_000; i++) if (f.has(`other:${i}`)) fp++;
    assert.ok(fp / 100_000 < 0.02, `false-positive rate ${fp / 100_000}`);
  });
});

describe('column-scan numbers()', () => {
  it('decodes PLAIN INT32/INT64 itself, == hyparquet; refuses unsafe int64', async () => {
    const ints = [0, -1, 1, 2 ** 31 - 1, -(2 ** 31)];
    const longs = [0, -1, 2 ** 32, -(2 ** 32) - 5, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 1_700_000_000];
    const n = longs.length;
    const bytes = new Uint8Array(parquetWriteBuffer({
      columnData: [
        { name: 'a', data: Int32Array.from({ length: n }, (_, i) => ints[i % ints.length]!), type: 'INT32', nullable: false, encoding: 'PLAIN' },
        { name: 'b', data: BigInt64Array.from(longs.map((v) => BigInt(v))), type: 'INT64', nullable: false, encoding: 'PLAIN' },
      ],
      codec: 'SNAPPY', rowGroupSize: 4,
    }));
    const f = openColumnFile(bytes);
    const got: number[][] = [[], []];
    for (let g = 0; g < f.rowGroups.length; g++) {
      const c = await f.numbers(g, ['a', 'b']);
      got[0]!.push(...c.a!);
      got[1]!.push(...c.b!);
    }
    assert.deepEqual(got[0], Array.from({ length: n }, (_, i) => ints[i % ints.length]!));
    assert.deepEqual(got[1], longs);
    const bad = new Uint8Array(parquetWriteBuffer({ columnData: [{ name: 'b', data: BigInt64Array.from([1n, 2n ** 60n]), type: 'INT64', nullable: false, encoding: 'PLAIN' }], codec: 'SNAPPY' }));
    await assert.rejects(openColumnFile(bad).numbers(0, ['b']), (e: Error & { code?: string }) => e.code === 'PARQUET_INVALID');
    // numbersAt reads only the rows asked for: the unsafe value is refused only when asked.
    assert.deepEqual([...(await openColumnFile(bad).numbersAt(0, ['b'], Int32Array.from([0]), 1)).b!], [1]);
    await assert.rejects(openColumnFile(bad).numbersAt(0, ['b'], Int32Array.from([0, 1]), 2), (e: Error & { code?: string }) => e.code === 'PARQUET_INVALID');
  });

  it('numbersAt == numbers() gathered at ascending rows, over pages and row groups, PLAIN or not (fast-check)', async () => {
    const long = fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER });
    await fc.assert(fc.asyncProperty(fc.array(fc.tuple(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), long, fc.boolean()), { minLength: 1, maxLength: 80 }), fc.integer({ min: 1, max: 30 }), fc.integer({ min: 0, max: 100 }), fc.boolean(),
      async (rows, rowGroupSize, pageSize, dict) => {
        // dict: dictionary-encoded INT64 (numbers() asks hyparquet; numbersAt gathers from it).
        const bytes = new Uint8Array(parquetWriteBuffer({
          columnData: [
            { name: 'a', data: Int32Array.from(rows.map((r) => r[0])), type: 'INT32', nullable: false, encoding: 'PLAIN' },
            { name: 'b', data: BigInt64Array.from(rows.map((r) => BigInt(r[1]))), type: 'INT64', nullable: false, encoding: dict ? 'RLE_DICTIONARY' : 'PLAIN' },
          ],
          codec: 'SNAPPY', rowGroupSize, ...(pageSize > 0 ? { pageSize } : {}),
        }));
        const f = openColumnFile(bytes);
        for (let g = 0; g < f.rowGroups.length; g++) {
          const { rowStart, rows: n } = f.rowGroups[g]!;
          const pick: number[] = [];
          for (let r = 0; r < n; r++) if (rows[rowStart + r]![2]) pick.push(r);
          const all = await f.numbers(g, ['a', 'b']);
          const at = await f.numbersAt(g, ['a', 'b'], Int32Array.from(pick), pick.length);
          assert.deepEqual([...at.a!], pick.map((r) => all.a![r]!));
          assert.deepEqual([...at.b!], pick.map((r) => all.b![r]!));
          assert.deepEqual([...at.b!], pick.map((r) => rows[rowStart + r]![1]));
        }
      }), { numRuns: 80 });
  });

  it('a value that is not a number (null, TIMESTAMP, bytes) or a missing column: PARQUET_INVALID naming column, row group and row, never zeros', async () => {
    const n = 10, ts = Array.from({ length: n }, (_, i) => 1_438_912_800 + i * 60);
    const cols: Record<string, ColumnSource> = {
      nullable: { name: 't', type: 'INT64', nullable: true, data: ts.map((v, i) => (i === 3 ? null : BigInt(v))) },
      timestamp: { name: 't', type: 'TIMESTAMP', nullable: false, data: ts.map((v) => new Date(v * 1000)) },
      string: { name: 't', type: 'STRING', nullable: false, data: ts.map(String) },
    };
    for (const [what, col] of Object.entries(cols)) {
      const f = openColumnFile(new Uint8Array(parquetWriteBuffer({ columnData: [col] })));
      await assert.rejects(f.numbers(0, ['t']), (e) => isDagctlError(e, 'PARQUET_INVALID') && e.details.column === 't' && e.details.rowGroup === 0 && e.details.row === (what === 'nullable' ? 3 : 0), what);
      await assert.rejects(f.numbersAt(0, ['t'], Int32Array.from([0, 1]), 2), (e) => isDagctlError(e, 'PARQUET_INVALID'), what);
    }
    const f = openColumnFile(new Uint8Array(parquetWriteBuffer({ columnData: [{ name: 'u', type: 'DOUBLE', nullable: false, data: ts }] })));
    assert.deepEqual([...(await f.numbers(0, ['u'])).u!], ts);
    await assert.rejects(f.numbers(0, ['t']), (e) => isDagctlError(e, 'PARQUET_INVALID') && e.details.column === 't');
  });
});

/**
 * Page kernel scans in which the bad key (row 37) is a miss: a filter that passes nothing, and a
 * key set of one other person (its filter passes user:1 only).
 */
function kernelMisses(bytes: Uint8Array): Array<[string, Uint8Array, LateScanOptions]> {
  const nothing = SplitBlockBloom.forCapacity(10, 0.01);
  const one = SplitBlockBloom.forCapacity(10, 0.01);
  one.add('user:1');
  const is1 = (s: string): boolean => s === 'user:1';
  return [
    ['plain, page kernel, miss', bytes, { key: 'person', columns: ['age'], probe: (b, s, l) => nothing.hasBytes(b, s, l), probeString: (s) => nothing.has(s), bloom: nothing.layout() }],
    ['plain, page kernel key set, miss', bytes, {
      key: 'person', columns: ['age'], probe: (b, s, l) => one.hasBytes(b, s, l), probeString: is1, bloom: one.layout(),
      keys: { kernel: KernelKeys.of(['user:1']), idOf: (s) => (is1(s) ? 0 : -1) },
    }],
  ];
}

describe('lib/late-scan: strict UTF-8', () => {
  it('a key that is not UTF-8: PARQUET_INVALID_UTF8 naming column, row and row group (raw pages, dictionary pages, page kernel hits), not read silently', async () => {
    const BAD = new Uint8Array([0x75, 0x3a, 0xff, 0xfe]);
    const file = (dict: boolean): Uint8Array => new Uint8Array(parquetWriteBuffer({
      columnData: [
        { name: 'person', data: Array.from({ length: 50 }, (_, i) => (i === 37 ? BAD : `user:${dict ? i % 3 : i}`)), type: 'STRING', nullable: false, encoding: dict ? 'RLE_DICTIONARY' as const : 'PLAIN' as const },
        { name: 'age', data: Int32Array.from({ length: 50 }, (_, i) => i), type: 'INT32', nullable: false },
        { name: 'ts', data: BigInt64Array.from({ length: 50 }, (_, i) => BigInt(i)), type: 'INT64', nullable: false },
      ],
      codec: 'SNAPPY', rowGroupSize: 20,
    }));
    const none = (): boolean => false;
    const every = new SplitBlockBloom(4, new Uint32Array(4 * 8).fill(0xffffffff)); // passes every value
    const cases: Array<[string, Uint8Array, LateScanOptions]> = [
      ['plain, no hit', file(false), { key: 'person', columns: ['age'], probe: none, probeString: none }],
      ['dictionary, no hit', file(true), { key: 'person', columns: ['age'], probe: none, probeString: none }],
      ['dictionary, filter', file(true), { key: 'person', columns: ['age'], probe: (b, s, l) => every.hasBytes(b, s, l), probeString: (s) => every.has(s), bloom: every.layout() }],
      ['plain, page kernel hit', file(false), { key: 'person', columns: ['age'], probe: (b, s, l) => every.hasBytes(b, s, l), probeString: (s) => every.has(s), bloom: every.layout() }],
      ...kernelMisses(file(false)),
    ];
    for (const [what, bytes, o] of cases) {
      await assert.rejects(async () => { for await (const h of lateScanColumns(bytes, o)) void h; }, (e) => {
        assert.ok(isDagctlError(e, 'PARQUET_INVALID_UTF8'), `${what}: ${String(e)}`);
        assert.deepEqual([e.details.column, e.details.row, e.details.rowGroup], ['person', 37, 1], what);
        return true;
      }, what);
    }
  });

  it('a key ending in a truncated sequence that the next value\'s length prefix would complete (0xC3, then 133 bytes: 0x85) is not UTF-8, on every path', async () => {
    const cut = new Uint8Array([0x75, 0x3a, 0xc3]);
    const bytes = new Uint8Array(parquetWriteBuffer({
      columnData: [
        { name: 'person', data: Array.from({ length: 50 }, (_, i) => (i === 37 ? cut : i === 38 ? 'x'.repeat(133) : `user:${i}`)), type: 'STRING', nullable: false, encoding: 'PLAIN' },
        { name: 'age', data: Int32Array.from({ length: 50 }, (_, i) => i), type: 'INT32', nullable: false },
      ],
      codec: 'SNAPPY', rowGroupSize: 20,
    }));
    const none = (): boolean => false;
    const cases: Array<[string, Uint8Array, LateScanOptions]> = [['plain, no hit', bytes, { key: 'person', columns: ['age'], probe: none, probeString: none }], ...kernelMisses(bytes)];
    for (const [what, b, o] of cases) {
      await assert.rejects(async () => { for await (const h of lateScanColumns(b, o)) void h; }, (e) => {
        assert.ok(isDagctlError(e, 'PARQUET_INVALID_UTF8'), `${what}: ${String(e)}`);
        assert.deepEqual([e.details.column, e.details.row, e.details.rowGroup, e.details.bytes], ['person', 37, 1, '753ac3'], what);
        return true;
      }, what);
    }
  });
});
