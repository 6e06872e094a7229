/**
 * Radix-partitioned interning of UTF-8 byte strings: bytes → dense int, without ever building a JS
 * string for an id (decoding ids to JS strings from Parquet costs more than interning them). Two
 * passes:
 *  - stage(src, off, len) packs the bytes four per int32 word while hashing them (FNV-1a over the
 *    words, lib/word-hash.ts fnvWords), then appends (hash, length, seq, words…) to one of P
 *    partitions chosen by the hash's top bits;
 *  - flush(out) interns partition by partition against cache-sized tables; out[seq] = the int.
 * Identity is exact (equal hash, length and words); a hash collision costs a comparison.
 * Canonical form: well-formed UTF-8. Staged bytes that are not valid UTF-8 are replaced by what
 * decoding them to a JS string and encoding it back gives (U+FFFD for bad sequences — what the
 * Parquet row decoder hands out for them), and stageString() encodes lone surrogates as U+FFFD
 * (as every Parquet writer does): so an id read as bytes and the same id read as a string intern
 * to the same int. Checked only for strings with a byte ≥ 0x80 (ids are mostly ASCII).
 * Order: less(i, j) is JS string order (UTF-16 code units), computed on the bytes: UTF-8 byte
 * order is code point order, which differs from UTF-16 order only between a supplementary
 * character (4-byte UTF-8, lead F0–F4; a surrogate pair in UTF-16) and one of U+E000–U+FFFF (lead
 * EE/EF), where UTF-16 puts the supplementary one first.
 * Ints are dense (0 … size−1) but not in first-seen order. Preconditions: ints exist only after
 * flush(); out.length ≥ pending. `hash` is injectable so tests can force collisions. Assumes a
 * little-endian host (checked by lib/word-hash.ts at load).
 */
import { isUtf8 } from 'node:buffer';
import { DagctlError } from '../../../core/errors.js';
import { fnvWords, type WordHash } from './word-hash.js';

const IDS_PER_PART = 1024;
const MAX_BITS = 8;
const PRESIZE_MAX = 1 << 19;
/** Words per string assumed when sizing buffers (they grow past it). */
const WORDS_PER_STRING = 4;

interface Part {
  /** [hash, int + 1 (0 = empty), pool offset (words), length (bytes)] per slot. */
  slots: Int32Array;
  mask: number;
  count: number;
  pool: Int32Array<ArrayBuffer>;
  /** Byte view of `pool` (rebuilt when it grows). */
  bytes: Uint8Array;
  /** A Buffer over `pool` for name() (made on first use, dropped when the pool grows). */
  buf: Buffer | null;
  poolUsed: number;
  /** Staged records [hash, length, seq, words…], back to back. */
  staged: Int32Array;
  stagedUsed: number;
}

function uninit(n: number): Int32Array<ArrayBuffer> {
  const b = Buffer.allocUnsafeSlow(4 * n);
  return new Int32Array(b.buffer, 0, n);
}

function grown(a: Int32Array, need: number): Int32Array<ArrayBuffer> {
  const b = uninit(Math.max(a.length * 2, need));
  b.set(a);
  return b;
}

function tableSize(ids: number): number {
  let n = 16;
  while (4 * ids > 3 * n) n *= 2;
  return n;
}

function newPart(ids: number, staged: number): Part {
  const n = tableSize(ids);
  const pool = uninit(Math.max(64, ids * WORDS_PER_STRING));
  return {
    slots: new Int32Array(4 * n), mask: n - 1, count: 0,
    pool, bytes: new Uint8Array(pool.buffer), buf: null, poolUsed: 0,
    staged: uninit(Math.max(256, staged * (3 + WORDS_PER_STRING))), stagedUsed: 0,
  };
}

export class ByteInterner {
  private readonly parts: Part[];
  private readonly bits: number;
  private scratch = new Int32Array(64);
  private enc = Buffer.allocUnsafe(256);
  private staged = 0;
  private n = 0;
  /** Per int: partition, pool offset (words), length (bytes), hash. */
  private idPart: Uint8Array;
  private idOff: Int32Array;
  private idLen: Int32Array;
  private idHash: Int32Array;
  private readonly names: Array<string | undefined> = [];

  constructor(capacity = 1024, batch = capacity, private readonly hash: WordHash = fnvWords) {
    let bits = 1;
    while (bits < MAX_BITS && capacity > IDS_PER_PART << bits) bits++;
    this.bits = bits;
    const P = 1 << bits;
    const ids = Math.ceil((Math.min(capacity, PRESIZE_MAX) * 1.25) / P) + 4;
    const staged = Math.ceil((Math.min(batch, PRESIZE_MAX) * 1.25) / P) + 4;
    this.parts = Array.from({ length: P }, () => newPart(ids, staged));
    const n = Math.max(1024, capacity);
    this.idPart = new Uint8Array(n);
    this.idOff = uninit(n);
    this.idLen = uninit(n);
    this.idHash = uninit(n);
  }

