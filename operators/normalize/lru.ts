/**
 * A bounded memo cache, approximately LRU with two generations: lookups hit `young` (no
 * reordering, unlike a Map-as-LRU's delete + re-insert on every hit, which cost normalize more
 * than the URL work it saved), then `old` (a hit is promoted to young); when young holds
 * ⌈capacity/2⌉ entries it becomes old and the previous old generation is dropped. So at most
 * `capacity` entries are held and an entry used within the last ⌈capacity/2⌉ insertions always
 * survives. Used per distinct URL by normalize, so an instance's memory stays bounded whatever the
 * number of distinct URLs.
 */
export class LruCache<K, V> {
  private young = new Map<K, V>();
  private old = new Map<K, V>();
  private readonly half: number;
  hits = 0;
  misses = 0;
  constructor(private readonly capacity: number) {
    this.half = Math.max(1, Math.ceil(capacity / 2));
  }

  getOrCompute(key: K, compute: (k: K) => V): V {
    let v = this.young.get(key);
    if (v !== undefined) {
      this.hits++;
      return v;
    }
    v = this.old.get(key);
    if (v !== undefined) {
      this.hits++;
      this.insert(key, v);
      return v;
    }
    this.misses++;
    const c = compute(key);
    if (this.capacity > 0) this.insert(key, c);
    return c;
  }

  private insert(key: K, v: V): void {
    if (this.young.size >= this.half) {
      this.old = this.young;
      this.young = new Map();
    }
    this.young.set(key, v);
  }

  get size(): number {
    let n = this.young.size;
    for (const k of this.old.keys()) if (!this.young.has(k)) n++;
    return n;
  }
}
