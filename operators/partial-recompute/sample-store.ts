/**
 * The per-person sample store: partial-recompute's optional second output, so that a partial run
 * reads the affected persons' master samples by key instead of scanning the whole master.
 *
 * A store file is a Parquet file of STORE_SCHEMA: its rows' `chunk` values, concatenated in row
 * order, are u32 header length | header (JSON, StoreHeader: the master files whose samples it
 * holds, each [path, bytes, id] with id the file's sha256 or store etag, and its bucket) | entries,
 * a hash-addressed table of persons (one person in at most one file of a store version). Chunks of
 * at most CHUNK bytes: a Parquet reader decodes a column's min/max statistics with its footer, so
 * one big value would be decoded twice more (measured: most of a partial run's store read).
 * A full run's bucket b holds exactly the persons with bucketOf(person, B) = b (its shuffle's
 * routing), so a person is looked up in one file. Entries:
 *   "DGSS" | u32 version (1) | u32 n | u32 hash[n] ascending (fnv1a32 of the person) |
 *   u32 offset[n + 1] (into data) | data: per person varint keyLength, UTF-8 key, varint count,
 *   then count × (zigzag varint ts − previous ts, zigzag varint age), sorted by (ts, age), distinct.
 * A lookup is a binary search over the hashes and a byte comparison of the key: a partial run
 * decodes the affected persons' entries only (no decompression of every master page).
 *
 * Contract: an entry holds exactly the distinct (age, ts) samples of its person in the covered
 * files. `identityOf` gives a master's covers, or null when a file has no stable identity or has
 * deleted rows (then no store is written or used). `coverCheck` tells a store usable only when every
 * covered file is still in the master with the same bytes and id; the master's other files are
 * returned as extra (a partial run scans those). `encodeEntries` returns null when a value does not
 * fit the encoding exactly (not a safe integer below 2^51): no store then. A malformed entries blob
 * is a StoreError (the caller falls back to the scan).
 */
import { fnv1a32 } from '../../core/hash.js';
import type { Schema } from '../../storage/types.js';
import type { InputHandle, VersionFile } from '../types.js';

export const STORE_SCHEMA: Schema = [{ name: 'chunk', type: 'bytes' }];
export const CHUNK = 32 * 1024;

/** A covered master file: path, bytes, sha256 (or etag). */
export type Cover = [string, number, string];

export class StoreError extends Error {}

/** The master's files as covers (sorted by path), or null when one has no identity or deleted rows. */
export function identityOf(master: Pick<InputHandle, 'filesWithDeletes'>): { covers: Cover[]; files: VersionFile[] } | null {
  const files = master.filesWithDeletes?.();
  if (files === undefined) return null;
  const covers: Cover[] = [];
  for (const f of files) {
    const id = f.entry.sha256 !== '' ? f.entry.sha256 : f.entry.etag ?? '';
    if (id === '' || f.deleted !== null) return null;
    covers.push([f.entry.path, f.entry.bytes, id]);
  }
  covers.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return { covers, files };
}

/**
 * Whether a store covering `covers` is usable over `master` (every covered file present, same bytes
 * and id; no path twice): the master's files it does not cover (`extra`), or null when not usable.
 */
export function coverCheck(covers: Cover[], master: { covers: Cover[]; files: VersionFile[] }): VersionFile[] | null {
  const now = new Map<string, Cover>();
  for (const c of master.covers) now.set(c[0], c);
  const seen = new Set<string>();
  for (const c of covers) {
    const m = now.get(c[0]);
    if (m === undefined || m[1] !== c[1] || m[2] !== c[2] || seen.has(c[0])) return null;
    seen.add(c[0]);
  }
  return master.files.filter((f) => !seen.has(f.entry.path));
}

/**
 * A store file's header (its `covers` column): the covered master files and which of the full
 * run's B buckets (persons with bucketOf(person, B) = bucket) its entries are. A store is usable
 * only with one file per bucket 0..B−1, all with the same covers: a bucket's missing file (not
 * written) would otherwise read as persons without master samples.
 */
export interface StoreHeader { covers: Cover[]; bucket: number; buckets: number }

export function headerText(h: StoreHeader): string {
  return JSON.stringify(h);
}

