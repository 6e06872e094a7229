/**
 * Tests of operators/lib: MurmurHash3 x86_128 (SMHasher verification value), HyperLogLog
 * (accuracy against exact distinct counts, serialization, merge), Bloom filter (no false
 * negatives, measured false-positive rate near the target), union-find (vs a naive labelling).
 */
import assert from 'node:assert/strict';
import { murmur3x86_128 } from '../../operators/lib/sketches/murmur3.js';
import { HyperLogLog } from '../../operators/lib/sketches/hll.js';
import { BloomFilter, optimalBloomSize } from '../../operators/lib/sketches/bloom.js';
import { IntUnionFind } from '../../operators/equiv-components/union-find.js';
import { isDagctlError } from '../../core/errors.js';
import fc from 'fast-check';

describe('lib/murmur3', () => {
  it('matches the SMHasher verification value of MurmurHash3_x86_128 (0xB3ECE62A)', () => {
    const key = new Uint8Array(256);
    const hashes = new Uint8Array(256 * 16);
    const out = new Uint32Array(4);
    for (let i = 0; i < 256; i++) {
      key[i] = i;
      murmur3x86_128(key, i, 256 - i, out);
      const dv = new DataView(hashes.buffer, i * 16, 16);
      for (let w = 0; w < 4; w++) dv.setUint32(w * 4, out[w]!, true);
    }
    murmur3x86_128(hashes, hashes.length, 0, out);
    assert.equal(out[0]! >>> 0, 0xb3ece62a);
  });
});

