/**
 * String interning: string → dense int (0, 1, 2, … in first-seen order) on an open-addressing
 * table of Int32Array slots (linear probing, load ≤ 1/2, doubling), keyed by a 32-bit FNV-1a hash
 * of the string's UTF-16 code units. Why not Map<string, number>: V8's ordered hash map allocates
 * per entry and re-hashes on growth, and each fresh string read from Parquet gets its hash
 * computed inside the map anyway; here a lookup is one hash pass over the characters, a probe of
 * (hash, int, offset, length) slots in one Int32Array (a mismatch is rejected on the hash, one
 * cache line), and only when the 32-bit hashes agree a comparison of the code units against a
 * pool of the interned strings' characters (one more line; comparing with the stored JS string
 * cost two more cache misses — the names array, then the string — measured 2× slower on hits).
 * Growth re-inserts by the stored hashes: every distinct string is hashed exactly once, ever.
 * One Interner is reused across batches (the table and arrays only grow).
 */

export class Interner {
  /** 4 ints per slot: [hash, interned int + 1 (0 = empty), offset in `chars`, length]. */
  private slots: Int32Array;
  private mask: number;
  /** Every interned string's UTF-16 code units, back to back: a hit compares against these
   * (one cache line next to the others) instead of loading names[j] and then its string. */
  private chars: Uint16Array;
  private used = 0;
  private readonly names: string[] = [];

  constructor(capacity = 1024) {
    let n = 16;
    while (n < capacity * 2) n *= 2;
    this.slots = new Int32Array(4 * n);
    this.mask = n - 1;
    this.chars = new Uint16Array(Math.max(256, capacity * 16));
  }

  /** Number of distinct strings interned. */
  get size(): number {
    return this.names.length;
  }

  /** The string of int i. */
  name(i: number): string {
    return this.names[i]!;
  }

  /** FNV-1a over UTF-16 code units (the same family as core/hash.ts fnv1a32), then a murmur-style
   * finalizer so the low bits used as the slot index depend on every character. */
  static hash(s: string): number {
    let h = 0x811c9dc5;
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    return h;
  }

  /** Whether the pooled string at slot k equals s (hashes already agree). */
  private same(k: number, s: string): boolean {
    const len = this.slots[k + 3]!;
    if (len !== s.length) return false;
    const c = this.chars, off = this.slots[k + 2]!;
    for (let i = 0; i < len; i++) if (c[off + i] !== s.charCodeAt(i)) return false;
    return true;
  }

  /** The int of `s`, interning it if new (ints are dense: a new string gets `size`). */
  id(s: string): number {
    const h = Interner.hash(s);
    const slots = this.slots, mask = this.mask;
    let i = h & mask;
    for (;;) {
      const v = slots[4 * i + 1]!;
      if (v === 0) break;
      if (slots[4 * i] === h && this.same(4 * i, s)) return v - 1;
      i = (i + 1) & mask;
    }
    const j = this.names.length;
    this.names.push(s);
    const len = s.length;
    if (this.used + len > this.chars.length) {
      const c = new Uint16Array(Math.max(this.chars.length * 2, this.used + len));
      c.set(this.chars);
      this.chars = c;
    }
    const c = this.chars, off = this.used;
    for (let k = 0; k < len; k++) c[off + k] = s.charCodeAt(k);
    this.used += len;
    slots[4 * i] = h;
    slots[4 * i + 1] = j + 1;
    slots[4 * i + 2] = off;
    slots[4 * i + 3] = len;
    if ((j + 1) * 2 > mask + 1) this.grow();
    return j;
  }

  /** The int of `s`, or −1 when it was never interned. */
  get(s: string): number {
    const h = Interner.hash(s);
    const slots = this.slots, mask = this.mask;
    let i = h & mask;
    for (;;) {
      const v = slots[4 * i + 1]!;
      if (v === 0) return -1;
      if (slots[4 * i] === h && this.same(4 * i, s)) return v - 1;
      i = (i + 1) & mask;
    }
  }

  /** Doubles the table, re-inserting by the stored hashes (no string is hashed again). */
  private grow(): void {
    const old = this.slots;
    const n = (this.mask + 1) * 2;
    const slots = new Int32Array(4 * n);
    const mask = n - 1;
    for (let k = 0; k < old.length; k += 4) {
      if (old[k + 1] === 0) continue;
      let i = old[k]! & mask;
      while (slots[4 * i + 1] !== 0) i = (i + 1) & mask;
      slots.set(old.subarray(k, k + 4), 4 * i);
    }
    this.slots = slots;
    this.mask = mask;
  }
}
