/**
 * The page kernel (native/pages.c, WebAssembly, embedded by scripts/build-wasm.mjs as
 * wasm/pages-wasm.ts):
 *  - snappyDecompressWasm: Snappy block decompression, what pages.ts snappy() — every raw page
 *    reader — and the row decoder (hyparquet.ts, as hyparquet's SNAPPY decompressor) run. The
 *    same output as hyparquet's snappyUncompress and the same refusals, plus one (a 4-byte copy
 *    offset ≥ 2^31, which hyparquet misreads).
 *  - probePlainPage: a Snappy-compressed (or stored) PLAIN BYTE_ARRAY page decompressed and every
 *    value tested against a split-block Bloom filter's words (operators/partial-recompute/split-bloom.ts's hash
 *    and test) in one call, the page left in the kernel's memory: only the hits come back, each
 *    handed to a callback with its bytes while they are valid. What partial-recompute's fetch scan
 *    of the master's persons runs (lib/late-scan.ts).
 *    Given `notUtf8`, each page's values are also checked for UTF-8 in the kernel, where they lie
 *    (misses too).
 *  - probeKeysPage: the same probe, then an exact lookup of each pass in a key set (KernelKeys,
 *    kept in the kernel's memory across calls), behind a prefilter that rules most other values
 *    out before the hash and the filter: only the members' rows and ids come back, no bytes. What
 *    the fused Bloom join of partial-recompute (ids of the new persons) and its merge-on-read
 *    deletes (lib/key-rows.ts) run.
 *  - gatherPlainInts: PLAIN INT32/INT64 pages decompressed and read at given rows only, as
 *    doubles (column-scan.ts numbersAt: a late scan's hit rows).
 *  - plainStringsWasm: a PLAIN BYTE_ARRAY page payload from byte ranges plus the rows of its least
 *    and greatest value (unsigned byte order): the flat writer's PLAIN strings (flat/columns.ts).
 *  - snappyCompressWasm: Snappy block compression of a page (the flat writer's, flat/file.ts): the
 *    reference's greedy matcher on 64 KiB fragments, valid Snappy for any input.
 *
 * One instance per thread (module state), reused: its memory holds the largest page seen so far,
 * and an instance that grew past IDLE_MAX_BYTES is dropped after the call, so a thread does not
 * keep one huge page's memory. Throws Error on a malformed stream or page (callers wrap it as
 * PARQUET_INVALID); never writes past the arrays it returns.
 */
import { DagctlError } from '../../core/errors.js';
import { PAGES_WASM_BASE64 } from './wasm/pages-wasm.js';
import type { PageBody } from './page-types.js';

type Fn = (...args: number[]) => number;
interface Kernel { memory: WebAssembly.Memory; reserve: Fn; decompress: Fn; compress: Fn; nonUtf8: Fn; probePlain: Fn; probeKeys: Fn; buildKeys: Fn; gatherInts: Fn; plainStrings: Fn; view: Uint8Array; buf: Buffer }

/** The kernel's error codes (native/pages.c) → messages. */
const ERRORS: Record<number, string> = {
  [-1]: 'invalid snappy length header',
  [-2]: 'missing eof marker',
  [-3]: 'snappy literal length past end of input',
  [-4]: 'snappy literal exceeds input length',
  [-5]: 'snappy output exceeds its length',
  [-6]: 'snappy copy past end of input',
  [-7]: 'snappy copy with offset 0',
  [-8]: 'snappy copy from before start of buffer',
  [-9]: 'premature end of input',
  [-10]: 'PLAIN value past end of page',
  [-11]: 'INT64 value is not a safe integer',
  [-12]: 'rows not ascending',
};
/** Readable / writable bytes the kernel may touch past its input and output (native/pages.c). */
const SLACK = 16;
const IDLE_MAX_BYTES = 64 << 20;
/** The most bytes plainStringsWasm copies into the kernel for one chunk's values. */
const SPAN_MAX_BYTES = 8 << 20;

let compiled: WebAssembly.Module | null = null;
let kernel: Kernel | null = null;
/**
 * What stays in the kernel's memory between calls, at the heap base (probeKeysPage's filter words
 * and key table, loaded once per scan, not once per page); every call's scratch lies after it.
 */
let resident: { keys: KernelKeys; bloom: BloomWords; bytes: number; wordsAt: number; setAt: number } | null = null;

