/**
 * storage/parquet/page-kernel.ts (the WebAssembly kernel native/pages.c), its Snappy half, against
 * hyparquet's snappyUncompress (the oracle): the kernel's compressor on random, repetitive,
 * string-page-like and adversarial inputs (incompressible, all-zero, long repeats at every short
 * period and past 2 KiB, sizes around the 64 KiB fragments and the 15-byte tail) gives streams
 * within the reference's bound that both decoders turn back into the input, byte-identical to the
 * JavaScript compressor it replaced (pinned digest); hand-built streams
 * exercise what the compressor rarely emits (overlapping copies with offsets 1..40, 1-, 2- and
 * 4-byte-offset copies, long literals with 1..2 length bytes); any byte string — mostly malformed —
 * the oracle refuses is refused, and one both accept decodes to the oracle's bytes (the decoder
 * also refuses 4-byte copy offsets ≥ 2^31, which the oracle misreads); a page larger than the
 * thread's kept instance; the committed module's source hash. Its UTF-8 check (nonUtf8, behind
 * both probes' notUtf8) reports the first value that Node's isUtf8 and a fatal TextDecoder refuse,
 * on random values and on every edge sequence (overlong, surrogate, past U+10FFFF, truncated).
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { snappyUncompress } from 'hyparquet';
import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { KernelKeys, maxCompressedLength, prefilterBits, probeKeysPage, probePlainPage, snappyCompressWasm, snappyDecompressWasm } from '../../storage/parquet/page-kernel.js';
import { SplitBlockBloom } from '../../operators/partial-recompute/split-bloom.js';
import { PAGES_SOURCE_SHA256 } from '../../storage/parquet/wasm/pages-wasm.js';

/** The kernel's Snappy of `input`, copied out of its memory. */
function compress(input: Uint8Array): Uint8Array {
  return snappyCompressWasm(input).slice();
}

/** Compressed by the kernel, within the bound, decoded back by the oracle and by the kernel. */
function roundTrip(input: Uint8Array): void {
  const z = compress(input);
  assert.ok(z.length <= maxCompressedLength(input.length), `${z.length} bytes for ${input.length}`);
  const back = new Uint8Array(input.length);
  snappyUncompress(z, back);
  assert.ok(Buffer.from(back).equals(input), `oracle round trip of ${input.length} bytes`);
  assert.ok(Buffer.from(snappyDecompressWasm(z, input.length)).equals(input), `kernel round trip of ${input.length} bytes`);
}

/** Deterministic pseudo-random bytes (LCG), for inputs that must not compress. */
function noise(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/** `unit` repeated to n bytes. */
function repeat(unit: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = unit[i % unit.length]!;
  return out;
}

/** Sizes around the 15-byte tail, the 64 KiB fragments and a few MB. */
const EDGE_SIZES = [0, 1, 2, 3, 4, 5, 13, 14, 15, 16, 17, 31, 32, 33, 255, 256, 65535, 65536, 65537, 65536 + 14, 65536 + 15, 65536 + 16, 131071, 131072, 131073, 196608 + 7, 1 << 21];

/** Adversarial inputs of size n: incompressible, all-zero, periods 1..70 and past 2 KiB, a noise block copied across a fragment boundary, and mixtures. */
function adversarial(n: number, seed: number): Uint8Array[] {
  const half = noise(n >> 1, seed);
  const mixed = new Uint8Array(n);
  mixed.set(half);
  mixed.set(half.subarray(0, n - half.length), half.length);
  return [noise(n, seed), new Uint8Array(n), repeat(noise(1, seed), n), repeat(noise(7, seed), n), repeat(noise(64, seed), n), repeat(noise(70, seed), n), repeat(noise(3001, seed), n), mixed,
    repeat(new Uint8Array([0, 0, 0, 0, 1]), n)];
}

/**
 * Both decoders on one stream: the same bytes, or both refuse — except that with `stricter` the
 * decoder may refuse what the oracle accepts (the oracle reads a 4-byte copy offset ≥ 2^31 as
 * negative and copies from past its output).
 */
function agree(stream: Uint8Array, size: number, stricter = false): Uint8Array | null {
  const a = new Uint8Array(size);
  let b: Uint8Array = new Uint8Array(0);
  let aErr = false, bErr = false;
  try { snappyUncompress(stream, a); } catch { aErr = true; }
  try { b = snappyDecompressWasm(stream, size); } catch { bErr = true; }
  if (!(stricter && bErr)) assert.equal(bErr, aErr, `refusal differs (oracle ${aErr ? 'refuses' : 'accepts'}) on ${Buffer.from(stream).toString('hex')} → ${size}`);
  if (bErr) return null;
  assert.deepEqual(b, a);
  return b;
}

function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) { out.push((n & 0x7f) | 0x80); n = Math.floor(n / 128); }
  out.push(n);
  return out;
}

