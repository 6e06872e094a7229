/**
 * SparseRegisters: the sparse register set of a HyperLogLog (operators/lib/sketches/hll.ts) — virtual
 * register index (idx25 < 2^25) → max rank — as an open-addressing table over two typed arrays
 * (keys = idx25 + 1, 0 = empty; ranks as bytes), linear probing, load ≤ 1/2, starting at 8 slots.
 * Not a Map<number, number>: a rollup adds every row to 4 sketches, most of them sparse, and a Map
 * update (hashing a heap number key, an ordered-table entry) would be the top cost of aggregate;
 * here an update is a masked index and two typed-array accesses, and an entry costs ~10 bytes
 * (a Map's ~40). Iterate with `keys`/`ranks` (skip keys of 0); the order is unspecified.
 */
export class SparseRegisters {
  keys = new Int32Array(8);
  ranks = new Uint8Array(8);
  size = 0;

  /** Raises register idx to `rank`; true when something changed. */
  raise(idx: number, rank: number): boolean {
    const key = idx + 1;
    let keys = this.keys;
    let mask = keys.length - 1;
    let j = idx & mask;
    for (;;) {
      const k = keys[j]!;
      if (k === key) {
        if (this.ranks[j]! >= rank) return false;
        this.ranks[j] = rank;
        return true;
      }
      if (k === 0) break;
      j = (j + 1) & mask;
    }
    if ((this.size + 1) * 2 > keys.length) {
      this.grow();
      keys = this.keys;
      mask = keys.length - 1;
      j = idx & mask;
      while (keys[j] !== 0) j = (j + 1) & mask;
    }
    keys[j] = key;
    this.ranks[j] = rank;
    this.size++;
    return true;
  }

  /** Makes room for `entries` entries in all (load ≤ 1/2) at once, so adding them does not regrow step by step. */
  reserve(entries: number): void {
    let n = this.keys.length;
    while (n < entries * 2) n *= 2;
    if (n > this.keys.length) this.grow(n);
  }

  private grow(n = this.keys.length * 2): void {
    const oldKeys = this.keys, oldRanks = this.ranks;
    const mask = n - 1;
    const keys = new Int32Array(n), ranks = new Uint8Array(n);
    for (let i = 0; i < oldKeys.length; i++) {
      const k = oldKeys[i]!;
      if (k === 0) continue;
      let j = (k - 1) & mask;
      while (keys[j] !== 0) j = (j + 1) & mask;
      keys[j] = k;
      ranks[j] = oldRanks[i]!;
    }
    this.keys = keys;
    this.ranks = ranks;
  }
}