/** Parses a store file's header; null when it does not have that shape. */
export function parseHeader(text: string): StoreHeader | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null) return null;
  const { covers, bucket, buckets } = v as Record<string, unknown>;
  if (!Array.isArray(covers) || !Number.isInteger(buckets) || !Number.isInteger(bucket) || (bucket as number) < 0 || (bucket as number) >= (buckets as number)) return null;
  const out: Cover[] = [];
  for (const c of covers as unknown[]) {
    if (!Array.isArray(c) || c.length !== 3 || typeof c[0] !== 'string' || typeof c[1] !== 'number' || typeof c[2] !== 'string') return null;
    out.push([c[0], c[1], c[2]]);
  }
  return { covers: out, bucket: bucket as number, buckets: buckets as number };
}

const LIMIT = 2 ** 51;
const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;
const enc = new TextEncoder();

class Bytes {
  buf = new Uint8Array(1 << 16);
  n = 0;
  ensure(k: number): void {
    if (this.n + k <= this.buf.length) return;
    const b = new Uint8Array(Math.max(this.n + k, this.buf.length * 2));
    b.set(this.buf.subarray(0, this.n));
    this.buf = b;
  }
  /** An unsigned integer < 2^53 as a varint. */
  varint(v: number): void {
    this.ensure(8);
    while (v >= 128) {
      this.buf[this.n++] = (v % 128) + 128;
      v = Math.floor(v / 128);
    }
    this.buf[this.n++] = v;
  }
  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.n);
    this.n += b.length;
  }
}

const zig = (v: number): number => (v >= 0 ? 2 * v : -2 * v - 1);
const unzig = (z: number): number => (z % 2 === 0 ? z / 2 : -(z + 1) / 2);

/**
 * The entries blob of `persons` — each with its samples (ages[i], tss[i]) for i in [from, from + n)
 * of the given arrays, any order, repeats allowed — or null when a value is not an integer with
 * |v| < 2^51 (the store is then not written).
 */
export function encodeEntries(persons: Array<{ person: string; from: number; n: number }>, ages: ArrayLike<number>, tss: ArrayLike<number>): Uint8Array | null {
  const order = persons.map((p, i) => ({ h: fnv1a32(p.person), i })).sort((a, b) => a.h - b.h || a.i - b.i);
  const data = new Bytes();
  const offsets = new Uint32Array(order.length + 1);
  let pairs: Array<[number, number]> = [];
  for (const [k, { i }] of order.entries()) {
    const p = persons[i]!;
    offsets[k] = data.n;
    const key = enc.encode(p.person);
    data.varint(key.length);
    data.bytes(key);
    pairs = [];
    for (let j = p.from; j < p.from + p.n; j++) {
      const a = ages[j]!, t = tss[j]!;
      if (!Number.isInteger(a) || !Number.isInteger(t) || Math.abs(a) >= LIMIT || Math.abs(t) >= LIMIT) return null;
      pairs.push([t, a]);
    }
    pairs.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
    let distinct = 0;
    for (let j = 0; j < pairs.length; j++) if (j === 0 || pairs[j]![0] !== pairs[j - 1]![0] || pairs[j]![1] !== pairs[j - 1]![1]) distinct++;
    data.varint(distinct);
    let prev = 0;
    for (let j = 0; j < pairs.length; j++) {
      const [t, a] = pairs[j]!;
      if (j > 0 && t === pairs[j - 1]![0] && a === pairs[j - 1]![1]) continue;
      data.varint(zig(t - prev));
      data.varint(zig(a));
      prev = t;
    }
  }
  offsets[order.length] = data.n;
  const n = order.length;
  const head = 12 + 4 * n + 4 * (n + 1);
  const out = new Uint8Array(head + data.n);
  const dv = new DataView(out.buffer);
  out.set([0x44, 0x47, 0x53, 0x53]);
  dv.setUint32(4, 1, true);
  dv.setUint32(8, n, true);
  for (let k = 0; k < n; k++) dv.setUint32(12 + 4 * k, order[k]!.h, true);
  for (let k = 0; k <= n; k++) dv.setUint32(12 + 4 * n + 4 * k, offsets[k]!, true);
  out.set(data.buf.subarray(0, data.n), head);
  return out;
}

/** A store file's rows (STORE_SCHEMA): the header and entries cut into chunks of at most CHUNK bytes. */
export function storeRows(header: StoreHeader, entries: Uint8Array): Array<{ chunk: Uint8Array }> {
  // The header padded with spaces (still its JSON) so that the entries start 4-aligned: a reader
  // then views their index in place.
  const text = headerText(header);
  const h = enc.encode(text + ' '.repeat((4 - (enc.encode(text).length % 4)) % 4));
  const all = new Uint8Array(4 + h.length + entries.length);
  new DataView(all.buffer).setUint32(0, h.length, true);
  all.set(h, 4);
  all.set(entries, 4 + h.length);
  const rows: Array<{ chunk: Uint8Array }> = [];
  for (let at = 0; at < all.length; at += CHUNK) rows.push({ chunk: all.subarray(at, Math.min(all.length, at + CHUNK)) });
  return rows;
}