describe('lib/hll', () => {
  it('reserve: never past what a sparse sketch holds (m/32); reserveForRows: many rows from few persons keep a small table', () => {
    for (const p of [12, 14, 16]) {
      const m = 1 << p;
      const big = new HyperLogLog(p);
      big.reserve(1_000_000);
      assert.ok(big.sparseSlots <= m >>> 4, `p=${p}: reserve(1e6) gave ${big.sparseSlots} slots`);
      const few = new HyperLogLog(p), plain = new HyperLogLog(p);
      few.reserveForRows(1000);
      for (let i = 0; i < 1000; i++) {
        const h = [0x12345678, 0x9abcdef0, 0x0fedcba9][i % 3]!;
        few.addHash(h, 0x55555555);
        plain.addHash(h, 0x55555555);
      }
      assert.equal(few.sparseSize, 3);
      assert.ok(few.sparseSlots <= 16, `p=${p}: 1000 rows of 3 persons: ${few.sparseSlots} slots`);
      assert.deepEqual(few.serialize(), plain.serialize());
      // Still a hint only: many distinct rows fill the table and turn dense as without it.
      const many = new HyperLogLog(p);
      many.reserveForRows(m);
      for (let i = 0; i < m; i++) many.addHash(Math.imul(i + 1, 2654435761) >>> 0, i);
      assert.equal(many.sparseSlots, 0);
    }
  });

  for (const n of [0, 1, 10, 100, 1000, 5000, 20_000, 40_000, 50_000]) {
    it(`estimates ${n} distinct values within 2%`, () => {
      const h = new HyperLogLog(14);
      for (let i = 0; i < n; i++) {
        h.add(`user:${i}`);
        if (i % 3 === 0) h.add(`user:${i}`); // repeats do not count
      }
      const est = h.estimate();
      assert.ok(Math.abs(est - n) <= Math.max(0.02 * n, 0.5), `n=${n} est=${est}`);
    });
  }

  it('serializes sparse and dense sketches losslessly and deterministically', () => {
    for (const n of [0, 50, 30_000]) {
      const h = new HyperLogLog(12);
      for (let i = 0; i < n; i++) h.add(`c${i}`);
      const bytes = h.serialize();
      const back = HyperLogLog.deserialize(bytes);
      assert.equal(back.estimate(), h.estimate());
      assert.deepEqual(back.serialize(), bytes);
    }
  });

  it('merge equals the sketch of the union', () => {
    const a = new HyperLogLog(14), b = new HyperLogLog(14), u = new HyperLogLog(14);
    for (let i = 0; i < 8000; i++) { a.add(`x${i}`); u.add(`x${i}`); }
    for (let i = 4000; i < 12_000; i++) { b.add(`x${i}`); u.add(`x${i}`); }
    assert.deepEqual(a.merge(b).serialize(), u.serialize());
  });

  it('sparse bytes equal a Map model of the documented format (idx25 = hi >>> 7, max rank, ascending)', () => {
    const h = new Uint32Array(4);
    for (const n of [1, 7, 300, 511]) {
      const sk = new HyperLogLog(14);
      const model = new Map<number, number>();
      for (let i = 0; i < n; i++) {
        const bytes = new TextEncoder().encode(`k${i % 97 === 0 ? 0 : i}-${n}`);
        murmur3x86_128(bytes, bytes.length, 0, h);
        sk.addHash(h[0]!, h[1]!);
        const idx = h[0]! >>> 7, lz = Math.clz32((h[0]! << 25) >>> 0);
        const rank = lz < 7 ? lz + 1 : 7 + Math.clz32(h[1]!) + 1;
        model.set(idx, Math.max(rank, model.get(idx) ?? 0));
      }
      const entries = [...model].sort((a, b) => a[0] - b[0]);
      const want = new Uint8Array(8 + entries.length * 5);
      const dv = new DataView(want.buffer);
      want.set([0x48, 1, 14, 0]);
      dv.setUint32(4, entries.length, true);
      entries.forEach(([i, r], k) => {
        dv.setUint32(8 + k * 5, i, true);
        want[12 + k * 5] = r;
      });
      assert.deepEqual(sk.serialize(), want, `n=${n}`);
      assert.deepEqual(HyperLogLog.deserialize(want).serialize(), want);
    }
  });

  it('addAt with positions() is addHash: identical bytes through the sparse → dense switch', () => {
    for (const p of [4, 10, 14, 16]) {
      const a = new HyperLogLog(p), b = new HyperLogLog(p);
      const pos = new Int32Array(4);
      const h = new Uint32Array(4);
      for (let i = 0; i < 6000; i++) {
        const bytes = new TextEncoder().encode(`v${i}`);
        murmur3x86_128(bytes, bytes.length, 0, h);
        a.addHash(h[0]!, h[1]!);
        HyperLogLog.positions(p, h[0]!, h[1]!, pos);
        b.addAt(pos);
        if (i === 40 || i === 5999) assert.deepEqual(b.serialize(), a.serialize(), `p=${p} after ${i + 1}`);
      }
    }
  });

  it('reserve() and serializeInto() change nothing: the same bytes and estimate, through the sparse → dense switch', () => {
    for (const [n, reserve] of [[0, 5], [40, 1], [40, 100], [300, 600], [600, 40], [2000, 3000]] as const) {
      const plain = new HyperLogLog(12), sized = new HyperLogLog(12), merged = new HyperLogLog(12);
      sized.reserve(reserve);
      for (let i = 0; i < n; i++) {
        plain.add(`v${i}`);
        sized.add(`v${i}`);
      }
      merged.reserve(plain.sparseSize);
      merged.merge(plain);
      const want = plain.serialize();
      assert.deepEqual(sized.serialize(), want, `n ${n}`);
      assert.deepEqual(merged.serialize(), want, `merged, n ${n}`);
      assert.equal(sized.count(), plain.count());
      const buf = new Uint8Array(want.length + 7).fill(0xee);
      plain.serializeInto(buf, 3);
      assert.equal(plain.serializedLength(), want.length);
      assert.deepEqual(buf.subarray(3, 3 + want.length), want);
      assert.deepEqual([...buf.subarray(0, 3), ...buf.subarray(3 + want.length)], [0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee]);
    }
  });

  it('addHashes over a range is addHash on each row: identical bytes, any state before, through the sparse → dense switch', () => {
    // Hashes drawn from a small pool (many rows, few distinct entries) or a large one; extreme
    // words (0, all ones) reach the longest ranks. A sketch may hold entries before the run.
    const word = fc.oneof(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.constantFrom(0, -1, 1, 0x7f, 0x80, -128));
    fc.assert(fc.property(
      fc.constantFrom(4, 10, 12, 14),
      fc.array(fc.tuple(word, word), { minLength: 1, maxLength: 80 }),
      fc.integer({ min: 0, max: 3000 }),
      fc.integer({ min: 0, max: 400 }),
      fc.integer({ min: 0, max: 5 }),
      (p, pool, rows, before, pad) => {
        const n = pad + rows + pad;
        const h1 = new Int32Array(n), h2 = new Int32Array(n);
        let s = rows * 31 + before;
        for (let i = 0; i < n; i++) {
          s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
          // Half the cases: mostly the pool's hashes; else fresh ones (a run of distinct persons).
          const [a, b] = (before & 1) === 0 ? pool[s % pool.length]! : [Math.imul(s, 0x9e3779b1), s ^ 0x5bd1e995];
          h1[i] = a;
          h2[i] = b;
        }
        const want = new HyperLogLog(p), got = new HyperLogLog(p);
        for (let i = 0; i < before; i++) {
          const hi = Math.imul(i + 1, 0x85ebca6b) >>> 0, lo = Math.imul(i + 7, 0xc2b2ae35) >>> 0;
          want.addHash(hi, lo);
          got.addHash(hi, lo);
        }
        for (let i = pad; i < pad + rows; i++) want.addHash(h1[i]! >>> 0, h2[i]! >>> 0);
        got.addHashes(h1, h2, pad, pad + rows, new Int32Array(rows));
        assert.deepEqual(got.serialize(), want.serialize());
        assert.equal(got.count(), want.count());
      },
    ), { numRuns: 300 });
  });

  it('addHashes sizes the sparse table by distinct entries: 5,000 rows of 3 persons keep the smallest table', () => {
    const h1 = new Int32Array(5000), h2 = new Int32Array(5000);
    for (let i = 0; i < 5000; i++) {
      h1[i] = [0x12345678, 0x9abcdef0, 0x0fedcba9][i % 3]!;
      h2[i] = 0x55555555;
    }
    const h = new HyperLogLog(14);
    h.addHashes(h1, h2, 0, 5000, new Int32Array(5000));
    assert.equal(h.sparseSize, 3);
    assert.equal(h.sparseSlots, 8);
    assert.throws(() => h.addHashes(h1, h2, 0, 10, new Int32Array(9)), (e) => isDagctlError(e, 'INTERNAL'));
  });

  it('rejects corrupt bytes and mismatched precisions with stable codes', () => {
    assert.throws(() => HyperLogLog.deserialize(new Uint8Array([1, 2, 3])), (e) => isDagctlError(e, 'OPERATOR_INPUT_INVALID'));
    assert.throws(() => new HyperLogLog(12).merge(new HyperLogLog(14)), (e) => isDagctlError(e, 'OPERATOR_INPUT_INVALID'));
    assert.throws(() => new HyperLogLog(3), (e) => isDagctlError(e, 'OPERATOR_PARAMS_INVALID'));
  });
});

