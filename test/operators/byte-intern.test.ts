/**
 * lib/byte-intern.ts, lib/byte-components.ts, lib/edge-chunks.ts and storage/parquet/
 * string-column.ts against independent oracles: equal ints iff equal strings (a Map over the
 * well-formed strings; fast-check, several flushes, bytes and JS strings mixed), names and JS
 * string order (UTF-16 code units: supplementary characters before U+E000–U+FFFF) recovered from
 * the bytes, ill-formed input canonicalized (invalid UTF-8, lone surrogates → U+FFFD), hash
 * collisions forced by test-only hashes (constant, 2-bit), components equal to a plain union-find
 * oracle, edge chunks round-tripping, and Parquet pages (PLAIN and dictionary, two codecs, several
 * pages) equal to the row decoder's values.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ByteInterner } from '../../operators/lib/columnar/byte-intern.js';
import { addPageEdges, ByteEdgeComponents } from '../../operators/equiv-components/byte-components.js';
import { EdgeChunkWriter, readEdgeChunk } from '../../operators/equiv-components/edge-chunks.js';
import { componentMinsOracle as oracle } from './components-oracle.js';
import { fnvWords, type WordHash } from '../../operators/lib/columnar/word-hash.js';
import { openColumnFile } from '../../storage/parquet/column-scan.js';
import type { ByteArrayPage } from '../../storage/parquet/page-types.js';
import { stringColumnPages } from '../../storage/parquet/string-column.js';
import { getCodec } from '../../storage/parquet/registry.js';
import type { Row, Schema } from '../../storage/types.js';

const tricky = ['a', 'ab', 'abc', 'abcd', 'abcde', 'abc\u0000', '\u0000', 'é', 'e\u0301', '日本', '\ud83d\ude00', '\u{10000}', '\uE000', '\uFFFD', '\uffff', 'user:1', 'user:10', 'user:1\u0000', 'x\u{1F600}', 'x\uFFFD', 'x\uE000'];
/** What a UTF-8 round trip makes of s (lone surrogates → U+FFFD), the interner's canonical form. */
const wellFormed = (s: string): string => Buffer.from(s, 'utf8').toString('utf8');

/** Stages xs (as bytes or as JS strings, alternately per `asBytes`) in flushes split at cuts. */
function check(xs: string[], cuts: number[], asBytes: boolean[], hash?: WordHash, capacity = 4): ByteInterner {
  const it = new ByteInterner(capacity, 4, hash);
  const byString = new Map<string, number>();
  const byId = new Map<number, string>();
  const bounds = [...new Set([0, ...cuts.map((c) => c % (xs.length + 1)), xs.length])].sort((a, b) => a - b);
  for (let k = 0; k + 1 < bounds.length; k++) {
    const part = xs.slice(bounds[k], bounds[k + 1]);
    part.forEach((s, i) => {
      // Bytes at an odd offset of a larger buffer: staging must not assume alignment.
      const b = Buffer.concat([Buffer.from('~'), Buffer.from(s, 'utf8'), Buffer.from('~')]);
      const seq = asBytes[(bounds[k]! + i) % Math.max(1, asBytes.length)] === true ? it.stage(b, 1, b.length - 2) : it.stageString(s);
      assert.equal(seq, i);
    });
    const out = new Int32Array(part.length);
    it.flush(out);
    part.forEach((raw, i) => {
      const s = wellFormed(raw);
      const id = out[i]!;
      const seen = byString.get(s);
      if (seen === undefined) {
        assert.equal(byId.get(id), undefined, `int ${id} given to ${JSON.stringify(byId.get(id))} and ${JSON.stringify(s)}`);
        byString.set(s, id);
        byId.set(id, s);
      } else assert.equal(id, seen, `${JSON.stringify(s)} got two ints`);
    });
  }
  assert.equal(it.size, byString.size);
  for (let i = 0; i < it.size; i++) {
    assert.equal(it.name(i), byId.get(i), `name(${i})`);
    assert.equal(it.byteLength(i), Buffer.byteLength(byId.get(i)!));
  }
  return it;
}