/** A literal element (1..4 length bytes past 60). */
function literal(bytes: number[]): number[] {
  const n = bytes.length - 1;
  if (n < 60) return [n << 2, ...bytes];
  const len: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) len.push(v & 0xff);
  return [(59 + len.length) << 2, ...len, ...bytes];
}

function copy(offset: number, len: number, kind: 1 | 2 | 4): number[] {
  if (kind === 1) return [1 | ((len - 4) << 2) | ((offset >> 8) << 5), offset & 0xff];
  if (kind === 2) return [2 | ((len - 1) << 2), offset & 0xff, offset >> 8];
  return [3 | ((len - 1) << 2), offset & 0xff, (offset >> 8) & 0xff, (offset >> 16) & 0xff, offset >>> 24];
}

describe('storage/parquet/page-kernel (Snappy compression)', function () {
  this.timeout(120_000);
  it('round-trips adversarial inputs at sizes around the tail and fragment boundaries', () => {
    for (const [i, n] of EDGE_SIZES.entries()) for (const input of adversarial(n, i + 1)) roundTrip(input);
  });

  it('round-trips random, repetitive and string-page-like inputs (fast-check)', () => {
    const page = fc.array(fc.stringMatching(/^cookie:[0-9a-f]{0,16}$/), { maxLength: 3000 }).map((ss) => new Uint8Array(Buffer.concat(ss.map((v) => { const b = Buffer.from(v); const l = Buffer.alloc(4); l.writeUInt32LE(b.length); return Buffer.concat([l, b]); }))));
    const pieces = fc
      .tuple(fc.array(fc.uint8Array({ minLength: 1, maxLength: 40 }), { minLength: 1, maxLength: 8 }), fc.array(fc.nat(), { maxLength: 9000 }))
      .map(([parts, picks]) => new Uint8Array(Buffer.concat(picks.map((p) => parts[p % parts.length]!))));
    // Around a fragment boundary: a prefix of zeros moves the interesting bytes across 64 KiB.
    const shifted = fc.tuple(fc.integer({ min: 65536 - 200, max: 65536 + 200 }), fc.uint8Array({ maxLength: 400 }), fc.integer({ min: 1, max: 20 }))
      .map(([at, tail, k]) => { const out = new Uint8Array(at + tail.length * k); for (let j = 0; j < k; j++) out.set(tail, at + j * tail.length); return out; });
    fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 5000 }), pieces, page, shifted), (input) => roundTrip(input)), { numRuns: 300 });
  });

  it('is byte-identical to the JavaScript compressor it replaced (flat/snappy.ts at 409c2ad)', () => {
    // The digest of the compressed streams, in order, as that compressor wrote them: files the
    // flat writer wrote before keep their content hashes (and memoized instances their inputs).
    const h = createHash('sha256');
    for (const [i, n] of EDGE_SIZES.entries()) for (const input of adversarial(n, i + 1)) h.update(compress(input));
    const ids = Buffer.from(Array.from({ length: 20_000 }, (_, i) => `cookie:${((i * 2654435761) >>> 0).toString(16).slice(0, 5)}|`).join(''));
    h.update(compress(ids));
    assert.equal(h.digest('hex'), 'ad60732dcff23a1d5dbc9d011f5a967f1ea8b4461d1e8d2adc20f6a3e02f7926');
  });
});

