/**
 * Parquet RLE/bit-packed hybrid runs, the two shapes the flat writer needs:
 *   - a single RLE run when every value is the same (non-null columns' levels, one-value dictionaries);
 *   - otherwise one bit-packed run over all values (padded with zeros to a multiple of 8; readers
 *     stop at the page's value count).
 * Simple rather than optimal: Snappy squeezes the bit-packed bytes further. Precondition: values
 * are non-negative and < 2^bitWidth, bitWidth <= 24 (dictionary indices of a 64k-row group need 17).
 */
import type { ByteSink } from './sink.js';

/** A single RLE run of `count` copies of `value` (bitWidth bits, stored in whole bytes). */
export function writeRleRun(out: ByteSink, count: number, value: number, bitWidth: number): void {
  out.varint(count * 2);
  for (let b = 0; b < Math.ceil(bitWidth / 8); b++) out.u8((value >>> (8 * b)) & 0xff);
}

/** One bit-packed run of values[0..n), LSB first. */
export function writeBitPacked(out: ByteSink, values: Int32Array | Uint8Array, n: number, bitWidth: number): void {
  const groups = Math.ceil(n / 8);
  out.varint(groups * 2 + 1);
  out.ensure(groups * bitWidth);
  // The loop in a function of its own, returning the position: nothing after the loop that an
  // on-stack-replaced loop would reach without type feedback.
  out.pos = pack(out.buf, out.pos, values, n, groups * 8, bitWidth);
}

function pack(buf: Uint8Array, p: number, values: Int32Array | Uint8Array, n: number, padded: number, bitWidth: number): number {
  let acc = 0, bits = 0;
  for (let i = 0; i < padded; i++) {
    const v = i < n ? values[i]! : 0;
    acc |= v << bits;
    bits += bitWidth;
    while (bits >= 8) {
      buf[p++] = acc & 0xff;
      acc >>>= 8;
      bits -= 8;
    }
  }
  return p;
}

/** Bits needed for values up to maxValue (at least 1: some readers mishandle width 0). */
export function bitWidthFor(maxValue: number): number {
  let w = 1;
  while (maxValue >= 2 ** w) w++;
  return w;
}