const strings = fc.array(fc.oneof(fc.string({ maxLength: 9, unit: 'binary' }), fc.constantFrom(...tricky), fc.string({ maxLength: 30, unit: 'grapheme' })), { maxLength: 200 });

describe('lib/byte-intern', () => {
  it('equal ints iff equal (well-formed) strings, bytes and JS strings mixed, across flushes (fast-check)', () => {
    fc.assert(fc.property(strings, fc.array(fc.nat(), { maxLength: 4 }), fc.array(fc.boolean(), { minLength: 1, maxLength: 5 }), (xs, cuts, asBytes) => {
      check(xs, cuts, asBytes);
      check(xs, cuts, asBytes, undefined, 70_000);
    }), { numRuns: 200 });
  });

  it('less(i, j) is JS string order on the bytes (supplementary vs U+E000–U+FFFF)', () => {
    fc.assert(fc.property(fc.array(fc.oneof(fc.string({ maxLength: 6, unit: 'binary' }), fc.constantFrom(...tricky)), { minLength: 1, maxLength: 50 }), (xs) => {
      const it = check(xs, [], [true, false]);
      for (let i = 0; i < it.size; i++) for (let j = 0; j < it.size; j++) assert.equal(it.less(i, j), it.name(i) < it.name(j), `${JSON.stringify(it.name(i))} < ${JSON.stringify(it.name(j))}`);
    }), { numRuns: 200 });
    const it = check(['x\u{1F600}', 'x\uFFFD', 'x\uE000', 'x\uD7FF'], [], [true]);
    const id = new Map(Array.from({ length: it.size }, (_, i) => [it.name(i), i]));
    const [emoji, fffd, e000, d7ff] = ['x\u{1F600}', 'x\uFFFD', 'x\uE000', 'x\uD7FF'].map((s) => id.get(s)!) as [number, number, number, number];
    assert.ok(it.less(emoji, fffd) && it.less(emoji, e000) && !it.less(fffd, emoji) && !it.less(e000, emoji) && it.less(d7ff, emoji));
  });

  it('forced collisions (constant and 2-bit hashes) still give exact ints', () => {
    const constant: WordHash = () => 0x5bd1e995;
    const twoBits: WordHash = (w, n, len) => fnvWords(w, n, len) & 0xc0000003;
    fc.assert(fc.property(strings, fc.array(fc.nat(), { maxLength: 3 }), (xs, cuts) => {
      check(xs, cuts, [true, false], constant, 70_000);
      check(xs, cuts, [false, true], twoBits);
    }), { numRuns: 100 });
  });

  it('the inlined hash is fnvWords: a wrapped fnvWords gives the same hashOf', () => {
    const xs = [...tricky, 'user:12345', 'cookie:abcdef', ''];
    const a = check(xs, [], [true]), b = check(xs, [], [true], (w, n, len) => fnvWords(w, n, len));
    const hashes = (it: ByteInterner): Map<string, number> => new Map(Array.from({ length: it.size }, (_, i) => [it.name(i), it.hashOf(i)]));
    assert.deepEqual(hashes(a), hashes(b));
  });

  it('invalid UTF-8 and lone surrogates intern as their U+FFFD forms', () => {
    const it = new ByteInterner();
    it.stage(new Uint8Array([0x61, 0xff, 0x62]), 0, 3);
    it.stageString('a\uFFFDb');
    it.stageString('a\ud800b');
    it.stage(new Uint8Array([0xed, 0xa0, 0x80]), 0, 3); // an encoded surrogate is not UTF-8
    const out = new Int32Array(4);
    it.flush(out);
    assert.equal(out[0], out[1]);
    assert.equal(out[1], out[2]);
    assert.equal(it.name(out[0]!), 'a\uFFFDb');
    assert.equal(it.name(out[3]!), Buffer.from([0xed, 0xa0, 0x80]).toString('utf8'));
  });
});