/** A store file's header and entries from its chunks in row order; StoreError when malformed. */
export function parseStoreFile(chunks: Uint8Array[]): { header: StoreHeader; entries: StoreEntries } {
  const n = chunks.reduce((a, c) => a + c.length, 0);
  const all = new Uint8Array(n);
  let at = 0;
  for (const c of chunks) { all.set(c, at); at += c.length; }
  if (n < 4) throw new StoreError('sample store file truncated (header)');
  const len = new DataView(all.buffer).getUint32(0, true);
  if (4 + len > n) throw new StoreError('sample store file truncated (header)');
  const header = parseHeader(new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(all.subarray(4, 4 + len)));
  if (header === null) throw new StoreError('sample store header malformed');
  return { header, entries: new StoreEntries(all.subarray(4 + len)) };
}

/** A decoded entries blob: lookups by person. */
export class StoreEntries {
  private readonly hashes: Uint32Array;
  private readonly offsets: Uint32Array;
  private readonly data: Uint8Array;
  readonly size: number;

  constructor(blob: Uint8Array) {
    if (blob.length < 16 || blob[0] !== 0x44 || blob[1] !== 0x47 || blob[2] !== 0x53 || blob[3] !== 0x53) throw new StoreError('not a sample store (magic)');
    const dv = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
    if (dv.getUint32(4, true) !== 1) throw new StoreError(`sample store version ${dv.getUint32(4, true)}, expected 1`);
    const n = dv.getUint32(8, true);
    const head = 12 + 8 * n + 4;
    if (head > blob.length) throw new StoreError('sample store truncated (index)');
      // The index viewed in place when 4-aligned on a little-endian machine (storeRows aligns it),
    // else copied out. Entries are bounds-checked when read (lookup), not here: a partial run
    // reads a few of them.
    if ((blob.byteOffset + 12) % 4 === 0 && LITTLE_ENDIAN) {
      this.hashes = new Uint32Array(blob.buffer, blob.byteOffset + 12, n);
      this.offsets = new Uint32Array(blob.buffer, blob.byteOffset + 12 + 4 * n, n + 1);
    } else {
      this.hashes = new Uint32Array(n);
      this.offsets = new Uint32Array(n + 1);
      for (let k = 0; k < n; k++) this.hashes[k] = dv.getUint32(12 + 4 * k, true);
      for (let k = 0; k <= n; k++) this.offsets[k] = dv.getUint32(12 + 4 * n + 4 * k, true);
    }
    this.data = blob.subarray(head);
    if (this.offsets[n]! !== this.data.length) throw new StoreError('sample store truncated (data)');
    this.size = n;
  }

  /**
   * Calls add(age, ts) for each of the person's samples (`key`: its UTF-8 bytes); returns how many,
   * or -1 when the person has no entry here.
   */
  lookup(person: string, key: Uint8Array, add: (age: number, ts: number) => void, h = fnv1a32(person)): number {
    const hs = this.hashes;
    let lo = 0, hi = this.size;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (hs[mid]! < h) lo = mid + 1;
      else hi = mid;
    }
    const d = this.data;
    for (let k = lo; k < this.size && hs[k] === h; k++) {
      let at = this.offsets[k]!;
      const end = this.offsets[k + 1]!;
      if (at > end || end > d.length) throw new StoreError('sample store index out of order');
      const r = { at };
      const len = varintAt(d, r, end);
      at = r.at;
      if (len !== key.length || at + len > end) continue;
      let same = true;
      for (let j = 0; j < len; j++) if (d[at + j] !== key[j]) { same = false; break; }
      if (!same) continue;
      r.at = at + len;
      const count = varintAt(d, r, end);
      let ts = 0;
      for (let j = 0; j < count; j++) {
        ts += unzig(varintAt(d, r, end));
        add(unzig(varintAt(d, r, end)), ts);
      }
      if (r.at !== end) throw new StoreError(`sample store entry of ${person} malformed`);
      return count;
    }
    return -1;
  }
}

function varintAt(d: Uint8Array, r: { at: number }, end: number): number {
  let v = 0, scale = 1;
  for (;;) {
    if (r.at >= end || scale > 2 ** 49) throw new StoreError('sample store varint out of bounds');
    const b = d[r.at++]!;
    v += (b & 127) * scale;
    if (b < 128) return v;
    scale *= 128;
  }
}
