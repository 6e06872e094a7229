/**
 * The page kernel (native/pages.c, WebAssembly, embedded by scripts/build-wasm.mjs as
 * wasm/pages-wasm.ts):
 *  - snappyDecompressWasm: Snappy block decompression, what pages.ts snappy() — every raw page
 *    reader — and the row decoder (hyparquet.ts, as hyparquet's SNAPPY decompressor) run. The
 *    same output as hyparquet's snappyUncompress and the same refusals, plus one (a 4-byte copy
 *    offset ≥ 2^31, which hyparquet misreads); ~2.3× faster than the word-at-a-time JS decoder it
 *    replaced (storage/parquet/snappy-decode.ts until session 5), copies in and out included.
 *  - probePlainPage: a Snappy-compressed (or stored) PLAIN BYTE_ARRAY page decompressed and every
 *    value tested against a split-block Bloom filter's words (operators/lib/split-bloom.ts's hash
 *    and test) in one call, the page left in the kernel's memory: only the hits come back, each
 *    handed to a callback with its bytes while they are valid. What partial-recompute's fetch scan
 *    of the master's persons runs (lib/late-scan.ts).
 *
 * One instance per thread (module state), reused: its memory holds the largest page seen so far,
 * and an instance that grew past IDLE_MAX_BYTES is dropped after the call, so a thread does not
 * keep one huge page's memory. Throws Error on a malformed stream or page (callers wrap it as
 * PARQUET_INVALID); never writes past the arrays it returns.
 */
import { DagctlError } from '../../core/errors.js';
import { PAGES_WASM_BASE64 } from './wasm/pages-wasm.js';

type Fn = (...args: number[]) => number;
interface Kernel { memory: WebAssembly.Memory; reserve: Fn; decompress: Fn; probePlain: Fn; view: Uint8Array; buf: Buffer }

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
};
/** Readable / writable bytes the kernel may touch past its input and output (native/pages.c). */
const SLACK = 16;
const IDLE_MAX_BYTES = 64 << 20;

let compiled: WebAssembly.Module | null = null;
let kernel: Kernel | null = null;

function instantiate(): Kernel {
  compiled ??= new WebAssembly.Module(Buffer.from(PAGES_WASM_BASE64, 'base64'));
  const e = new WebAssembly.Instance(compiled, {}).exports;
  const { memory, reserve, decompress, probePlain } = e;
  if (!(memory instanceof WebAssembly.Memory) || typeof reserve !== 'function' || typeof decompress !== 'function' || typeof probePlain !== 'function') throw new DagctlError('INTERNAL', 'page kernel: missing exports');
  return { memory, reserve: reserve as Fn, decompress: decompress as Fn, probePlain: probePlain as Fn, view: new Uint8Array(memory.buffer), buf: Buffer.from(memory.buffer) };
}

const align = (n: number): number => (n + SLACK + 15) & ~15;

/** The kernel with at least `bytes` reserved at the returned base, views current. */
function reserved(bytes: number): { k: Kernel; base: number } {
  const k = (kernel ??= instantiate());
  const base = k.reserve(bytes);
  if (base === 0) throw new Error(`page kernel: cannot hold ${bytes} bytes`);
  if (k.view.buffer !== k.memory.buffer) {
    k.view = new Uint8Array(k.memory.buffer);
    k.buf = Buffer.from(k.memory.buffer);
  }
  return { k, base };
}

function release(k: Kernel): void {
  if (k.memory.buffer.byteLength > IDLE_MAX_BYTES) kernel = null;
}

/** Decompresses `input` into a new array of exactly `size` bytes (the uncompressed size). */
export function snappyDecompressWasm(input: Uint8Array, size: number): Uint8Array {
  const outAt = align(input.length);
  const { k, base } = reserved(outAt + size + SLACK);
  k.view.set(input, base);
  const rc = k.decompress(base, input.length, base + outAt, size);
  if (rc !== 0) throw new Error(ERRORS[rc] ?? `page kernel error ${rc}`);
  const out = k.view.slice(base + outAt, base + outAt + size);
  release(k);
  return out;
}

/** A split-block Bloom filter's layout: `blocks` blocks of eight words (split-bloom.ts). */
export interface BloomWords { blocks: number; words: Uint32Array }

/**
 * Tests the `count` PLAIN BYTE_ARRAY values of one page against `bloom`: `body` is the page's
 * stored bytes, Snappy-compressed to `size` bytes when `compressed`. Calls onHit(bytes, start,
 * len, index) for each value that passes, in order — bytes[start, start + len) its UTF-8, valid
 * during the call only — and returns the number of hits.
 */
export function probePlainPage(body: Uint8Array, compressed: boolean, size: number, count: number, bloom: BloomWords, onHit: (bytes: Buffer, start: number, len: number, index: number) => void): number {
  const size0 = compressed ? size : body.length;
  const wordsAt = 0, hitsAt = align(bloom.words.length * 4), startsAt = hitsAt + align(count * 4), lensAt = startsAt + align(count * 4);
  const inAt = lensAt + align(count * 4), dataAt = compressed ? inAt + align(body.length) : inAt;
  const { k, base } = reserved(dataAt + size0 + SLACK);
  new Uint32Array(k.memory.buffer, base + wordsAt, bloom.words.length).set(bloom.words);
  k.view.set(body, base + inAt);
  if (compressed) {
    const rc = k.decompress(base + inAt, body.length, base + dataAt, size);
    if (rc !== 0) throw new Error(ERRORS[rc] ?? `page kernel error ${rc}`);
  }
  const nh = k.probePlain(base + dataAt, size0, count, base + wordsAt, bloom.blocks, base + hitsAt, base + startsAt, base + lensAt);
  if (nh < 0) throw new Error(ERRORS[nh] ?? `page kernel error ${nh}`);
  const mem = k.memory.buffer;
  const hits = new Uint32Array(mem, base + hitsAt, nh), starts = new Uint32Array(mem, base + startsAt, nh), lens = new Uint32Array(mem, base + lensAt, nh);
  const d = base + dataAt;
  for (let h = 0; h < nh; h++) onHit(k.buf, d + starts[h]!, lens[h]!, hits[h]!);
  release(k);
  return nh;
}
