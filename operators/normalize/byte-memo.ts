/**
 * A bounded exact memo from byte strings to int32 codes: normalize's column path keys each raw URL
 * value's verdict (a pool id or a reject code, operators/normalize/columnar.ts) by its bytes, so a
 * value seen before — in another page, row group or file of the instance — skips the UTF-8 check,
 * the decode to a JS string, urlCacheKey and the LRU.
 * Identity is exact: equal hash (FNV-1a, murmur3's finalizer), equal length, then equal bytes (a collision costs a
 * comparison, never a wrong code). The keys' bytes are copied into the memo's own arena.
 * Usage: find(b, s, n) returns the code or MISSING; then set(code) stores the code of the key find
 * last missed (nothing may be found in between). Bounded: past maxEntries entries or maxBytes of keys it
 * forgets everything before the next insert (fits() says when), and `generation` counts each
 * time it forgot; clear() forgets everything too (the caller's codes went void).
 */
export const MISSING = -0x80000000;
const WARM_KEY = Uint8Array.of(0x77, 0x61, 0x72, 0x6d);

export class ByteMemo {
  private slots: Int32Array;
  private hashes: Int32Array;
  private starts: Int32Array;
  private lens: Int32Array;
  private codes: Int32Array;
  private arena: Uint8Array;
  private used = 0;
  private count = 0;
  private readonly mask: number;
  // The key find() last missed: its hash, empty slot and bytes.
  private lastHash = 0;
  private lastSlot = -1;
  private lastBuf: Uint8Array | null = null;
  private lastStart = 0;
  private lastLen = 0;

  constructor(private readonly maxEntries = 1 << 15, private readonly maxBytes = 4 << 20) {
    let size = 16;
    while (size < 2 * maxEntries) size <<= 1;
    this.mask = size - 1;
    this.slots = new Int32Array(size);
    this.hashes = new Int32Array(maxEntries);
    this.starts = new Int32Array(maxEntries);
    this.lens = new Int32Array(maxEntries);
    this.codes = new Int32Array(maxEntries);
    this.arena = new Uint8Array(Math.min(maxBytes, 1 << 16));
    this.warm();
  }

  /**
   * Runs find's miss, set and hit paths once on a scratch key, then forgets it (generation stays
   * 0): a thread's first memo otherwise has find optimized on misses alone, which deoptimized at
   * its first hit (a TurboFan recompile per thread).
   */
  private warm(): void {
    if (this.maxEntries < 1 || this.maxBytes < WARM_KEY.length) return;
    this.find(WARM_KEY, 0, WARM_KEY.length);
    this.set(0);
    this.find(WARM_KEY, 0, WARM_KEY.length);
    this.clear();
    this.generation = 0;
  }

  /** How many times it forgot everything (clear(), or a bound reached): codes from before are gone. */
  generation = 0;

  /** How many keys it holds. */
  get size(): number {
    return this.count;
  }

  /** The code stored for b[s, s + n), or MISSING (remembered for set()). */
  find(b: Uint8Array, s: number, n: number): number {
    let h = 0x811c9dc5;
    for (let k = 0; k < n; k++) h = Math.imul(h ^ b[s + k]!, 0x01000193);
    // murmur3's finalizer: FNV-1a's low bits alone cluster for keys that differ in a few bytes.
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    const { slots, mask, arena } = this;
    let slot = h & mask;
    for (;;) {
      const e = slots[slot]!;
      if (e === 0) break;
      const j = e - 1;
      if (this.hashes[j] === h && this.lens[j] === n) {
        const at = this.starts[j]!;
        let k = 0;
        while (k < n && arena[at + k] === b[s + k]) k++;
        if (k === n) return this.codes[j]!;
      }
      slot = (slot + 1) & mask;
    }
    this.lastHash = h;
    this.lastSlot = slot;
    this.lastBuf = b;
    this.lastStart = s;
    this.lastLen = n;
    return MISSING;
  }

  /** Whether set() would store a key of n bytes without forgetting everything first (false: it forgets). */
  fits(n: number): boolean {
    return n <= this.maxBytes && this.count < this.maxEntries && this.used + n <= this.maxBytes;
  }

  /**
   * Stores `code` for the key find() last missed. When the key does not fit (fits()), everything
   * is forgotten first (generation changes); a key over maxBytes is then not stored.
   */
  set(code: number): void {
    const b = this.lastBuf, n = this.lastLen, s = this.lastStart;
    if (b === null) return;
    this.lastBuf = null;
    if (!this.fits(n)) {
      this.clear();
      if (n > this.maxBytes) return;
      this.find(b, s, n); // its slot in the emptied table
      this.lastBuf = null;
    }
    if (this.used + n > this.arena.length) {
      const grown = new Uint8Array(Math.min(this.maxBytes, Math.max(this.arena.length * 2, this.used + n)));
      grown.set(this.arena.subarray(0, this.used));
      this.arena = grown;
    }
    const j = this.count++;
    this.arena.set(b.subarray(s, s + n), this.used);
    this.starts[j] = this.used;
    this.lens[j] = n;
    this.hashes[j] = this.lastHash;
    this.codes[j] = code;
    this.used += n;
    this.slots[this.lastSlot] = j + 1;
  }

  /** Forgets every key. */
  clear(): void {
    this.generation++;
    if (this.count > 0) this.slots.fill(0);
    this.count = 0;
    this.used = 0;
    this.lastBuf = null;
  }
}
