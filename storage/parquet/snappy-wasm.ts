/**
 * Snappy block decompression on the WebAssembly kernel (native/snappy.c, embedded by
 * scripts/build-wasm.mjs as wasm/snappy-wasm.ts): what pages.ts snappy() — every raw page reader —
 * and the row decoder (hyparquet.ts, as hyparquet's SNAPPY decompressor) run. The same output as
 * hyparquet's snappyUncompress (test/storage/snappy-wasm.test.ts) and the same refusals, plus one
 * (a 4-byte copy offset ≥ 2^31, which hyparquet misreads); ~2.3× faster than the word-at-a-time
 * JS decoder it replaced (storage/parquet/snappy-decode.ts until session 5), copies in and out
 * included (BENCHMARKS.md).
 *
 *   const out = snappyDecompressWasm(compressed, uncompressedSize);   // a new Uint8Array
 *
 * One instance per thread (module state), reused: its memory holds the largest page seen so far,
 * and an instance that grew past IDLE_MAX_BYTES is dropped after the call, so a thread does not
 * keep one huge page's memory. Throws Error on a malformed stream (callers wrap it as
 * PARQUET_INVALID); never writes past the returned array.
 */
import { DagctlError } from '../../core/errors.js';
import { SNAPPY_WASM_BASE64 } from './wasm/snappy-wasm.js';

type Fn = (...args: number[]) => number;
interface Kernel { memory: WebAssembly.Memory; reserve: Fn; decompress: Fn; view: Uint8Array }

/** The kernel's error codes (native/snappy.c) → messages. */
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
};
/** Readable / writable bytes the kernel may touch past its input and output (native/snappy.c). */
const SLACK = 16;
const IDLE_MAX_BYTES = 64 << 20;

let compiled: WebAssembly.Module | null = null;
let kernel: Kernel | null = null;

function instantiate(): Kernel {
  compiled ??= new WebAssembly.Module(Buffer.from(SNAPPY_WASM_BASE64, 'base64'));
  const e = new WebAssembly.Instance(compiled, {}).exports;
  const { memory, reserve, decompress } = e;
  if (!(memory instanceof WebAssembly.Memory) || typeof reserve !== 'function' || typeof decompress !== 'function') throw new DagctlError('INTERNAL', 'snappy kernel: missing exports');
  return { memory, reserve: reserve as Fn, decompress: decompress as Fn, view: new Uint8Array(memory.buffer) };
}

/** Decompresses `input` into a new array of exactly `size` bytes (the uncompressed size). */
export function snappyDecompressWasm(input: Uint8Array, size: number): Uint8Array {
  const k = (kernel ??= instantiate());
  const outAt = (input.length + SLACK + 15) & ~15;
  const base = k.reserve(outAt + size + SLACK);
  if (base === 0) throw new Error(`snappy: cannot hold a ${size}-byte page`);
  if (k.view.buffer !== k.memory.buffer) k.view = new Uint8Array(k.memory.buffer);
  k.view.set(input, base);
  const rc = k.decompress(base, input.length, base + outAt, size);
  if (rc !== 0) throw new Error(ERRORS[rc] ?? `snappy kernel error ${rc}`);
  const out = k.view.slice(base + outAt, base + outAt + size);
  if (k.memory.buffer.byteLength > IDLE_MAX_BYTES) kernel = null;
  return out;
}
