/**
 * Radix-partitioned string interning: string → dense int, the radix hash join trick applied to
 * interning. One big open-addressing table (lib/intern.ts) costs a cache miss per probe once it
 * outgrows L2, plus a second one to confirm the match against the stored characters. Instead:
 *  - stage(s) (pass 1) reads s once: packs its UTF-16 code units two per int32 word while hashing
 *    the words, then appends (hash, length, sequence number) and the words to one of P partitions
 *    chosen by the hash's top bits — P sequential write streams, no random reads; P = 2 … 256,
 *    about one partition per IDS_PER_PART expected distinct strings (`capacity`): a small
 *    interner's one table is cache-resident anyway, and 256 partitions' buffers were a fixed
 *    cost that made small instances slower than lib/intern.ts (measured in the operator);
 *  - flush(out) (pass 2) interns partition by partition, each against its own table and word pool,
 *    small enough to stay in L1/L2 while the partition's staged strings stream through;
 *    out[seq] = the int of the seq-th staged string.
 * Identity is exact: a match needs equal 32-bit hash, equal length and equal words (the hash only
 * rejects mismatches early), so a hash collision costs a comparison, never a wrong int.
 * Ints are dense (0 … size−1) but NOT in first-seen order: a flush assigns them partition by
 * partition. Preconditions: ints exist only after flush(); out.length ≥ pending. Strings are kept
 * as words, not as JS strings: name(i) decodes once (cached); less(i, j) is JS string order
 * (UTF-16 code units) computed on the words. Words are read back as code units (utf16le), which
 * assumes a little-endian host (checked at load: INTERNAL otherwise).
 * `hash` is injectable so tests can force collisions.
 */
import { DagctlError } from '../../core/errors.js';

/** Expected distinct strings per partition: its table (16 bytes a slot, load ≤ 3/4) and word
 * pool stay well inside L2 (1 MiB here) next to the staged records streaming through. */
const IDS_PER_PART = 1024;
const MAX_BITS = 8;
const PRESIZE_MAX = 1 << 19;

if (new Uint16Array(new Int32Array([1]).buffer)[0] !== 1) throw new DagctlError('INTERNAL', 'lib/radix-intern.ts assumes a little-endian host');

/** Hash of a string's packed words: FNV-1a over int32 words (two code units each), then length. */
export type WordHash = (words: Int32Array, n: number, length: number) => number;

/** FNV-1a over the words, the length mixed in, then a murmur3 finalizer so that the partition (top
 * bits) and the slot (low bits) both depend on every character. */