  get size(): number {
    return this.n;
  }

  get pending(): number {
    return this.staged;
  }

  /** Pass 1: stages the UTF-8 bytes src[off … off + len); returns the sequence number. */
  stage(src: Uint8Array, off: number, len: number): number {
    const nw = (len + 3) >> 2;
    if (nw > this.scratch.length) this.scratch = new Int32Array(nw * 2);
    const w = this.scratch;
    // One pass packs the words and runs fnvWords over them (inlined: a call per string through
    // `hash` cost ~15% of staging); a custom hash (tests) rehashes the words below.
    let i = off, k = 0, any = 0, h = 0x811c9dc5;
    const end = off + len;
    for (; i + 3 < end; i += 4) {
      const v = src[i]! | (src[i + 1]! << 8) | (src[i + 2]! << 16) | (src[i + 3]! << 24);
      any |= v;
      w[k++] = v;
      h = Math.imul(h ^ v, 0x01000193);
    }
    if (i < end) {
      let v = 0;
      for (let s = 0; i < end; i++, s += 8) v |= src[i]! << s;
      any |= v;
      w[k] = v;
      h = Math.imul(h ^ v, 0x01000193);
    }
    if ((any & 0x80808080) !== 0 && !isUtf8(src.subarray(off, end))) return this.stageInvalid(src, off, len);
    if (this.hash !== fnvWords) h = this.hash(w, nw, len);
    else {
      h = Math.imul(h ^ len, 0x01000193);
      h ^= h >>> 16;
      h = Math.imul(h, 0x85ebca6b);
      h ^= h >>> 13;
      h = Math.imul(h, 0xc2b2ae35);
      h ^= h >>> 16;
    }
    return this.push(w, nw, len, h);
  }

  /** Not UTF-8: stages what the string decoder would make of it (U+FFFD replacements). */
  private stageInvalid(src: Uint8Array, off: number, len: number): number {
    const fixed = Buffer.from(Buffer.from(src.buffer, src.byteOffset + off, len).toString('utf8'), 'utf8');
    return this.stage(fixed, 0, fixed.length);
  }

  /** Stages a JS string as its UTF-8 bytes (lone surrogates → U+FFFD). */
  stageString(s: string): number {
    const len = s.length;
    let e = this.enc;
    if (3 * len > e.length) e = this.enc = Buffer.allocUnsafe(3 * len + 64);
    let i = 0;
    for (; i < len; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      e[i] = c;
    }
    const n = i === len ? len : e.write(s, 'utf8');
    return this.stage(e, 0, n);
  }

  private push(w: Int32Array, nw: number, len: number, h: number): number {
    const p = this.parts[h >>> (32 - this.bits)]!;
    const o = p.stagedUsed;
    if (o + 3 + nw > p.staged.length) p.staged = grown(p.staged, o + 3 + nw);
    const dst = p.staged;
    dst[o] = h;
    dst[o + 1] = len;
    dst[o + 2] = this.staged;
    for (let j = 0; j < nw; j++) dst[o + 3 + j] = w[j]!;
    p.stagedUsed = o + 3 + nw;
    return this.staged++;
  }

  /** Pass 2: interns every staged string, out[seq] = its int; empties the staging area. */
  flush(out: Int32Array): void {
    if (out.length < this.staged) throw new DagctlError('INTERNAL', `ByteInterner.flush: ${out.length} slots for ${this.staged} staged strings`);
    for (let q = 0; q < this.parts.length; q++) {
      const p = this.parts[q]!;
      const st = p.staged, end = p.stagedUsed;
      for (let k = 0; k < end;) {
        const len = st[k + 1]!, nw = (len + 3) >> 2;
        out[st[k + 2]!] = this.lookup(p, q, st[k]!, st, k + 3, len, nw);
        k += 3 + nw;
      }
      p.stagedUsed = 0;
    }
    this.staged = 0;
  }

