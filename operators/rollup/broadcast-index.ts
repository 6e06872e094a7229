/**
 * BroadcastIndex: rollup's id → component-person map for the broadcast join, as flat typed arrays
 * (no per-entry objects): the 128-bit MurmurHash3 x86_128 of an id → the first 64 bits of the hash
 * of its component person (the two words HyperLogLog needs).
 *
 * - Built once (rollup 'index', single instance) as `entries`: 6 int32 per id (key words k0..k3,
 *   value words v0, v1), shipped to the map instances as raw bytes in chunks (`chunks()`), and
 *   probed there through an open-addressing slot table built locally (`BroadcastIndex.fromChunks`:
 *   Int32Array of entry index + 1 with a k1 fingerprint in the spare high bits, 0 = empty, linear
 *   probing, load ≤ 1/2, slot = k0 & mask).
 *   Shipping the entries rather than the slot table keeps the bytes written/read at 24 per id.
 * - Keys are hashes, not strings: two ids collide only if their 128-bit hashes are equal — about
 *   n²/2^129 for n ids (~1e-26 at 10^6 ids): effectively exact, and no id string is kept.
 * - Byte order: the chunks are the platform's Int32Array bytes; writer and reader run the same
 *   code on the same kind of machine (little-endian in practice), within one run.
 * - Duplicate keys: the later entry wins (the same as the shuffle join's Map.set).
 * Memory: `broadcastBytes(n)` = 24·n (entries) + 4·slots (slots = the power of two ≥ 2n, so
 * < 40·n in all); rollup broadcasts only while that is ≤ its maxBroadcastBytes param. Transient
 * extra: the builder's array when it must grow (rollup sizes it from the input's row count), and
 * on the probe side the chunk bytes read, until fromChunks has copied them.
 */

import { DagctlError } from '../../core/errors.js';

const WORDS = 6;

/** Slot-table size for n entries: a power of two ≥ 2n (load ≤ 1/2), at least 16. */
function slotsFor(n: number): number {
  let s = 16;
  while (s < 2 * n) s *= 2;
  return s;
}

/** Bytes the probe side holds for n entries (entries + slot table). */
export function broadcastBytes(n: number): number {
  return n * WORDS * 4 + slotsFor(n) * 4;
}

/** Accumulates entries (append only); `chunks()` hands them out as byte views. */
export class BroadcastBuilder {
  private entries: Int32Array;
  size = 0;

  /** `expected`: entries to allocate up front (e.g. the input's row count, capped): no regrowth. */
  constructor(expected = 1024) {
    this.entries = new Int32Array(WORDS * Math.max(16, expected));
  }

  /** Adds key (4 hash words of the id) → value (first 2 hash words of its person). */
  add(key: Uint32Array, v0: number, v1: number): void {
    let e = this.entries;
    const o = this.size * WORDS;
    if (o + WORDS > e.length) {
      const n = new Int32Array(e.length * 2);
      n.set(e);
      this.entries = e = n;
    }
    e[o] = key[0]! | 0; e[o + 1] = key[1]! | 0; e[o + 2] = key[2]! | 0; e[o + 3] = key[3]! | 0;
    e[o + 4] = v0 | 0; e[o + 5] = v1 | 0;
    this.size++;
  }

  /** Probe-side bytes if the table had this many entries (see broadcastBytes). */
  bytes(): number {
    return broadcastBytes(this.size);
  }

  /** The entries as byte views of at most `chunkBytes` (a multiple of 24 entries' bytes). */
  chunks(chunkBytes = 1 << 20): Uint8Array[] {
    const per = Math.max(1, Math.floor(chunkBytes / (WORDS * 4))) * WORDS * 4;
    const all = new Uint8Array(this.entries.buffer, 0, this.size * WORDS * 4);
    const out: Uint8Array[] = [];
    for (let o = 0; o < all.length; o += per) out.push(all.subarray(o, Math.min(all.length, o + per)));
    return out;
  }
}

export class BroadcastIndex {
  private constructor(
    private readonly entries: Int32Array,
    private readonly slots: Int32Array,
    private readonly idxBits: number,
    readonly size: number,
  ) {}