describe('storage/parquet/page-kernel (Snappy)', () => {
  it('decodes compressed random, repetitive and string-page-like inputs (fast-check)', () => {
    const page = fc.array(fc.stringMatching(/^cookie:[0-9a-f]{0,16}$/), { maxLength: 300 }).map((ss) => {
      const parts = ss.map((s) => { const b = Buffer.from(s); const l = Buffer.alloc(4); l.writeUInt32LE(b.length); return Buffer.concat([l, b]); });
      return new Uint8Array(Buffer.concat(parts));
    });
    const repetitive = fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 12 }), fc.integer({ min: 1, max: 3000 })).map(([u, k]) => {
      const out = new Uint8Array(u.length * k);
      for (let i = 0; i < k; i++) out.set(u, i * u.length);
      return out;
    });
    fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 5000 }), repetitive, page), (input) => {
      assert.deepEqual(agree(compress(input), input.length), input);
    }), { numRuns: 300 });
  });

  it('decodes hand-built streams: overlapping copies, every offset width, long literals (fast-check)', () => {
    const element = fc.oneof(
      fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 300 }).map((b) => ({ lit: b })),
      fc.record({ off: fc.integer({ min: 1, max: 40 }), len: fc.integer({ min: 1, max: 64 }), kind: fc.constantFrom<1 | 2 | 4>(1, 2, 4) }),
    );
    fc.assert(fc.property(fc.array(element, { minLength: 1, maxLength: 30 }), (els) => {
      const body: number[] = [];
      const expect: number[] = [];
      for (const e of els) {
        if ('lit' in e) { body.push(...literal(e.lit)); expect.push(...e.lit); continue; }
        if (e.off > expect.length) continue;
        // 1-byte-offset copies: length 4..11, offset < 2048.
        const len = e.kind === 1 ? 4 + (e.len % 8) : e.len;
        body.push(...copy(e.off, len, e.kind));
        for (let i = 0; i < len; i++) expect.push(expect[expect.length - e.off]!);
      }
      const stream = new Uint8Array([...varint(expect.length), ...body]);
      assert.deepEqual(agree(stream, expect.length), new Uint8Array(expect));
    }), { numRuns: 400 });
  });

  it('refuses a copy offset ≥ 2^31 (which the oracle reads as negative)', () => {
    assert.throws(() => snappyDecompressWasm(new Uint8Array([4, 15, 0, 0, 0, 128]), 4), /before start/);
  });

  it('decodes pages past the kept instance size, then small ones again (memory regrown, views renewed)', () => {
    const big = new Uint8Array(70 << 20);
    for (let i = 0; i < big.length; i += 4096) big[i] = (i >>> 12) & 0xff;
    assert.deepEqual(snappyDecompressWasm(compress(big), big.length), big);
    const small = new TextEncoder().encode('cookie:abc cookie:abd cookie:abe');
    assert.deepEqual(snappyDecompressWasm(compress(small), small.length), small);
    assert.deepEqual(snappyDecompressWasm(compress(new Uint8Array(0)), 0), new Uint8Array(0));
  });

  it('the committed module is built from the current native/pages.c', () => {
    // Its bytes: test/operators/wasm-components.test.ts runs build-wasm.mjs --check (every module) where clang is present.
    const src = fileURLToPath(new URL('../../../native/pages.c', import.meta.url));
    assert.equal(createHash('sha256').update(readFileSync(src)).digest('hex'), PAGES_SOURCE_SHA256, 'run node scripts/build-wasm.mjs');
  });

  it('refuses whatever hyparquet refuses; what it accepts, decodes to the same bytes (fast-check)', () => {
    const corrupted = fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 400 }), fc.nat(), fc.integer({ min: 0, max: 255 })).map(([u, at, v]) => {
      const z = compress(u);
      const c = z.slice();
      c[at % c.length] = v;
      return { stream: c, size: u.length };
    });
    const arbitrary = fc.record({ stream: fc.uint8Array({ maxLength: 64 }), size: fc.integer({ min: 0, max: 200 }) });
    // No 0xfc byte (a literal tag with 4 length bytes): the oracle reads such a length as a signed
    // int32 and, when negative, walks backwards through its input for seconds.
    fc.assert(fc.property(fc.oneof(corrupted, arbitrary), ({ stream, size }) => {
      fc.pre(!stream.includes(0xfc));
      agree(stream, size, true);
    }), { numRuns: 2000 });
  });
});

