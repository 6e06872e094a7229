/**
 * A bounded memo cache: a Map with least-recently-used eviction (a hit re-inserts the key, so Map
 * order is recency order and the first key is the eviction victim). Used per distinct URL by
 * normalize, so an instance's memory stays bounded whatever the number of distinct URLs.
 */
export class LruCache<K, V> {
  private readonly map = new Map<K, V>();
  hits = 0;
  misses = 0;
  constructor(private readonly capacity: number) {}

  getOrCompute(key: K, compute: (k: K) => V): V {
    const v = this.map.get(key);
    if (v !== undefined) {
      this.hits++;
      this.map.delete(key);
      this.map.set(key, v);
      return v;
    }
    this.misses++;
    const c = compute(key);
    if (this.capacity > 0) {
      if (this.map.size >= this.capacity) this.map.delete(this.map.keys().next().value as K);
      this.map.set(key, c);
    }
    return c;
  }

  get size(): number {
    return this.map.size;
  }
}