function instantiate(): Kernel {
  compiled ??= new WebAssembly.Module(Buffer.from(PAGES_WASM_BASE64, 'base64'));
  const e = new WebAssembly.Instance(compiled, {}).exports;
  const { memory, reserve, decompress, compress, nonUtf8, probePlain, probeKeys, buildKeys, gatherInts, plainStrings } = e;
  if (!(memory instanceof WebAssembly.Memory) || [reserve, decompress, compress, nonUtf8, probePlain, probeKeys, buildKeys, gatherInts, plainStrings].some((f) => typeof f !== 'function')) throw new DagctlError('INTERNAL', 'page kernel: missing exports');
  return {
    memory, reserve: reserve as Fn, decompress: decompress as Fn, compress: compress as Fn, nonUtf8: nonUtf8 as Fn, probePlain: probePlain as Fn, probeKeys: probeKeys as Fn,
    buildKeys: buildKeys as Fn, gatherInts: gatherInts as Fn, plainStrings: plainStrings as Fn, view: new Uint8Array(memory.buffer), buf: Buffer.from(memory.buffer),
  };
}

const align = (n: number): number => (n + SLACK + 15) & ~15;

/** The kernel with at least `bytes` reserved at the returned base (after the resident region), views current. */
function reserved(bytes: number): { k: Kernel; base: number } {
  const k = (kernel ??= instantiate());
  const keep = resident?.bytes ?? 0;
  const heap = k.reserve(keep + bytes);
  if (heap === 0) throw new Error(`page kernel: cannot hold ${keep + bytes} bytes`);
  if (k.view.buffer !== k.memory.buffer) {
    k.view = new Uint8Array(k.memory.buffer);
    k.buf = Buffer.from(k.memory.buffer);
  }
  return { k, base: heap + keep };
}

function release(k: Kernel): void {
  if (k.memory.buffer.byteLength > IDLE_MAX_BYTES) {
    kernel = null;
    resident = null;
  }
}

/** A kernel return value, refused (Error with the kernel's message) when it is an error code. */
function ok(rc: number): number {
  if (rc < 0) throw new Error(ERRORS[rc] ?? `page kernel error ${rc}`);
  return rc;
}

/**
 * A stored page's values at kernel address dataAt: copied to inAt and decompressed from there
 * when `compressed` (to `size` bytes), else copied to dataAt as they are.
 */
function placePage(k: Kernel, body: Uint8Array, compressed: boolean, size: number, inAt: number, dataAt: number): void {
  if (!compressed) {
    k.view.set(body, dataAt);
    return;
  }
  k.view.set(body, inAt);
  ok(k.decompress(inAt, body.length, dataAt, size));
}

/** Decompresses `input` into a new array of exactly `size` bytes (the uncompressed size). */
export function snappyDecompressWasm(input: Uint8Array, size: number): Uint8Array {
  const outAt = align(input.length);
  const { k, base } = reserved(outAt + size + SLACK);
  placePage(k, input, true, size, base, base + outAt);
  const out = k.view.slice(base + outAt, base + outAt + size);
  release(k);
  return out;
}

/** Upper bound of the Snappy-compressed size of n bytes (the reference's MaxCompressedLength). */
export function maxCompressedLength(n: number): number {
  return 32 + n + Math.floor(n / 6);
}

/**
 * Snappy of `input` (raw block format: the length as a varint, then literals and copies), as a
 * view of the kernel's memory: valid until the next call into the page kernel on this thread (copy
 * it out before). Throws Error when the kernel cannot hold the input and its output.
 */
export function snappyCompressWasm(input: Uint8Array): Uint8Array {
  const outAt = align(input.length);
  const { k, base } = reserved(outAt + maxCompressedLength(input.length) + SLACK);
  k.view.set(input, base);
  const n = k.compress(base, input.length, base + outAt) >>> 0;
  const out = new Uint8Array(k.memory.buffer, base + outAt, n);
  release(k);
  return out;
}

/**
 * The PLAIN payload of values [from, to) (value i: data[start[i], start[i] + len[i]), to > from)
 * — each as a u32 little-endian length and its bytes — appended to `out` (grown with `ensure`,
 * written at `out.pos`, which moves past it), and the first rows holding the least and greatest value
 * in unsigned byte order. Null, with nothing written, when the values' bytes are spread over more
 * than 8 times their total plus 1 MiB (their span is copied into the kernel: a native copy costs
 * ~1/10 of what the JS loop pays per byte of a value, so a span of a few times the bytes — other
 * columns' bytes in between, as dedupe's batches have — still pays), or over SPAN_MAX_BYTES (the
 * kernel's memory is kept by the thread: bounded like a page's).
 */