/** A PLAIN BYTE_ARRAY page: u32 length, then the UTF-8 bytes, per value. */
function plainPage(values: string[]): Uint8Array {
  return new Uint8Array(Buffer.concat(values.map((v) => { const b = Buffer.from(v); const l = Buffer.alloc(4); l.writeUInt32LE(b.length); return Buffer.concat([l, b]); })));
}

describe('storage/parquet/page-kernel (UTF-8 check)', () => {
  /** A PLAIN page of raw byte values. */
  const rawPage = (values: Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(values.flatMap((v) => { const l = Buffer.alloc(4); l.writeUInt32LE(v.length); return [l, v]; })));
  /** What notUtf8 reported for a page (null: nothing), through both probes, compressed or stored. */
  function reported(values: Uint8Array[], compressed: boolean): Array<[number, string] | null> {
    const page = rawPage(values);
    const body = compressed ? compress(page) : page;
    const f = SplitBlockBloom.forCapacity(10, 0.01);
    const keys = KernelKeys.of(['k'])!;
    f.add('k');
    const out: Array<[number, string] | null> = [];
    for (const probe of ['plain', 'keys']) {
      let got: [number, string] | null = null;
      const notUtf8 = (i: number, b: Uint8Array): void => { got ??= [i, Buffer.from(b).toString('hex')]; };
      if (probe === 'plain') probePlainPage(body, compressed, page.length, values.length, f.layout(), () => undefined, notUtf8);
      else probeKeysPage(body, compressed, page.length, values.length, f.layout(), keys, new Int32Array(values.length), new Int32Array(values.length), 0, notUtf8);
      out.push(got);
    }
    return out;
  }
  /** The oracle: the first value that Node's isUtf8 (simdutf) or a fatal TextDecoder refuses. */
  const FATAL = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  function firstBad(values: Uint8Array[]): [number, string] | null {
    for (const [i, v] of values.entries()) {
      let dec = true;
      try { FATAL.decode(v); } catch { dec = false; }
      assert.equal(isUtf8(v), dec, Buffer.from(v).toString('hex'));
      if (!dec) return [i, Buffer.from(v).toString('hex')];
    }
    return null;
  }
  // Edge sequences: overlong, surrogates, past U+10FFFF, truncated, stray continuation, 5-byte lead, and valid extremes.
  const EDGES = ['c080', 'c1bf', 'c280', 'dfbf', 'e08080', 'e09fbf', 'e0a080', 'ed9fbf', 'eda080', 'edbfbf', 'efbfbf', 'f08f bfbf', 'f0908080', 'f48fbfbf', 'f4908080', 'f5808080', 'f880808080', '80', 'bf', 'c3', 'e282', 'f09f98', 'fe', 'ff', 'c328', 'e228a1', 'f0289f98']
    .map((h) => new Uint8Array(Buffer.from(h.replace(' ', ''), 'hex')));
  const value = fc.oneof(
    fc.string({ unit: 'grapheme', maxLength: 20 }).map((t) => new Uint8Array(Buffer.from(t))),
    fc.string({ unit: 'grapheme-ascii', maxLength: 40 }).map((t) => new Uint8Array(Buffer.from(t))),
    fc.uint8Array({ maxLength: 12 }),
    fc.tuple(fc.string({ maxLength: 9 }), fc.constantFrom(...EDGES), fc.string({ maxLength: 9 })).map(([a, e, b]) => new Uint8Array(Buffer.concat([Buffer.from(a), e, Buffer.from(b)]))),
  );

  it('reports the first value that is not well-formed UTF-8, as isUtf8 and a fatal TextDecoder say, on both probes (fast-check)', () => {
    fc.assert(fc.property(fc.array(value, { maxLength: 60 }), fc.boolean(), (values, compressed) => {
      const want = firstBad(values);
      for (const got of reported(values, compressed)) assert.deepEqual(got, want);
    }), { numRuns: 1500 });
  });

  it('refuses a value cut inside a character even where the next length prefix would complete it, and every edge sequence alone', () => {
    // 0xC3, then a 133-byte value: its length prefix starts with 0x85, a continuation byte.
    const cut = [new Uint8Array([0x75, 0x3a, 0xc3]), new Uint8Array(133).fill(0x78)];
    for (const got of reported(cut, true)) assert.deepEqual(got, [0, '753ac3']);
    for (const e of EDGES) for (const got of reported([new Uint8Array(Buffer.from('ok')), e], false)) assert.deepEqual(got, firstBad([e]) === null ? null : [1, Buffer.from(e).toString('hex')]);
    // All-ASCII and empty pages: nothing to report.
    for (const got of reported([new Uint8Array(0), new Uint8Array(Buffer.from('plain ascii'))], false)) assert.equal(got, null);
  });
});

