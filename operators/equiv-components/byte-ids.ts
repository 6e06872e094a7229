/**
 * What readers of interned byte ids need: lib/byte-intern.ts ByteInterner (the JS kernel) and the
 * WebAssembly kernel's ids (lib/wasm-components.ts) both have this shape, so emitting star edges
 * (equiv-components) and packing edge chunks (lib/edge-chunks.ts) work on either.
 */
export interface ByteIds {
  readonly size: number;
  /** The 32-bit hash of id i's bytes: the same function in both kernels (ids route alike). */
  hashOf(i: number): number;
  byteLength(i: number): number;
  /** Copies id i's UTF-8 bytes to dst at `at`; returns the offset after them. */
  copyBytes(i: number, dst: Uint8Array, at: number): number;
  name(i: number): string;
  /** Whether name(i) < name(j) in JS string order. */
  less(i: number, j: number): boolean;
}