/** Where stringsExtent leaves the values' first byte and end. */
const extent = new Float64Array(2);
/**
 * The bytes of values [from, to) (returned) and the range of `data` they lie in (extent, stored in
 * the loop as it changes: nothing but a return follows the loop, which is often entered on-stack).
 */
function stringsExtent(start: Int32Array, len: Int32Array, from: number, to: number): number {
  let lo = Infinity, hi = 0, bytes = 0;
  extent[0] = lo;
  extent[1] = hi;
  for (let i = from; i < to; i++) {
    const s = start[i]!, n = len[i]!;
    bytes += n;
    if (s < lo) extent[0] = lo = s;
    if (s + n > hi) extent[1] = hi = s + n;
  }
  return bytes;
}

export function plainStringsWasm(data: Uint8Array, start: Int32Array, len: Int32Array, from: number, to: number, out: { buf: Uint8Array; pos: number; ensure(n: number): void }): { lo: number; hi: number } | null {
  const count = to - from;
  const bytes = stringsExtent(start, len, from, to);
  const lo = extent[0]!, hi = extent[1]!;
  const span = hi - lo;
  if (span > 8 * bytes + (1 << 20) || span > SPAN_MAX_BYTES) return null;
  const page = bytes + 4 * count;
  const startsAt = 0, lensAt = startsAt + align(4 * count), dataAt = lensAt + align(4 * count), outAt = dataAt + align(span), extAt = outAt + align(page);
  const { k, base } = reserved(extAt + 8 + SLACK);
  const mem = k.memory.buffer;
  new Int32Array(mem, base + startsAt, count).set(start.subarray(from, to));
  new Int32Array(mem, base + lensAt, count).set(len.subarray(from, to));
  k.view.set(data.subarray(lo, hi), base + dataAt);
  const n = k.plainStrings(base + dataAt, lo, base + startsAt, base + lensAt, count, base + outAt, base + extAt) >>> 0;
  if (n !== page) throw new DagctlError('INTERNAL', `page kernel: plainStrings wrote ${n} bytes, expected ${page}`);
  out.ensure(page);
  out.buf.set(k.view.subarray(base + outAt, base + outAt + page), out.pos);
  out.pos += page;
  const ext = new Uint32Array(mem, base + extAt, 2);
  const r = { lo: from + ext[0]!, hi: from + ext[1]! };
  release(k);
  return r;
}

/** A split-block Bloom filter's layout: `blocks` blocks of eight words (split-bloom.ts). */
export interface BloomWords { blocks: number; words: Uint32Array }

/**
 * Called, when given, with the first value of the page that is not UTF-8 (its index in the page and
 * a copy of its bytes) before any hit is handed back: every value of the page is checked by the
 * kernel where it lies (native/pages.c nonUtf8: one pass when the page is ASCII, else value by
 * value), misses included. It usually throws; if it returns, the probe goes on.
 */
export type NotUtf8 = (index: number, bytes: Uint8Array) => void;

/**
 * Tests the `count` PLAIN BYTE_ARRAY values of one page against `bloom`: `body` is the page's
 * stored bytes, Snappy-compressed to `size` bytes when `compressed`. Calls onHit(bytes, start,
 * len, index) for each value that passes, in order — bytes[start, start + len) its bytes, valid
 * during the call only — and returns the number of hits; `notUtf8`: see NotUtf8.
 */
export function probePlainPage(body: Uint8Array, compressed: boolean, size: number, count: number, bloom: BloomWords, onHit: (bytes: Buffer, start: number, len: number, index: number) => void, notUtf8?: NotUtf8): number {
  const size0 = compressed ? size : body.length;
  const wordsAt = 0, hitsAt = align(bloom.words.length * 4), startsAt = hitsAt + align(count * 4), lensAt = startsAt + align(count * 4);
  const inAt = lensAt + align(count * 4), dataAt = compressed ? inAt + align(body.length) : inAt;
  const { k, base } = reserved(dataAt + size0 + SLACK);
  new Uint32Array(k.memory.buffer, base + wordsAt, bloom.words.length).set(bloom.words);
  placePage(k, body, compressed, size, base + inAt, base + dataAt);
  const nh = ok(k.probePlain(base + dataAt, size0, count, base + wordsAt, bloom.blocks, base + hitsAt, base + startsAt, base + lensAt));
  const mem = k.memory.buffer;
  const hits = new Uint32Array(mem, base + hitsAt, nh), starts = new Uint32Array(mem, base + startsAt, nh), lens = new Uint32Array(mem, base + lensAt, nh);
  const d = base + dataAt;
  if (notUtf8 !== undefined) checkUtf8(k, d, size0, count, notUtf8);
  for (let h = 0; h < nh; h++) onHit(k.buf, d + starts[h]!, lens[h]!, hits[h]!);
  release(k);
  return nh;
}