describe('lib/bloom', () => {
  it('computes optimal m and k', () => {
    const { m, k } = optimalBloomSize(1000, 0.01);
    assert.equal(m, 9586);
    assert.equal(k, 7);
  });

  it('has no false negatives and a false-positive rate near the target', () => {
    for (const p of [0.01, 0.05]) {
      const f = BloomFilter.forCapacity(10_000, p);
      for (let i = 0; i < 10_000; i++) f.add(`in:${i}`);
      for (let i = 0; i < 10_000; i++) assert.ok(f.has(`in:${i}`));
      let fp = 0;
      const probes = 40_000;
      for (let i = 0; i < probes; i++) if (f.has(`out:${i}`)) fp++;
      const rate = fp / probes;
      assert.ok(rate > p * 0.5 && rate < p * 1.5, `p=${p} measured=${rate}`);
      const g = BloomFilter.deserialize(f.serialize());
      for (let i = 0; i < 100; i++) assert.equal(g.has(`out:${i}`), f.has(`out:${i}`));
    }
  });
});

describe('lib/union-find', () => {
  it('labels each id with the smallest id of its component', () => {
    const names = ['b', 'c', 'd', 'z', 'y', 'a'];
    const ix = (s: string): number => names.indexOf(s);
    const uf = new IntUnionFind(2);
    uf.ensure(names.length);
    for (const [a, b] of [['b', 'c'], ['d', 'c'], ['z', 'z'], ['y', 'a']] as const) uf.union(ix(a), ix(b));
    const mins = uf.componentMins((i, j) => names[i]! < names[j]!);
    const got: Record<string, string> = {};
    names.forEach((id, i) => { got[id] = names[mins[i]!]!; });
    assert.equal(uf.componentSize(ix('d')), 3);
    assert.deepEqual(got, { b: 'b', c: 'b', d: 'b', z: 'z', y: 'a', a: 'a' });
  });
});