  private lookup(p: Part, q: number, h: number, u: Int32Array, uo: number, len: number, nw: number): number {
    const slots = p.slots, mask = p.mask;
    let i = h & mask;
    for (;;) {
      const s = 4 * i;
      const v = slots[s + 1]!;
      if (v === 0) break;
      if (slots[s] === h && slots[s + 3] === len) {
        const pool = p.pool, off = slots[s + 2]!;
        let j = 0;
        while (j < nw && pool[off + j] === u[uo + j]) j++;
        if (j === nw) return v - 1;
      }
      i = (i + 1) & mask;
    }
    const id = this.n++;
    if (p.poolUsed + nw > p.pool.length) {
      p.pool = grown(p.pool, p.poolUsed + nw);
      p.bytes = new Uint8Array(p.pool.buffer);
      p.buf = null;
    }
    const pool = p.pool, off = p.poolUsed;
    for (let j = 0; j < nw; j++) pool[off + j] = u[uo + j]!;
    p.poolUsed = off + nw;
    const s = 4 * i;
    slots[s] = h;
    slots[s + 1] = id + 1;
    slots[s + 2] = off;
    slots[s + 3] = len;
    if (id === this.idOff.length) this.growIds();
    this.idPart[id] = q;
    this.idOff[id] = off;
    this.idLen[id] = len;
    this.idHash[id] = h;
    if (4 * ++p.count > 3 * (mask + 1)) this.growTable(p);
    return id;
  }

  private growIds(): void {
    const n = this.idOff.length * 2;
    const a = new Uint8Array(n);
    a.set(this.idPart);
    this.idPart = a;
    this.idOff = grown(this.idOff, n);
    this.idLen = grown(this.idLen, n);
    this.idHash = grown(this.idHash, n);
  }

  private growTable(p: Part): void {
    const old = p.slots;
    const n = (p.mask + 1) * 4;
    const slots = new Int32Array(4 * n);
    const mask = n - 1;
    for (let k = 0; k < old.length; k += 4) {
      if (old[k + 1] === 0) continue;
      let i = old[k]! & mask;
      while (slots[4 * i + 1] !== 0) i = (i + 1) & mask;
      const d = 4 * i;
      slots[d] = old[k]!;
      slots[d + 1] = old[k + 1]!;
      slots[d + 2] = old[k + 2]!;
      slots[d + 3] = old[k + 3]!;
    }
    p.slots = slots;
    p.mask = mask;
  }

  /** The 32-bit hash of int i's bytes (the same for the same bytes in every instance). */
  hashOf(i: number): number {
    return this.idHash[i]!;
  }

  /** Length in bytes of int i's UTF-8. */
  byteLength(i: number): number {
    return this.idLen[i]!;
  }

  /** Copies int i's UTF-8 bytes to dst at `at`; returns the offset after them. */
  copyBytes(i: number, dst: Uint8Array, at: number): number {
    const src = this.parts[this.idPart[i]!]!.bytes, off = 4 * this.idOff[i]!, len = this.idLen[i]!;
    // A byte loop: ids are short, and a subarray + set per id cost 3× the copy (measured).
    for (let k = 0; k < len; k++) dst[at + k] = src[off + k]!;
    return at + len;
  }

  /** The string of int i (decoded once, then cached). */
  name(i: number): string {
    const c = this.names[i];
    if (c !== undefined) return c;
    const p = this.parts[this.idPart[i]!]!, off = 4 * this.idOff[i]!;
    p.buf ??= Buffer.from(p.pool.buffer);
    const s = p.buf.toString('utf8', off, off + this.idLen[i]!);
    this.names[i] = s;
    return s;
  }

  /** Whether string(i) < string(j) in JS order (UTF-16 code units), compared on the UTF-8 bytes. */
  less(i: number, j: number): boolean {
    const a = this.parts[this.idPart[i]!]!.bytes, b = this.parts[this.idPart[j]!]!.bytes;
    return compareUtf8Js(a, 4 * this.idOff[i]!, this.idLen[i]!, b, 4 * this.idOff[j]!, this.idLen[j]!) < 0;
  }
}

/**
 * JS string order (UTF-16 code units) of two UTF-8 byte strings a[ao, ao + al) and b[bo, bo + bl):
 * negative, 0 or positive. Byte order is code point order, which differs from UTF-16 order only
 * between a supplementary character and U+E000–U+FFFF; that case is flipped.
 */
export function compareUtf8Js(a: Uint8Array, ao: number, al: number, b: Uint8Array, bo: number, bl: number): number {
  const n = al < bl ? al : bl;
  let k = 0;
  while (k < n && a[ao + k] === b[bo + k]) k++;
  if (k === n) return al - bl;
  const x = a[ao + k]!, y = b[bo + k]!;
  // Equal prefixes: position k starts a character in both or in neither. Lead bytes of a
  // supplementary character (F0–F4) against U+E000–U+FFFF (EE, EF): UTF-16 order flips.
  if (x >= 0xf0 && (y === 0xee || y === 0xef)) return -1;
  if (y >= 0xf0 && (x === 0xee || x === 0xef)) return 1;
  return x - y;
}