/**
 * notUtf8 of the page at kernel address `at` (`size` bytes, SLACK readable past it), if a value is
 * not UTF-8: the kernel's nonUtf8 finds the first (each value well-formed UTF-8 on its own: the
 * rule of utf8.ts pageUtf8).
 */
function checkUtf8(k: Kernel, at: number, size: number, count: number, notUtf8: NotUtf8): void {
  const index = k.nonUtf8(at, size, count);
  if (index < 0) return;
  let pos = at;
  for (let i = 0; i < index; i++) pos += 4 + k.buf.readUInt32LE(pos);
  const bytes = k.view.slice(pos + 4, pos + 4 + k.buf.readUInt32LE(pos));
  release(k);
  notUtf8(index, bytes);
}

/**
 * An exact set of distinct strings for probeKeysPage, key i's id being i: their UTF-8 bytes end to
 * end (key i at bytes[offsets[i], offsets[i + 1])). The kernel hashes them into its table. Only
 * well-formed strings (KernelKeys.of): UTF-8 is then one-to-one, so equal bytes are equal strings
 * (a lone surrogate would encode as U+FFFD's bytes and match a value that decodes to U+FFFD).
 */
export class KernelKeys {
  readonly size: number;
  readonly offsets: Uint32Array;
  readonly bytes: Uint8Array;
  /** The set of `keys` (distinct), or null when one is not a well-formed string. */
  static of(keys: readonly string[]): KernelKeys | null {
    // All ASCII (the usual ids): one string, one encode, offsets from the lengths.
    const joined = keys.join('');
    const offsets = new Uint32Array(keys.length + 1);
    if (Buffer.byteLength(joined, 'utf8') === joined.length) {
      for (let i = 0; i < keys.length; i++) offsets[i + 1] = offsets[i]! + keys[i]!.length;
      return new KernelKeys(offsets, Buffer.from(joined, 'latin1'));
    }
    for (const k of keys) if (LONE_SURROGATE.test(k)) return null;
    for (let i = 0; i < keys.length; i++) offsets[i + 1] = offsets[i]! + Buffer.byteLength(keys[i]!, 'utf8');
    const buf = Buffer.allocUnsafe(offsets[keys.length]!);
    for (let i = 0; i < keys.length; i++) buf.write(keys[i]!, offsets[i]!, 'utf8');
    return new KernelKeys(offsets, buf);
  }
  private constructor(offsets: Uint32Array, buf: Buffer) {
    this.size = offsets.length - 1;
    this.offsets = offsets;
    this.bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  }
}

const LONE_SURROGATE = /\p{Cs}/u;

/** The filter's words and the key table at the heap base, unless they are there already. */
function loadResident(keys: KernelKeys, bloom: BloomWords): NonNullable<typeof resident> {
  if (resident !== null && resident.keys === keys && resident.bloom === bloom && kernel !== null) return resident;
  resident = null;
  let slots = 2;
  while (slots < 2 * keys.size + 1) slots *= 2;
  const bits = prefilterBits(keys.size);
  // The filter's words, the set's header (native/pages.c probeKeys), its table, prefilter, offsets, bytes.
  const wordsAt = 0, setAt = align(bloom.words.length * 4), tableAt = setAt + align(6 * 4), preAt = tableAt + align(slots * 4);
  const koffAt = preAt + align(bits / 8), kbytesAt = koffAt + align(keys.offsets.length * 4);
  const bytes = kbytesAt + align(keys.bytes.length);
  const { k, base } = reserved(bytes);
  new Uint32Array(k.memory.buffer, base + wordsAt, bloom.words.length).set(bloom.words);
  new Uint32Array(k.memory.buffer, base + setAt, 6).set([base + tableAt, slots - 1, base + koffAt, base + kbytesAt, base + preAt, bits - 1]);
  new Uint32Array(k.memory.buffer, base + koffAt, keys.offsets.length).set(keys.offsets);
  k.view.set(keys.bytes, base + kbytesAt);
  k.buildKeys(base + setAt, keys.size);
  // base is the heap base here (nothing resident): offsets are absolute from now on.
  resident = { keys, bloom, bytes, wordsAt: base + wordsAt, setAt: base + setAt };
  return resident;
}