  /** Builds the probe table from the chunks `BroadcastBuilder.chunks()` wrote, in order. */
  static fromChunks(chunks: Uint8Array[]): BroadcastIndex {
    let bytes = 0;
    for (const c of chunks) bytes += c.length;
    const n = Math.floor(bytes / (WORDS * 4));
    const entries = new Int32Array(n * WORDS);
    // Copy through a byte view: the chunks may sit at any offset of their file's buffer.
    const view = new Uint8Array(entries.buffer);
    let o = 0;
    for (const c of chunks) {
      view.set(c, o);
      o += c.length;
    }
    // A slot holds entry index + 1 in its low idxBits and the top bits of k1 above them (a
    // fingerprint): a probe that misses rarely touches `entries` (one cache miss saved per
    // occupied slot passed; most pageview persons are not in the index).
    const idxBits = Math.max(1, 32 - Math.clz32(n));
    if (idxBits > 28) throw new DagctlError('INTERNAL', `broadcast index of ${n} entries is too large`);
    const idxMask = (1 << idxBits) - 1;
    const slots = new Int32Array(slotsFor(n));
    const mask = slots.length - 1;
    let size = 0;
    for (let i = 0; i < n; i++) {
      const b = i * WORDS;
      const k0 = entries[b]!, k1 = entries[b + 1]!, k2 = entries[b + 2]!, k3 = entries[b + 3]!;
      const fp = k1 >>> idxBits;
      let j = k0 & mask;
      for (;;) {
        const s = slots[j]!;
        if (s === 0) {
          slots[j] = (fp << idxBits) | (i + 1);
          size++;
          break;
        }
        if (s >>> idxBits === fp) {
          const e = ((s & idxMask) - 1) * WORDS;
          if (entries[e] === k0 && entries[e + 1] === k1 && entries[e + 2] === k2 && entries[e + 3] === k3) {
            slots[j] = (fp << idxBits) | (i + 1); // later entry wins
            break;
          }
        }
        j = (j + 1) & mask;
      }
    }
    return new BroadcastIndex(entries, slots, idxBits, size);
  }

  /** The offset in `entries` of the entry whose key is (k0, k1, k2, k3) (int32 words), or -1. */
  private find(k0: number, k1: number, k2: number, k3: number): number {
    const entries = this.entries, slots = this.slots, mask = slots.length - 1, idxBits = this.idxBits;
    const fp = k1 >>> idxBits, idxMask = (1 << idxBits) - 1;
    let j = k0 & mask;
    for (;;) {
      const s = slots[j]!;
      if (s === 0) return -1;
      if (s >>> idxBits === fp) {
        const e = ((s & idxMask) - 1) * WORDS;
        if (entries[e] === k0 && entries[e + 1] === k1 && entries[e + 2] === k2 && entries[e + 3] === k3) return e;
      }
      j = (j + 1) & mask;
    }
  }

  /**
   * Looks up the id hash in `key` (4 words); when present, overwrites key[0], key[1] with its
   * person's hash words and returns true; else leaves `key` as is and returns false.
   */
  mapInPlace(key: Uint32Array): boolean {
    const e = this.find(key[0]! | 0, key[1]! | 0, key[2]! | 0, key[3]! | 0);
    if (e < 0) return false;
    key[0] = this.entries[e + 4]!;
    key[1] = this.entries[e + 5]!;
    return true;
  }

  /**
   * mapInPlace over columns: for each row r < n whose id hash (k0[r], k1[r], k2[r], k3[r]) is
   * present, k0[r], k1[r] become its person's hash words; returns how many were. One loop of
   * probes only, no hashing between them, so their cache misses overlap (interleaved with the
   * hashing, a probe cost ~2× as much on a table past the caches).
   */
  mapAll(k0: Int32Array, k1: Int32Array, k2: Int32Array, k3: Int32Array, n: number): number {
    const entries = this.entries;
    let mapped = 0;
    for (let r = 0; r < n; r++) {
      const e = this.find(k0[r]!, k1[r]!, k2[r]!, k3[r]!);
      if (e < 0) continue;
      k0[r] = entries[e + 4]!;
      k1[r] = entries[e + 5]!;
      mapped++;
    }
    return mapped;
  }
}