describe('storage/parquet/page-kernel (PLAIN Bloom probe)', () => {
  it('== SplitBlockBloom.hasBytes value by value, compressed or stored pages (fast-check)', () => {
    fc.assert(fc.property(fc.array(fc.string({ unit: 'grapheme', maxLength: 30 }), { maxLength: 300 }), fc.array(fc.string({ unit: 'grapheme', maxLength: 8 }), { maxLength: 40 }), fc.integer({ min: 1, max: 5000 }), fc.boolean(),
      (values, extra, capacity, compressed) => {
        // Half the page's values and a few others in a filter at a 30% rate: hits, misses and
        // false positives, block counts that are not powers of two.
        const f = SplitBlockBloom.forCapacity(capacity, 0.3);
        for (const v of values.slice(0, values.length >> 1)) f.add(v);
        for (const v of extra) f.add(v);
        const page = plainPage(values);
        const got: Array<[number, string]> = [];
        const body = compressed ? compress(page) : page;
        const n = probePlainPage(body, compressed, page.length, values.length, f.layout(), (b, s, l, i) => got.push([i, b.toString('utf8', s, s + l)]));
        const want: Array<[number, string]> = [];
        values.forEach((v, i) => { if (f.has(v)) want.push([i, Buffer.from(v).toString('utf8')]); });
        assert.deepEqual(got, want);
        assert.equal(n, want.length);
      }), { numRuns: 200 });
  });

  it('refuses a page whose values run past its end, and a malformed Snappy body', () => {
    const f = SplitBlockBloom.forCapacity(10, 0.01);
    const page = plainPage(['cookie:a', 'cookie:b']);
    assert.throws(() => probePlainPage(page.subarray(0, page.length - 1), false, page.length - 1, 2, f.layout(), () => undefined), /past end of page/);
    assert.throws(() => probePlainPage(page, false, page.length, 3, f.layout(), () => undefined), /past end of page/);
    const z = compress(page);
    assert.throws(() => probePlainPage(z.subarray(0, z.length - 2), true, page.length, 2, f.layout(), () => undefined));
  });
});

const M64 = (1n << 64n) - 1n;
/** native/pages.c quick(), in BigInt arithmetic: the kernel's prefilter hash, for the oracle. */
function quickRef(b: Uint8Array): number {
  const le = (from: number, n: number): bigint => { let v = 0n; for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[from + i]!); return v; };
  const len = b.length;
  const a = le(0, Math.min(8, len)), c = len > 8 ? le(len - 8, 8) : 0n;
  let x = ((a * 0x9E3779B97F4A7C15n) & M64) ^ ((c * 0xC2B2AE3D27D4EB4Fn) & M64) ^ BigInt(len);
  x ^= x >> 32n;
  x = (x * 0xFF51AFD7ED558CCDn) & M64;
  return Number(x >> 32n);
}