/**
 * Bits of the kernel's prefilter for n keys: a power of two ≥ 16 n (≤ 1/16 of the bits set, so
 * ~94% of other values stop at it), at least 32.
 */
export function prefilterBits(n: number): number {
  let bits = 32;
  while (bits < 16 * n) bits *= 2;
  return bits;
}

/**
 * probePlainPage's test, then each value that passes looked up exactly in `keys`: appends, from
 * `at`, each member's value index to `rows` and its key id to `ids` (no bytes come back), and
 * returns the new end and the filter's false positives among the values it tested (a value the
 * kernel's prefilter rules out — no key has its quick hash — is not tested: see native/pages.c).
 * `rows` and `ids` must hold at + count; `notUtf8`: see NotUtf8. Preconditions: every key of
 * `keys` passes `bloom`.
 */
export function probeKeysPage(body: Uint8Array, compressed: boolean, size: number, count: number, bloom: BloomWords, keys: KernelKeys, rows: Int32Array, ids: Int32Array, at: number, notUtf8?: NotUtf8): { end: number; falsePositives: number } {
  const r = loadResident(keys, bloom);
  const size0 = compressed ? size : body.length;
  const fpAt = 0, rowsAt = 16, idsAt = rowsAt + align(count * 4), inAt = idsAt + align(count * 4), dataAt = compressed ? inAt + align(body.length) : inAt;
  const { k, base } = reserved(dataAt + size0 + SLACK);
  placePage(k, body, compressed, size, base + inAt, base + dataAt);
  const mem = k.memory.buffer;
  new Uint32Array(mem, base + fpAt, 1)[0] = 0;
  const nh = ok(k.probeKeys(base + dataAt, size0, count, r.wordsAt, bloom.blocks, r.setAt, base + rowsAt, base + idsAt, base + fpAt));
  if (notUtf8 !== undefined) checkUtf8(k, base + dataAt, size0, count, notUtf8);
  rows.set(new Int32Array(mem, base + rowsAt, nh), at);
  ids.set(new Int32Array(mem, base + idsAt, nh), at);
  const falsePositives = new Uint32Array(mem, base + fpAt, 1)[0]!;
  release(k);
  return { end: at + nh, falsePositives };
}

/**
 * The values at rows at[0..n) (ascending, within the group) of a PLAIN integer column chunk given
 * as its stored pages (width 4: INT32, 8: INT64), as doubles: each page decompressed in the
 * kernel and only those rows read there (no page copied out). Throws Error on a malformed page, an
 * INT64 that is not a safe integer, rows not ascending, or a row past the chunk.
 */
export function gatherPlainInts(pages: readonly PageBody[], width: 4 | 8, at: Int32Array, n: number): Float64Array {
  let maxBody = 0, maxData = 0;
  for (const p of pages) {
    maxBody = Math.max(maxBody, p.compressed ? p.body.length : 0);
    maxData = Math.max(maxData, p.compressed ? p.size : p.body.length);
  }
  const atAt = 0, outAt = align(n * 4), inAt = outAt + align(n * 8), dataAt = inAt + align(maxBody);
  const { k, base } = reserved(dataAt + maxData + SLACK);
  new Int32Array(k.memory.buffer, base + atAt, n).set(at.subarray(0, n));
  let j = 0, r0 = 0;
  for (const p of pages) {
    if (j >= n) break;
    const len = p.compressed ? p.size : p.body.length;
    if (len < p.count * width) throw new Error('page truncated');
    placePage(k, p.body, p.compressed, p.size, base + inAt, base + dataAt);
    const got = k.gatherInts(base + dataAt, p.count, width, base + atAt + 4 * j, n - j, r0, base + outAt + 8 * j);
    if (got < 0) throw new Error(`${ERRORS[got] ?? `page kernel error ${got}`} (row ${at[j] ?? -1} or after)`);
    j += got;
    r0 += p.count;
  }
  if (j !== n) throw new Error(`row ${at[j]!} past the row group`);
  const out = new Float64Array(n);
  out.set(new Float64Array(k.memory.buffer, base + outAt, n));
  release(k);
  return out;
}
