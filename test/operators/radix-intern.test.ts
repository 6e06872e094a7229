/**
 * lib/radix-intern.ts and lib/edge-components.ts against Map / plain union-find oracles: equal
 * ints iff equal strings (fast-check, several flushes, random flush points), dense ints, names
 * and JS string order recovered from the packed words (odd lengths, U+0000 tails, lone
 * surrogates, non-ASCII, empty strings), adversarial hash collisions forced by test-only hashes
 * (constant, 2-bit), and components equal to an oracle's across many small flushes.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RadixInterner, fnvWords, type WordHash } from '../../operators/lib/radix-intern.js';
import { EdgeComponents } from '../../operators/lib/edge-components.js';
import { componentMinsOracle as oracle } from './components-oracle.js';

/** Interns xs in flushes split at `cuts`; checks ids against a Map oracle; returns the interner. */
function check(xs: string[], cuts: number[], hash?: WordHash, capacity = 4): RadixInterner {
  const it = hash === undefined ? new RadixInterner(capacity, 4) : new RadixInterner(capacity, 4, hash);
  const byString = new Map<string, number>();
  const byId = new Map<number, string>();
  const bounds = [...new Set([0, ...cuts.map((c) => c % (xs.length + 1)), xs.length])].sort((a, b) => a - b);
  for (let k = 0; k + 1 < bounds.length; k++) {
    const part = xs.slice(bounds[k], bounds[k + 1]);
    // Fresh copies: equal content, distinct string objects (as decoded from Parquet).
    part.forEach((s, i) => assert.equal(it.stage(s.split('').join('')), i));
    assert.equal(it.pending, part.length);
    const out = new Int32Array(part.length);
    it.flush(out);
    assert.equal(it.pending, 0);
    part.forEach((s, i) => {
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
    assert.equal(it.length(i), byId.get(i)!.length);
  }
  return it;
}

const tricky = ['', 'a', 'ab', 'abc', 'abc\u0000', 'ab\u0000', '\u0000', '\u0000\u0000', 'é', 'e\u0301', '日本', '\ud800', '\udc00', '\ud83d\ude00', '\uffff', 'user:1', 'user:10', 'user:1\u0000'];

describe('lib/radix-intern', () => {
  it('equal ints iff equal strings, across flushes (fast-check, binary code units incl. lone surrogates)', () => {
    fc.assert(fc.property(
      fc.array(fc.oneof(fc.string({ maxLength: 9, unit: 'binary' }), fc.constantFrom(...tricky), fc.string({ maxLength: 40, unit: 'grapheme' })), { maxLength: 300 }),
      fc.array(fc.nat(), { maxLength: 4 }),
      (xs, cuts) => {
        check(xs, cuts);
        check(xs, cuts, undefined, 70_000); // 128 partitions (2 for capacity 4)
      }), { numRuns: 200 });
  });

  it('less(i, j) is JS string order, names round-trip (odd lengths, U+0000 tails, surrogates)', () => {
    fc.assert(fc.property(fc.array(fc.oneof(fc.string({ maxLength: 7, unit: 'binary' }), fc.constantFrom(...tricky)), { minLength: 1, maxLength: 60 }), (xs) => {
      const it = check(xs, []);
      for (let i = 0; i < it.size; i++) for (let j = 0; j < it.size; j++) assert.equal(it.less(i, j), it.name(i) < it.name(j), `${JSON.stringify(it.name(i))} < ${JSON.stringify(it.name(j))}`);
    }), { numRuns: 150 });
    const it = check(tricky, [5]);
    const sorted = Array.from({ length: it.size }, (_, i) => i).sort((a, b) => (it.less(a, b) ? -1 : it.less(b, a) ? 1 : 0)).map((i) => it.name(i));
    assert.deepEqual(sorted, [...tricky].sort());
  });

  it('adversarial collisions: a constant hash and a 2-bit hash still give equal ints iff equal strings', () => {
    const constant: WordHash = () => 0;
    const twoBits: WordHash = (w, n, len) => (fnvWords(w, n, len) & 3) | ((len & 1) << 31);
    fc.assert(fc.property(fc.array(fc.oneof(fc.string({ maxLength: 5, unit: 'binary' }), fc.constantFrom(...tricky)), { maxLength: 120 }), fc.array(fc.nat(), { maxLength: 3 }), (xs, cuts) => {
      check(xs, cuts, constant);
      check(xs, cuts, twoBits);
      check(xs, cuts, twoBits, 70_000);
    }), { numRuns: 100 });
  });

  it('strings with equal 32-bit hashes (brute-forced) stay distinct in the real table', () => {
    // Brute-force a 32-bit collision of the real hash among equal-length strings (birthday ~2^16).
    const seen = new Map<number, string>();
    const words = new Int32Array(8);
    const h = (s: string): number => {
      for (let i = 0; i < s.length; i += 2) words[i >> 1] = s.charCodeAt(i) | ((i + 1 < s.length ? s.charCodeAt(i + 1) : 0) << 16);
      return fnvWords(words, (s.length + 1) >> 1, s.length);
    };
    let pair: [string, string] | null = null;
    // Random 7-character strings (sequential ones differ only in their last words, on which the
    // hash is a bijection: no collisions there at all).
    let seed = 1;
    const rnd = (): number => { seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0; return seed >>> 8; };
    while (pair === null) {
      const s = `k${rnd().toString(36)}${rnd().toString(36)}`.slice(0, 9);
      const hs = h(s);
      const other = seen.get(hs);
      if (other !== undefined && other !== s) pair = [other, s];
      else seen.set(hs, s);
    }
    const [a, b] = pair;
    assert.notEqual(a, b);
    const it = check([a, b, a, b, b], [2]);
    assert.equal(it.size, 2);
  });

  it('200k ids over 2 flushes: dense ints, fresh copies agree, flush rejects a short output', () => {
    const it = new RadixInterner(100_000);
    const xs = Array.from({ length: 200_000 }, (_, i) => `user:${i}`);
    const out = new Int32Array(xs.length);
    xs.forEach((s) => it.stage(s));
    it.flush(out);
    const seen = new Uint8Array(xs.length);
    for (const id of out) seen[id]! += 1;
    assert.ok(seen.every((c) => c === 1));
    for (let i = 0; i < xs.length; i += 997) it.stage(Buffer.from(xs[i]!).toString());
    const again = new Int32Array(it.pending);
    it.flush(again);
    for (let k = 0, i = 0; i < xs.length; i += 997, k++) assert.equal(again[k], out[i]);
    assert.equal(it.size, 200_000);
    it.stage('x');
    assert.throws(() => it.flush(new Int32Array(0)), { code: 'INTERNAL' });
  });
});


describe('lib/edge-components', () => {
  it('labels equal a union-find oracle, with many small flushes and with one (fast-check)', () => {
    const node = fc.oneof(fc.integer({ min: 0, max: 30 }).map((i) => `n${i}`), fc.constantFrom(...tricky));
    fc.assert(fc.property(fc.array(fc.tuple(node, node), { maxLength: 80 }), fc.integer({ min: 1, max: 9 }), (edges, every) => {
      for (const c of [new EdgeComponents(edges.length, null, every), new EdgeComponents(1)]) {
        for (const [a, b] of edges) c.add(a, b);
        c.finish();
        const mins = c.componentMins();
        const got = new Map<string, string>();
        for (let i = 0; i < c.count; i++) got.set(c.name(i), c.name(mins[i]!));
        assert.deepEqual(new Map([...got].sort()), new Map([...oracle(edges)].sort()));
      }
    }), { numRuns: 200 });
  });

  it('keep(a, b) decides which flushed edges are unioned; add after finish is INTERNAL', () => {
    const c: EdgeComponents = new EdgeComponents(4, (a, b): boolean => a !== b && c.name(a) !== 'x', 2);
    c.add('x', 'y');
    c.add('y', 'z');
    c.add('w', 'w');
    c.finish();
    const mins = c.componentMins();
    const label = (s: string): string => { for (let i = 0; i < c.count; i++) if (c.name(i) === s) return c.name(mins[i]!); return '?'; };
    assert.deepEqual(['w', 'x', 'y', 'z'].map(label), ['w', 'x', 'y', 'y']);
    assert.throws(() => c.add('a', 'b'), { code: 'INTERNAL' });
  });
});
