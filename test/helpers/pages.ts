/**
 * Test pages in the reader's in-memory shape (storage/parquet/page-types.ts ByteArrayPage): a
 * PLAIN BYTE_ARRAY page, [u32 LE length][bytes] per value, each value's (start, len) after its prefix.
 */
import type { ByteArrayPage } from '../../storage/parquet/page-types.js';

/** A PLAIN page of `values` (strings are UTF-8 encoded). */
export function plainPage(values: ReadonlyArray<Uint8Array | string>): ByteArrayPage {
  const bytes = values.map((v) => (typeof v === 'string' ? Buffer.from(v) : v));
  const data = new Uint8Array(bytes.reduce((n, v) => n + 4 + v.length, 0));
  const view = new DataView(data.buffer);
  const start = new Int32Array(bytes.length), len = new Int32Array(bytes.length);
  let at = 0;
  bytes.forEach((v, i) => {
    view.setUint32(at, v.length, true);
    start[i] = at + 4;
    len[i] = v.length;
    data.set(v, at + 4);
    at += 4 + v.length;
  });
  return { data, start, len, count: bytes.length };
}