export function fnvWords(w: Int32Array, n: number, length: number): number {
  let h = 0x811c9dc5;
  for (let k = 0; k < n; k++) h = Math.imul(h ^ w[k]!, 0x01000193);
  h = Math.imul(h ^ length, 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** One partition: persistent slots [hash, int + 1 (0 = empty), pool offset, length] over its word
 * pool, plus the staging area of the current flush. */
interface Part {
  slots: Int32Array;
  mask: number;
  count: number;
  pool: Int32Array;
  poolUsed: number;
  /** A Buffer over `pool` for name() (rebuilt when the pool grows). */
  poolBuf: Buffer | null;
  /** Staged records [hash, length, seq, words…], back to back: one write stream per partition
   * (two — meta and words apart — measured slower: 512 streams are more lines than L1 holds). */
  staged: Int32Array;
  stagedUsed: number;
}

/** Words per string assumed when sizing buffers from a string count (they grow past it). */
const WORDS_PER_STRING = 6;

/**
 * An Int32Array of n uninitialized ints (Buffer.allocUnsafeSlow: its own ArrayBuffer, offset 0).
 * For the pools, staging areas and per-int arrays, which are only read where written: zeroing
 * tens of MiB that a flush may never touch cost as much as the lookups (measured).
 */
function uninit(n: number): Int32Array<ArrayBuffer> {
  const b = Buffer.allocUnsafeSlow(4 * n);
  return new Int32Array(b.buffer, 0, n);
}

/** Slots for `ids` entries at load ≤ 3/4: a partition's table is cache-resident, so the longer
 * linear-probe runs cost less than zeroing twice the slots (256 tables, 16 bytes a slot). */
function tableSize(ids: number): number {
  let n = 16;
  while (4 * ids > 3 * n) n *= 2;
  return n;
}

/** A partition sized for `ids` distinct and `staged` staged strings: growing 256 partitions' typed
 * arrays from tiny cost more than the lookups did (an off-heap allocation per doubling). */
function newPart(ids: number, staged: number): Part {
  const n = tableSize(ids);
  return {
    slots: new Int32Array(4 * n), mask: n - 1, count: 0,
    pool: uninit(Math.max(64, ids * WORDS_PER_STRING)), poolUsed: 0, poolBuf: null,
    staged: uninit(Math.max(256, staged * (3 + WORDS_PER_STRING))), stagedUsed: 0,
  };
}

function grown(a: Int32Array, need: number): Int32Array<ArrayBuffer> {
  const b = uninit(Math.max(a.length * 2, need));
  b.set(a);
  return b;
}

export class RadixInterner {
  private readonly parts: Part[];
  /** log2 of the partition count (1 … MAX_BITS); a string's partition is hash >>> (32 − bits). */
  private readonly bits: number;
  private scratch = new Int32Array(64);
  private staged = 0;
  private n = 0;
  /** Per int: partition, offset of its words in that partition's pool, length in code units. */
  private idPart: Uint8Array;
  private idOff: Int32Array;
  private idLen: Int32Array;
  private readonly names: Array<string | undefined> = [];

  /**
   * `capacity`: expected distinct strings; `batch`: expected strings staged per flush (both only
   * size the buffers, which grow past them).
   */
  constructor(capacity = 1024, batch = capacity, private readonly hash: WordHash = fnvWords) {
    let bits = 1;
    while (bits < MAX_BITS && capacity > IDS_PER_PART << bits) bits++;
    this.bits = bits;
    const P = 1 << bits;
    // Presized for at most PRESIZE_MAX strings: an over-estimated hint must not zero 100+ MiB of
    // tables up front (they grow ×4 when needed, cheaply: re-inserts by stored hashes).
    const ids = Math.ceil((Math.min(capacity, PRESIZE_MAX) * 1.25) / P) + 4;
    const staged = Math.ceil((Math.min(batch, PRESIZE_MAX) * 1.25) / P) + 4;
    this.parts = Array.from({ length: P }, () => newPart(ids, staged));
    const n = Math.max(1024, capacity);
    this.idPart = new Uint8Array(n);
    this.idOff = uninit(n);
    this.idLen = uninit(n);
  }

  /** Number of distinct strings interned by the flushes so far. */
  get size(): number {
    return this.n;
  }

  /** Strings staged since the last flush. */
  get pending(): number {
    return this.staged;
  }

  /** Pass 1: stages s; returns its sequence number in the current flush (0, 1, 2, …). */
  stage(s: string): number {
    const len = s.length, nw = (len + 1) >> 1;
    if (nw > this.scratch.length) this.scratch = new Int32Array(nw * 2);
    const w = this.scratch;
    // One charCodeAt pass, two code units per word: half the stores, copies and compares later.
    let i = 0, k = 0;
    for (; i + 1 < len; i += 2) w[k++] = s.charCodeAt(i) | (s.charCodeAt(i + 1) << 16);
    if (i < len) w[k] = s.charCodeAt(i);
    const h = this.hash(w, nw, len);
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
    if (out.length < this.staged) throw new DagctlError('INTERNAL', `RadixInterner.flush: ${out.length} slots for ${this.staged} staged strings`);
    for (let q = 0; q < this.parts.length; q++) {
      const p = this.parts[q]!;
      const st = p.staged, end = p.stagedUsed;
      for (let k = 0; k < end;) {
        const len = st[k + 1]!, nw = (len + 1) >> 1;
        out[st[k + 2]!] = this.lookup(p, q, st[k]!, st, k + 3, len, nw);
        k += 3 + nw;
      }
      p.stagedUsed = 0;
    }
    this.staged = 0;
  }

  /** The int of the string whose nw words are u[uo…] (hash h, len code units); new → interned. */
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
      p.poolBuf = null;
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
  }

  /** Quadruples p's table (fewer re-inserts than doubling), re-inserting by the stored hashes. */
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

  /** The string of int i (decoded from its words once, then cached). */
  name(i: number): string {
    const c = this.names[i];
    if (c !== undefined) return c;
    const p = this.parts[this.idPart[i]!]!, off = 4 * this.idOff[i]!;
    p.poolBuf ??= Buffer.from(p.pool.buffer, p.pool.byteOffset, p.pool.byteLength);
    // utf16le decoding copies the code units as they are (lone surrogates included; a one-byte
    // string when they all fit): 65 ns a name, where String.fromCharCode(...units) took 450.
    const s = p.poolBuf.toString('utf16le', off, off + 2 * this.idLen[i]!);
    this.names[i] = s;
    return s;
  }

  /** Length in code units of the string of int i. */
  length(i: number): number {
    return this.idLen[i]!;
  }

  /** Whether string(i) < string(j) in JS order (UTF-16 code units), compared on the words. */
  less(i: number, j: number): boolean {
    const a = this.parts[this.idPart[i]!]!.pool, b = this.parts[this.idPart[j]!]!.pool;
    const ao = this.idOff[i]!, bo = this.idOff[j]!, al = this.idLen[i]!, bl = this.idLen[j]!;
    const nw = ((al < bl ? al : bl) + 1) >> 1;
    for (let k = 0; k < nw; k++) {
      const x = a[ao + k]!, y = b[bo + k]!;
      if (x === y) continue;
      // Low half = the earlier code unit. A missing unit (odd length) is a 0 high half: if it
      // ties with a real U+0000, the lengths below decide, which is what JS order says too.
      const xl = x & 0xffff, yl = y & 0xffff;
      return xl !== yl ? xl < yl : x >>> 16 < y >>> 16;
    }
    return al < bl;
  }
}
