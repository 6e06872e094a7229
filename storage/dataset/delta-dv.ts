/**
 * Delta Lake deletion vectors (PROTOCOL.md "Deletion Vectors"): the rows of a data file a table
 * version no longer holds, as the log's `add.deletionVector` descriptor. dagctl writes them inline
 * (storageType 'i': the serialised RoaringBitmapArray, Z85-encoded, in the commit itself: no extra
 * object to write, read or vacuum) and reads inline ones; on-disk ones ('u', 'p': written by other
 * engines) are refused with DELTA_LOG_INVALID by the caller, never skipped.
 *
 *   serializeRoaringArray(positions) → bytes   magic 1681511377 (LE), then the portable 64-bit
 *                                              Roaring format: numBuckets (u64 LE), per bucket its
 *                                              key (u32 LE) and a 32-bit RoaringBitmap (cookie 12346,
 *                                              no run containers: array ≤ 4096 values, else bitmap)
 *   parseRoaringArray(bytes)         → sorted positions (array, bitmap and run containers)
 *   z85Encode(bytes) / z85Decode(text, size)   Z85 over the bytes zero-padded to a multiple of 4
 *   inlineDescriptor(positions)      → { storageType: 'i', pathOrInlineDv, sizeInBytes, cardinality }
 *   descriptorPositions(dv)          → positions of an inline descriptor (throws for on-disk ones)
 *   dvUniqueId(dv)                   → `<storageType><pathOrInlineDv>[@offset]` (the logical file's id)
 *
 * Pure; positions are row indexes < 2^31 (dagctl's files), so one bucket, key 0.
 */
import { DagctlError } from '../../core/errors.js';

export const DV_MAGIC = 1681511377;
const COOKIE_NO_RUN = 12346;
const COOKIE_RUN = 12347;

export interface DeletionVectorDescriptor {
  storageType: string;
  pathOrInlineDv: string;
  offset?: number;
  sizeInBytes: number;
  cardinality: number;
}

export function serializeRoaringArray(positions: ArrayLike<number>): Uint8Array {
  // Containers by the high 16 bits (positions are sorted and distinct).
  const containers: { key: number; values: number[] }[] = [];
  for (let i = 0; i < positions.length; i++) {
    const p = positions[i]!;
    const key = p >>> 16;
    let c = containers.at(-1);
    if (c === undefined || c.key !== key) containers.push((c = { key, values: [] }));
    c.values.push(p & 0xffff);
  }
  const n = containers.length;
  const sizes = containers.map((c) => (c.values.length <= 4096 ? 2 * c.values.length : 8192));
  const header = 8 + 4 * n + 4 * n;
  const bitmapBytes = header + sizes.reduce((a, b) => a + b, 0);
  const out = new Uint8Array(4 + 8 + (n > 0 ? 4 + bitmapBytes : 0));
  const dv = new DataView(out.buffer);
  dv.setUint32(0, DV_MAGIC, true);
  dv.setBigUint64(4, BigInt(n > 0 ? 1 : 0), true);
  if (n === 0) return out;
  dv.setUint32(12, 0, true); // bucket key 0: every position < 2^32
  const base = 16;
  dv.setUint32(base, COOKIE_NO_RUN, true);
  dv.setUint32(base + 4, n, true);
  let at = header;
  containers.forEach((c, i) => {
    dv.setUint16(base + 8 + 4 * i, c.key, true);
    dv.setUint16(base + 8 + 4 * i + 2, c.values.length - 1, true);
    dv.setUint32(base + 8 + 4 * n + 4 * i, at, true);
    const o = base + at;
    if (c.values.length <= 4096) c.values.forEach((v, k) => dv.setUint16(o + 2 * k, v, true));
    else for (const v of c.values) out[o + (v >>> 3)]! |= 1 << (v & 7);
    at += sizes[i]!;
  });
  return out;
}