describe('storage/parquet/page-kernel (exact key probe)', () => {
  it('== filter pass and set membership value by value, ids, and false positives past the prefilter, across alternating sets (fast-check)', () => {
    const strs = fc.array(fc.string({ unit: 'grapheme', maxLength: 12 }), { maxLength: 200 });
    fc.assert(fc.property(strs, strs, strs, fc.integer({ min: 1, max: 3000 }), fc.boolean(),
      (values, keyList, others, capacity, compressed) => {
        // Two key sets used in turn (the kernel keeps one resident: switching must reload it), a
        // Snappy decode in between (its scratch must not touch the resident set); a 30% filter
        // holding the keys and other strings: members, misses and false positives.
        const sets = [[...new Set([...keyList, ...values.slice(0, values.length >> 1)])], [...new Set(others)]];
        for (const [round, keys] of [...sets, sets[0]!].entries()) {
          const f = SplitBlockBloom.forCapacity(capacity, 0.3);
          for (const k of keys) f.add(k);
          for (const o of round % 2 === 0 ? others : keyList) f.add(o);
          const page = plainPage(values);
          const body = compressed ? compress(page) : page;
          snappyDecompressWasm(compress(page), page.length);
          const rows = new Int32Array(values.length + 3), ids = new Int32Array(values.length + 3);
          const r = probeKeysPage(body, compressed, page.length, values.length, f.layout(), KernelKeys.of(keys)!, rows, ids, 3);
          const id = new Map(keys.map((k, i) => [k, i]));
          // The prefilter: values whose quick hash (masked) is no key's are not tested.
          const mask = prefilterBits(keys.length) - 1;
          const pre = new Set(keys.map((k) => quickRef(Buffer.from(k)) & mask));
          const want: Array<[number, number]> = [];
          let fp = 0;
          values.forEach((v, i) => {
            if (!f.has(v)) return;
            const k = id.get(v);
            if (k !== undefined) want.push([i, k]);
            else if (pre.has(quickRef(Buffer.from(v)) & mask)) fp++;
          });
          assert.deepEqual(Array.from({ length: r.end - 3 }, (_, h) => [rows[3 + h]!, ids[3 + h]!]), want);
          assert.equal(r.falsePositives, fp);
        }
      }), { numRuns: 150 });
  });

  it('finds every key of a set far larger than a page (probing chains), refuses a truncated page', () => {
    const keys = Array.from({ length: 5000 }, (_, i) => `person:${i * 7}`);
    const f = SplitBlockBloom.forCapacity(keys.length, 0.01);
    for (const k of keys) f.add(k);
    const set = KernelKeys.of(keys)!;
    const values = Array.from({ length: 3000 }, (_, i) => `person:${i * 5}`);
    const page = plainPage(values);
    const rows = new Int32Array(values.length), ids = new Int32Array(values.length);
    const r = probeKeysPage(compress(page), true, page.length, values.length, f.layout(), set, rows, ids, 0);
    const want = values.flatMap((v, i) => ((i * 5) % 7 === 0 ? [[i, (i * 5) / 7]] : []));
    assert.deepEqual(Array.from({ length: r.end }, (_, h) => [rows[h]!, ids[h]!]), want);
    assert.throws(() => probeKeysPage(page.subarray(0, page.length - 1), false, page.length - 1, values.length, f.layout(), set, rows, ids, 0), /past end of page/);
    // Only well-formed strings: a lone surrogate would encode as U+FFFD's bytes.
    assert.equal(KernelKeys.of(['a', 'b\uD800']), null);
    assert.equal(KernelKeys.of(['\uDFFFx']), null);
    assert.notEqual(KernelKeys.of(['a', '\uD83D\uDE00', '']), null);
  });
});