describe('lib/byte-components', () => {
  it('labels equal a union-find oracle across small flushes and forced collisions (fast-check)', () => {
    const node = fc.oneof(fc.integer({ min: 0, max: 30 }).map((i) => `n${i}`), fc.constantFrom(...tricky));
    fc.assert(fc.property(fc.array(fc.tuple(node, node), { maxLength: 80 }), fc.integer({ min: 2, max: 9 }), fc.boolean(), (edges, flushEvery, collide) => {
      const c = new ByteEdgeComponents(4, null, { flushEvery, record: true, ...(collide ? { hash: () => 7 } : {}) });
      edges.forEach(([a, b], i) => {
        if (i % 2 === 0) c.addStrings(a, b);
        else {
          const ab = Buffer.from(a), bb = Buffer.from(b);
          c.add(ab, 0, ab.length, bb, 0, bb.length);
        }
      });
      c.finish();
      const mins = c.componentMins();
      const got = new Map(Array.from({ length: c.count }, (_, i) => [c.name(i), c.name(mins[i]!)]));
      assert.deepEqual(new Map([...got].sort()), new Map([...oracle(edges)].sort()));
      const list = c.edgeList();
      assert.equal(list.length, 2 * edges.length);
      edges.forEach(([a, b], i) => { assert.equal(c.name(list[2 * i]!), a); assert.equal(c.name(list[2 * i + 1]!), b); });
    }), { numRuns: 200 });
  });
});

/** Values as PLAIN-like pages split at `cuts` (each page its own buffer). */
function pagesOf(values: string[], cuts: number[]): ByteArrayPage[] {
  const bounds = [...new Set([0, ...cuts.map((c) => c % (values.length + 1)), values.length])].sort((a, b) => a - b);
  const pages: ByteArrayPage[] = [];
  for (let k = 0; k + 1 < bounds.length; k++) {
    const vs = values.slice(bounds[k], bounds[k + 1]).map((v) => Buffer.from(v));
    const data = new Uint8Array(vs.reduce((n, v) => n + v.length + 3, 0));
    const start = new Int32Array(vs.length), len = new Int32Array(vs.length);
    let at = 3;
    vs.forEach((v, i) => { data.set(v, at); start[i] = at; len[i] = v.length; at += v.length + 3; });
    pages.push({ data, start, len, count: vs.length });
  }
  return pages;
}

describe('lib/byte-components addPageEdges', () => {
  it('walks two columns whose pages break at different rows; empty ids are invalid (fast-check)', () => {
    const id = fc.oneof(fc.constant(''), fc.integer({ min: 0, max: 20 }).map((i) => `n${i}`));
    fc.assert(fc.property(fc.array(fc.tuple(id, id), { maxLength: 60 }), fc.array(fc.nat(), { maxLength: 5 }), fc.array(fc.nat(), { maxLength: 5 }), (edges, ca, cb) => {
      const c = new ByteEdgeComponents(4, null, { record: true });
      const r = addPageEdges(c, pagesOf(edges.map((e) => e[0]), ca), pagesOf(edges.map((e) => e[1]), cb));
      c.finish();
      const valid = edges.filter(([a, b]) => a !== '' && b !== '');
      assert.deepEqual(r, { edges: valid.length, invalid: edges.length - valid.length });
      const list = c.edgeList();
      assert.deepEqual(Array.from({ length: list.length / 2 }, (_, i) => [c.name(list[2 * i]!), c.name(list[2 * i + 1]!)]), valid);
    }), { numRuns: 200 });
    assert.throws(() => addPageEdges(new ByteEdgeComponents(), pagesOf(['a', 'b'], []), pagesOf(['a'], [])), /differ in length/);
  });
});