export function parseRoaringArray(bytes: Uint8Array, where: string): number[] {
  const bad = (why: string): DagctlError => new DagctlError('DELTA_LOG_INVALID', `${where}: corrupt deletion vector: ${why}`, { file: where });
  if (bytes.length < 12) throw bad('shorter than its header');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dv.getUint32(0, true) !== DV_MAGIC) throw bad(`magic ${dv.getUint32(0, true)}, expected ${DV_MAGIC}`);
  const buckets = Number(dv.getBigUint64(4, true));
  const out: number[] = [];
  let at = 12;
  const need = (k: number): void => {
    if (at + k > bytes.length) throw bad('truncated');
  };
  for (let b = 0; b < buckets; b++) {
    need(4);
    const high = dv.getUint32(at, true) * 2 ** 32;
    at += 4;
    const start = at;
    need(4);
    const cookieWord = dv.getUint32(at, true);
    let n: number;
    let runs: Uint8Array | null = null;
    if (cookieWord === COOKIE_NO_RUN) {
      need(8);
      n = dv.getUint32(at + 4, true);
      at += 8;
    } else if ((cookieWord & 0xffff) === COOKIE_RUN) {
      n = (cookieWord >>> 16) + 1;
      at += 4;
      const len = Math.ceil(n / 8);
      need(len);
      runs = bytes.subarray(at, at + len);
      at += len;
    } else throw bad(`roaring cookie ${cookieWord}`);
    need(4 * n);
    const keys: number[] = [], cards: number[] = [];
    for (let i = 0; i < n; i++) {
      keys.push(dv.getUint16(at + 4 * i, true));
      cards.push(dv.getUint16(at + 4 * i + 2, true) + 1);
    }
    at += 4 * n;
    if (runs === null || n >= 4) at += 4 * n; // offset header (always without runs; with runs from 4 containers)
    for (let i = 0; i < n; i++) {
      const hi = high + keys[i]! * 65536;
      const isRun = runs !== null && (runs[i >>> 3]! & (1 << (i & 7))) !== 0;
      if (isRun) {
        need(2);
        const nr = dv.getUint16(at, true);
        at += 2;
        need(4 * nr);
        for (let r = 0; r < nr; r++) {
          const s = dv.getUint16(at + 4 * r, true), l = dv.getUint16(at + 4 * r + 2, true);
          for (let v = s; v <= s + l; v++) out.push(hi + v);
        }
        at += 4 * nr;
      } else if (cards[i]! <= 4096) {
        need(2 * cards[i]!);
        for (let k = 0; k < cards[i]!; k++) out.push(hi + dv.getUint16(at + 2 * k, true));
        at += 2 * cards[i]!;
      } else {
        need(8192);
        for (let w = 0; w < 8192; w++) {
          const byte = bytes[at + w]!;
          if (byte !== 0) for (let bit = 0; bit < 8; bit++) if (byte & (1 << bit)) out.push(hi + w * 8 + bit);
        }
        at += 8192;
      }
    }
    void start;
  }
  if (at !== bytes.length) throw bad(`${bytes.length - at} trailing bytes`);
  return out;
}

const Z85 = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#';
const Z85_INDEX = new Int16Array(128).fill(-1);
for (let i = 0; i < Z85.length; i++) Z85_INDEX[Z85.charCodeAt(i)] = i;

export function z85Encode(bytes: Uint8Array): string {
  const padded = new Uint8Array(Math.ceil(bytes.length / 4) * 4);
  padded.set(bytes);
  const dv = new DataView(padded.buffer);
  let s = '';
  for (let i = 0; i < padded.length; i += 4) {
    let v = dv.getUint32(i, false);
    const chunk = new Array<string>(5);
    for (let k = 4; k >= 0; k--) {
      chunk[k] = Z85[v % 85]!;
      v = Math.floor(v / 85);
    }
    s += chunk.join('');
  }
  return s;
}

export function z85Decode(text: string, size: number, where: string): Uint8Array {
  if (text.length % 5 !== 0 || (text.length / 5) * 4 < size) throw new DagctlError('DELTA_LOG_INVALID', `${where}: inline deletion vector of ${text.length} Z85 characters cannot hold ${size} bytes`, { file: where });
  const out = new Uint8Array((text.length / 5) * 4);
  const dv = new DataView(out.buffer);
  for (let i = 0, o = 0; i < text.length; i += 5, o += 4) {
    let v = 0;
    for (let k = 0; k < 5; k++) {
      const c = text.charCodeAt(i + k);
      const d = c < 128 ? Z85_INDEX[c]! : -1;
      if (d < 0) throw new DagctlError('DELTA_LOG_INVALID', `${where}: inline deletion vector has a character outside Z85`, { file: where });
      v = v * 85 + d;
    }
    if (v > 0xffffffff) throw new DagctlError('DELTA_LOG_INVALID', `${where}: inline deletion vector overflows`, { file: where });
    dv.setUint32(o, v, false);
  }
  return out.subarray(0, size);
}

export function inlineDescriptor(positions: ArrayLike<number>): DeletionVectorDescriptor {
  const bytes = serializeRoaringArray(positions);
  return { storageType: 'i', pathOrInlineDv: z85Encode(bytes), sizeInBytes: bytes.length, cardinality: positions.length };
}

/** The positions an inline descriptor holds; `where` names the log entry in errors. */
export function descriptorPositions(d: DeletionVectorDescriptor, where: string): number[] {
  if (d.storageType !== 'i') throw new DagctlError('DELTA_LOG_INVALID', `${where}: a deletion vector stored on disk (storageType '${d.storageType}'), which dagctl does not read`, { file: where });
  const positions = parseRoaringArray(z85Decode(d.pathOrInlineDv, d.sizeInBytes, where), where);
  if (positions.length !== d.cardinality) throw new DagctlError('DELTA_LOG_INVALID', `${where}: deletion vector holds ${positions.length} rows, its cardinality says ${d.cardinality}`, { file: where });
  return positions;
}

export function dvUniqueId(d: DeletionVectorDescriptor | null | undefined): string {
  if (d === null || d === undefined) return '';
  return `${d.storageType}${d.pathOrInlineDv}${d.offset === undefined || d.offset === null ? '' : `@${d.offset}`}`;
}
