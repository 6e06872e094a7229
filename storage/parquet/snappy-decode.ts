/**
 * Snappy block decompression (raw format, as Parquet's SNAPPY codec stores pages) for the raw page
 * readers (pages.ts snappy(): column-scan.ts, string-column.ts). Same input → same output and the
 * same refusals as hyparquet's snappyUncompress (the oracle in test/storage/snappy-decode.test.ts),
 * but literals and copies move 4 bytes per DataView load/store instead of one byte per index:
 * Parquet string pages decode as many tiny elements (1M master `person` values: ~5-byte literals
 * and ~10-byte copies), where the byte loops were ~45% of a partial-recompute fetch scan.
 * A copy with offset ≥ 4 may overlap its source: each 4-byte step reads only bytes already
 * written (source end = destination start + 4 − offset ≤ destination start). Offsets < 4 (runs)
 * go byte by byte. Long literals use TypedArray.set.
 * Preconditions: `out` has exactly the uncompressed size. Throws Error (callers wrap it) on a
 * malformed stream; never writes past `out`.
 */

/** Decompresses `input` into `out`, which must be exactly the uncompressed size. */
export function snappyDecompress(input: Uint8Array, out: Uint8Array): void {
  const n = input.length, olen = out.length;
  const idv = new DataView(input.buffer, input.byteOffset, input.byteLength);
  const odv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  let pos = 0, op = 0;
  // Preamble: the uncompressed length as a varint (skipped: the final length check covers it).
  while (pos < n) {
    if (input[pos++]! < 128) break;
  }
  if (olen > 0 && pos >= n) throw new Error('invalid snappy length header');
  while (pos < n) {
    const c = input[pos++]!;
    if (pos >= n) throw new Error('missing eof marker');
    const t = c & 3;
    if (t === 0) {
      let len = (c >>> 2) + 1;
      if (len > 60) {
        const ls = len - 60;
        if (pos + 3 >= n) throw new Error('snappy literal length past end of input');
        len = input[pos]!;
        if (ls > 1) len |= input[pos + 1]! << 8;
        if (ls > 2) len |= input[pos + 2]! << 16;
        if (ls > 3) len |= input[pos + 3]! << 24;
        len = (len >>> 0) + 1;
        pos += ls;
      }
      if (pos + len > n) throw new Error('snappy literal exceeds input length');
      if (op + len > olen) throw new Error('snappy output exceeds its length');
      if (len > 64) out.set(input.subarray(pos, pos + len), op);
      else {
        let i = 0;
        for (; i + 4 <= len; i += 4) odv.setInt32(op + i, idv.getInt32(pos + i));
        for (; i < len; i++) out[op + i] = input[pos + i]!;
      }
      pos += len;
      op += len;
      continue;
    }
    let len: number, off: number;
    if (t === 1) {
      len = ((c >>> 2) & 7) + 4;
      off = input[pos]! | ((c >>> 5) << 8);
      pos += 1;
    } else if (t === 2) {
      if (pos + 1 >= n) throw new Error('snappy copy past end of input');
      len = (c >>> 2) + 1;
      off = input[pos]! | (input[pos + 1]! << 8);
      pos += 2;
    } else {
      if (pos + 3 >= n) throw new Error('snappy copy past end of input');
      len = (c >>> 2) + 1;
      off = (input[pos]! | (input[pos + 1]! << 8) | (input[pos + 2]! << 16) | (input[pos + 3]! << 24)) >>> 0;
      pos += 4;
    }
    if (off === 0) throw new Error('snappy copy with offset 0');
    if (off > op) throw new Error('snappy copy from before start of buffer');
    if (op + len > olen) throw new Error('snappy output exceeds its length');
    const s = op - off;
    let i = 0;
    if (off >= 4) for (; i + 4 <= len; i += 4) odv.setInt32(op + i, odv.getInt32(s + i));
    for (; i < len; i++) out[op + i] = out[s + i]!;
    op += len;
  }
  if (op !== olen) throw new Error('premature end of input');
}
