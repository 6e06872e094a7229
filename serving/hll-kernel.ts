/**
 * The dense HLL merge kernel (native/hll.c, WebAssembly SIMD, embedded by scripts/build-wasm.mjs
 * as wasm/hll-wasm.ts): what serving/query.ts mergeSketches runs for the dense sketches of a
 * union. The caller stages each dense sketch's m registers (copied from its bytes: sketches live
 * outside the kernel's memory) and calls maxStaged when the stage is full, maxHist once at the end:
 * the register-wise max into the kernel's scratch registers and the histogram of the result in one
 * pass. Sparse entries are written by the caller into `regs` directly.
 *
 * One instance per thread (module state), created on first use; its memory never grows, so the
 * views below stay valid. Contract: `regs` is all zero between merges (the caller zeroes its first m
 * bytes after each, also when it throws); m a power of two in 16..65536; at most `stageSlots(m)`
 * sketches staged per maxStaged/maxHist call.
 */
import { DagctlError } from '../core/errors.js';
import { HLL_WASM_BASE64 } from './wasm/hll-wasm.js';

type Fn = (...args: number[]) => number;

export interface HllKernel {
  /** The scratch registers (65,536 bytes; a merge of precision p uses the first 2^p). */
  regs: Uint8Array;
  /** The stage: sketch k's m registers at k·m. */
  stage: Uint8Array;
  /** counts[v]: registers holding v after maxHist (all 256 byte values). */
  counts: Uint32Array;
  /** How many sketches of m registers the stage holds. */
  stageSlots(m: number): number;
  /** regs = max(regs, staged sketches 0..n). */
  maxStaged(n: number, m: number): void;
  /** maxStaged, then counts = the histogram of regs[0..m). */
  maxHist(n: number, m: number): void;
}

let kernel: HllKernel | null = null;

export function hllKernel(): HllKernel {
  if (kernel !== null) return kernel;
  const e = new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(HLL_WASM_BASE64, 'base64')), {}).exports;
  const { memory, regs, stage, stageBytes, counts, maxStaged, maxHist } = e;
  if (!(memory instanceof WebAssembly.Memory) || [regs, stage, stageBytes, counts, maxStaged, maxHist].some((f) => typeof f !== 'function')) throw new DagctlError('INTERNAL', 'hll kernel: missing exports');
  const bytes = (stageBytes as Fn)();
  kernel = {
    regs: new Uint8Array(memory.buffer, (regs as Fn)(), 1 << 16),
    stage: new Uint8Array(memory.buffer, (stage as Fn)(), bytes),
    counts: new Uint32Array(memory.buffer, (counts as Fn)(), 256),
    stageSlots: (m) => Math.floor(bytes / m),
    maxStaged: maxStaged as (n: number, m: number) => void,
    maxHist: maxHist as (n: number, m: number) => void,
  };
  return kernel;
}
