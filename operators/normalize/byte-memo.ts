/**
 * A bounded exact memo from byte strings to int32 codes: normalize's column path keys each raw URL
 * value's verdict (a pool id or a reject code, operators/normalize/columnar.ts) by its bytes, so a
 * value seen before — in another page, row group or file of the instance — skips the UTF-8 check,
 * the decode to a JS string, urlCacheKey and the LRU.
 * Identity is exact: equal hash (hashBytes: FNV-1a over little-endian 32-bit words, then the bytes
 * of the tail and the length, murmur3's finalizer), equal length, then equal bytes compared a word
 * at a time (a collision costs a comparison, never a wrong code). The keys' bytes are copied into
 * the memo's own arena.
 * Usage: find(b, s, n) returns the code or MISSING; then set(code) stores the code of the key find
 * last missed (nothing may be found in between). Bounded: past maxEntries entries or maxBytes of keys it
 * forgets everything before the next insert (fits() says when), and `generation` counts each
 * time it forgot; clear() forgets everything too (the caller's codes went void).
 */
export const MISSING = -0x80000000;
const WARM_KEY = Uint8Array.of(0x77, 0x61, 0x72, 0x6d, 0x65, 0x64);

/** A DataView of all of `b` (unaligned little-endian word reads of its bytes). */
function viewOf(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * The memo's hash of b[s, s + n) (`v` views `b`): FNV-1a over the bytes read as little-endian
 * 32-bit words, then each byte of the last n % 4, then n, then murmur3's finalizer (FNV-1a's low
 * bits alone cluster for keys that differ in a few bytes).
 */
export function hashBytes(v: DataView, b: Uint8Array, s: number, n: number): number {
  let h = 0x811c9dc5, k = s;
  const words = s + (n & ~3), end = s + n;
  for (; k < words; k += 4) h = Math.imul(h ^ v.getInt32(k, true), 0x01000193);
  for (; k < end; k++) h = Math.imul(h ^ b[k]!, 0x01000193);
  h = Math.imul(h ^ n, 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** Whether a[as, as + n) equals b[bs, bs + n) (av, bv: views of a and b), compared a word at a time. */
function sameBytes(av: DataView, a: Uint8Array, as: number, bv: DataView, b: Uint8Array, bs: number, n: number): boolean {
  let k = 0;
  const words = n & ~3;
  for (; k < words; k += 4) if (av.getInt32(as + k, true) !== bv.getInt32(bs + k, true)) return false;
  for (; k < n; k++) if (a[as + k] !== b[bs + k]) return false;
  return true;
}

export class ByteMemo {
  // Open addressing, slot i at [2i, 2i + 1]: entry + 1 (0 = empty) and the entry's hash, so a
  // probe past another key reads one cache line; entry j at [3j, 3j + 2]: its start in the arena,
  // its length and its code.
  private slots: Int32Array;
  private entries: Int32Array;
  private arena: Uint8Array;
  private arenaView: DataView;
  // The DataView of the buffer find() last read (keys come from a few page buffers at a time).
  private keyBuf: Uint8Array = WARM_KEY;
  private keyView: DataView = viewOf(WARM_KEY);
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
    this.slots = new Int32Array(2 * size);
    this.entries = new Int32Array(3 * maxEntries);
    this.arena = new Uint8Array(Math.min(maxBytes, 1 << 16));
    this.arenaView = viewOf(this.arena);
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
    if (b !== this.keyBuf) {
      this.keyBuf = b;
      this.keyView = viewOf(b);
    }
    const v = this.keyView;
    const h = hashBytes(v, b, s, n);
    const { slots, entries, mask, arena, arenaView } = this;
    let slot = h & mask;
    for (;;) {
      const e = slots[2 * slot]!;
      if (e === 0) break;
      const j = 3 * (e - 1);
      if (slots[2 * slot + 1] === h && entries[j + 1] === n && sameBytes(arenaView, arena, entries[j]!, v, b, s, n)) return entries[j + 2]!;
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
      this.arenaView = viewOf(grown);
    }
    const j = this.count++;
    this.arena.set(b.subarray(s, s + n), this.used);
    this.entries[3 * j] = this.used;
    this.entries[3 * j + 1] = n;
    this.entries[3 * j + 2] = code;
    this.used += n;
    this.slots[2 * this.lastSlot] = j + 1;
    this.slots[2 * this.lastSlot + 1] = this.lastHash;
  }

  /** Lets go of the last key buffer's view (the memo outlives the pages it read; keeps every key). */
  releaseBuffer(): void {
    this.keyBuf = WARM_KEY;
    this.keyView = viewOf(WARM_KEY);
    this.lastBuf = null;
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