describe('lib/edge-chunks', () => {
  it('edges round-trip through chunks, split into rows per bucket', async () => {
    const it = new ByteInterner();
    const xs = [...tricky, 'user:'.repeat(40)];
    xs.forEach((s) => it.stageString(s));
    const ids = new Int32Array(xs.length);
    it.flush(ids);
    const written: Array<{ bucket: number; rows: Row[] }> = [];
    const w = new EdgeChunkWriter({ buckets: 3, write: async (bucket, rows) => { written.push({ bucket, rows }); } }, 64);
    const sent: Array<[number, string, string]> = [];
    for (let k = 0; k < 200; k++) {
      const a = ids[k % xs.length]!, b = ids[(k * 7) % xs.length]!, bucket = k % 3;
      sent.push([bucket, it.name(a), it.name(b)]);
      if (w.push(bucket, it, a, b)) await w.drain();
    }
    await w.flush();
    assert.ok(written.length > 3, 'small chunks: several rows');
    const got: Array<[number, string, string]> = [];
    for (const { bucket, rows } of written) for (const r of rows) readEdgeChunk(r.edges, (buf, ao, al, bo, bl) => got.push([bucket, Buffer.from(buf.subarray(ao, ao + al)).toString(), Buffer.from(buf.subarray(bo, bo + bl)).toString()]));
    const key = (e: [number, string, string]): string => JSON.stringify(e);
    assert.deepEqual(got.map(key).sort(), sent.map(key).sort());
    // Order within a bucket is preserved.
    for (let b = 0; b < 3; b++) assert.deepEqual(got.filter((e) => e[0] === b).map(key), sent.filter((e) => e[0] === b).map(key));
    assert.throws(() => readEdgeChunk(new Uint8Array([5, 0, 0, 0, 1]), () => undefined), /SHUFFLE_INVALID|truncated/);
  });
});

describe('storage/parquet/string-column', () => {
  const schema: Schema = [{ name: 'id1', type: 'string' }, { name: 'id2', type: 'string' }];
  for (const codecName of ['flat', 'hyparquet']) {
    it(`pages equal the row decoder's values: PLAIN and dictionary, several pages and row groups (${codecName})`, async () => {
      const codec = getCodec(codecName);
      const cases: Row[][] = [
        Array.from({ length: 3000 }, (_, i) => ({ id1: `u${i}`, id2: `v${i % 7}` })), // id2 repeats: dictionary
        Array.from({ length: 50 }, (_, i) => ({ id1: tricky[i % tricky.length]!, id2: 'x'.repeat(i) })),
        Array.from({ length: 70_000 }, (_, i) => ({ id1: `cookie:${(i * 2654435761 >>> 0).toString(16)}`, id2: `user:${i % 1000}` })),
        // Wide dictionary indices (13 bits, id2): bit-packed values straddling three bytes.
        Array.from({ length: 70_000 }, (_, i) => ({ id1: `e${(i * 7919) % 30_000}`, id2: `w${Math.floor(i / 3) % 5000}` })),
      ];
      for (const rows of cases) {
        const bytes = await codec.encode(schema, rows);
        const f = openColumnFile(bytes);
        for (const col of ['id1', 'id2']) {
          const got: string[] = [];
          for (let rg = 0; rg < f.rowGroups.length; rg++) {
            const pages = stringColumnPages(f, bytes, rg, col);
            assert.notEqual(pages, null, `${codecName} ${col}`);
            for (const p of pages!) for (let i = 0; i < p.count; i++) got.push(Buffer.from(p.data.subarray(p.start[i], p.start[i]! + p.len[i]!)).toString());
          }
          assert.deepEqual(got, rows.map((r) => r[col]));
        }
        // And as edges: the labels of the file equal the oracle's.
        const c = new ByteEdgeComponents();
        for (let rg = 0; rg < f.rowGroups.length; rg++) addPageEdges(c, stringColumnPages(f, bytes, rg, 'id1')!, stringColumnPages(f, bytes, rg, 'id2')!);
        c.finish();
        const mins = c.componentMins();
        const edges = rows.map((r): [string, string] => [r.id1 as string, r.id2 as string]).filter(([a, b]) => a !== '' && b !== '');
        const want = oracle(edges);
        assert.equal(c.count, want.size);
        for (let i = 0; i < c.count; i++) assert.equal(c.name(mins[i]!), want.get(c.name(i)));
      }
    });
  }

  it('a nullable column is not read as pages (null: the caller falls back to rows)', async () => {
    const bytes = await getCodec('flat').encode([{ name: 'id1', type: 'string', nullable: true }], [{ id1: 'a' }, { id1: null }]);
    assert.equal(stringColumnPages(openColumnFile(bytes), bytes, 0, 'id1'), null);
  });
});
