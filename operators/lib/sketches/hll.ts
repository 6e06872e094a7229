/**
 * HyperLogLog distinct counter (Flajolet et al. 2007) over MurmurHash3 x86_128's first 64 bits.
 *
 * - precision p ∈ [4, 16] (m = 2^p registers, standard error ≈ 1.04/√m: 0.81% at p = 14).
 * - Registers start sparse (HLL++ style: a table (hll-sparse.ts) over 2^25 virtual registers, estimated by linear
 *   counting, near-exact for small sets — most hourly buckets are small) and turn dense
 *   (Uint8Array(m)) once the Map would cost more memory than the array, so a rollup holding one
 *   sketch per (url, granularity, bucket) stays small for the many low-traffic keys.
 * - estimate(): Ertl's improved estimator (see the method); estimateClassic() keeps the original
 *   α_m raw estimate with linear counting below 2.5·m. 64-bit hashes: no large-range correction.
 * - serialize()/deserialize(): 'H' 1 p mode, then sparse (u32 count, count × (u32 idx25, u8 rank),
 *   ascending) or dense (m bytes): equal sketches give equal bytes. merge() = register-wise max
 *   (sketches must share p); a sparse sketch merged into a dense one is mapped down to p first.
 */
import { DagctlError } from '../../../core/errors.js';
import { SparseRegisters } from './hll-sparse.js';
import { hashString } from './murmur3.js';

function sigma(x: number): number {
  if (x === 1) return Infinity;
  let y = 1, z = x, prev: number;
  do {
    x *= x;
    prev = z;
    z += x * y;
    y += y;
  } while (z !== prev);
  return z;
}

function tau(x: number): number {
  if (x === 0 || x === 1) return 0;
  let y = 1, z = 1 - x, prev: number;
  do {
    x = Math.sqrt(x);
    prev = z;
    y *= 0.5;
    z -= (1 - x) * (1 - x) * y;
  } while (z !== prev);
  return z / 3;
}
const POW2NEG = new Float64Array(66).map((_, k) => 2 ** -k);
const SPARSE_M = 2 ** 25;

/** The estimate of a sparse sketch holding n entries: linear counting over 2^25 virtual registers (near-exact for the small sets sparse holds). */
export function sparseEstimate(n: number): number {
  return SPARSE_M * Math.log(SPARSE_M / (SPARSE_M - n));
}

/**
 * The estimate of dense registers (precision p) from their value histogram c[0..q+1] (q = 64 − p;
 * c[k] = registers holding k): Ertl's improved raw estimator (HyperLogLog.estimate).
 */
export function denseEstimate(c: ArrayLike<number>, p: number): number {
  const m = 1 << p, q = 64 - p;
  let z = m * tau(1 - c[q + 1]! / m);
  for (let k = q; k >= 1; k--) z = 0.5 * (z + c[k]!);
  z += m * sigma(c[0]! / m);
  return (m * m) / (2 * Math.LN2 * z);
}
const out = new Uint32Array(4);
/** serializeInto's sort scratch (a sparse sketch holds at most m/32 ≤ 2,048 entries). */
let packScratch = new Int32Array(1024);

const HIGH = 0x80808080;

/**
 * Register-wise max of dense registers, four at a time (SWAR): acc[i] = max per byte of acc[i]
 * and src[i]. Ranks are < 128, so per byte ((x | 0x80) − y) keeps bit 7 exactly when x ≥ y and
 * never borrows from the next byte.
 */
export function maxRegisters(acc: Uint32Array, src: Uint32Array): void {
  for (let i = 0; i < acc.length; i++) {
    const x = acc[i]!, y = src[i]!;
    if (x === y) continue;
    const mask = ((((x | HIGH) - y) & HIGH) >>> 7) * 0xff;
    acc[i] = (x & mask) | (y & ~mask);
  }
}

export class HyperLogLog {
  readonly p: number;
  readonly m: number;
  private sparse: SparseRegisters | null = new SparseRegisters();
  private dense: Uint8Array | null = null;

  constructor(p = 14) {
    if (!Number.isInteger(p) || p < 4 || p > 16) throw new DagctlError('OPERATOR_PARAMS_INVALID', `hll precision ${p} not in 4..16`);
    this.p = p;
    this.m = 1 << p;
  }

  /** Adds a string (hashed over its UTF-8 bytes). */
  add(value: string): void {
    hashString(value, out);
    this.addHash(out[0]!, out[1]!);
  }

  /** Adds a pre-computed 64-bit hash given as two uint32 halves (hi = first word). */
  addHash(hi: number, lo: number): void {
    const d = this.dense;
    if (d !== null) {
      const p = this.p;
      const idx = hi >>> (32 - p);
      const lz = Math.clz32((hi << p) >>> 0);
      const rank = lz < 32 - p ? lz + 1 : 32 - p + Math.clz32(lo) + 1;
      if (d[idx]! < rank) d[idx] = rank;
      return;
    }
    // Sparse: index on the top 25 bits, rank over the remaining 39 (HLL++'s p' = 25).
    const idx = hi >>> 7;
    const lz = Math.clz32((hi << 25) >>> 0);
    this.setSparse(idx, lz < 7 ? lz + 1 : 7 + Math.clz32(lo) + 1);
  }

  /**
   * Adds the hashes (h1[i], h2[i]) for i in [from, to) (hi, lo as int32): the same sketch as addHash
   * on each, in any order. Sparse, their entries (idx25 · 64 + rank, as serializeInto packs them)
   * are sorted and deduplicated in `scratch` (≥ to − from int32) first, so the table is sized
   * once for exactly the distinct entries it takes: no step-by-step regrowth, and no
   * over-reservation when many rows come from few persons.
   */
  addHashes(h1: Int32Array, h2: Int32Array, from: number, to: number, scratch: Int32Array): void {
    if (this.dense !== null) {
      for (let i = from; i < to; i++) this.addHash(h1[i]! >>> 0, h2[i]! >>> 0);
      return;
    }
    const n = to - from;
    if (scratch.length < n) throw new DagctlError('INTERNAL', `hll addHashes: scratch of ${scratch.length} for ${n} hashes`);
    for (let i = 0; i < n; i++) {
      const hi = h1[from + i]!, lz = Math.clz32(hi << 25);
      scratch[i] = ((hi >>> 7) << 6) | (lz < 7 ? lz + 1 : 8 + Math.clz32(h2[from + i]!));
    }
    const sorted = n > 1 ? scratch.subarray(0, n).sort() : scratch;
    // Unique register indexes, each with its largest rank (the last of its run: ranks ascend within an index).
    let d = 0;
    for (let i = 0; i < n; i++) {
      const x = sorted[i]!;
      if (i + 1 < n && sorted[i + 1]! >>> 6 === x >>> 6) continue;
      sorted[d++] = x;
    }
    this.reserve(d);
    const extra = 25 - this.p, lowMask = (1 << extra) - 1;
    for (let k = 0; k < d; k++) {
      const x = sorted[k]!, i25 = x >>> 6, r25 = x & 63;
      // setSparse may turn this sketch dense midway: the rest is mapped down to p (as merge does).
      const dn = this.dense as Uint8Array | null; // (not narrowed: setSparse may have set it)
      if (dn !== null) {
        const low = i25 & lowMask;
        const r = low !== 0 ? Math.clz32(low) - (32 - extra) + 1 : extra + r25;
        const i = i25 >>> extra;
        if (dn[i]! < r) dn[i] = r;
      } else this.setSparse(i25, r25);
    }
  }

  /**
   * The register positions of a 64-bit hash, computed once to add it to several sketches of the
   * same precision (addAt): [sparse index, sparse rank, dense index, dense rank] into `out`.
   */
  static positions(p: number, hi: number, lo: number, out: Int32Array): void {
    const lz25 = Math.clz32((hi << 25) >>> 0);
    out[0] = hi >>> 7;
    out[1] = lz25 < 7 ? lz25 + 1 : 7 + Math.clz32(lo) + 1;
    const lz = Math.clz32((hi << p) >>> 0);
    out[2] = hi >>> (32 - p);
    out[3] = lz < 32 - p ? lz + 1 : 32 - p + Math.clz32(lo) + 1;
  }

  /** addHash with positions from HyperLogLog.positions(this.p, hi, lo, pos): the same effect. */
  addAt(pos: Int32Array): void {
    const d = this.dense;
    if (d !== null) {
      const idx = pos[2]!, rank = pos[3]!;
      if (d[idx]! < rank) d[idx] = rank;
      return;
    }
    this.setSparse(pos[0]!, pos[1]!);
  }

  /**
   * Makes room for n more distinct sparse entries (as many as a sparse sketch holds before it
   * turns dense, m/32, at most) before merging that many: no effect on the sketch, only on how its
   * table grows. No-op when dense. n must bound distinct entries (a merge's sparseSize), not rows.
   */
  reserve(n: number): void {
    const s = this.sparse;
    if (s !== null) s.reserve(Math.min(s.size + n, this.m >>> 5));
  }

  /**
   * Before adding `rows` hashes whose distinct count is unknown (many rows may come from few
   * persons): makes room for at most max(size, 8) more entries, so the table at most doubles
   * once ahead of its growth instead of being sized by rows.
   */
  reserveForRows(rows: number): void {
    const s = this.sparse;
    if (s !== null) this.reserve(Math.min(rows, Math.max(s.size, 8)));
  }

  /** Slots of the sparse table (0 when dense): its memory is 5 bytes a slot. */
  get sparseSlots(): number {
    return this.sparse === null ? 0 : this.sparse.keys.length;
  }

  /** Sparse entries held (0 when dense): a bound for reserve() before a merge. */
  get sparseSize(): number {
    return this.sparse === null ? 0 : this.sparse.size;
  }

  private setSparse(idx: number, rank: number): void {
    const s = this.sparse!;
    // Past m/32 entries the dense array is cheaper to update and estimate (and about as small).
    if (s.raise(idx, rank) && s.size > this.m >>> 5) this.toDense();
  }

  /** Calls fn(idx25, rank25) for every sparse entry (unordered). */
  private eachSparse(s: SparseRegisters, fn: (i25: number, r25: number) => void): void {
    const keys = s.keys, ranks = s.ranks;
    for (let j = 0; j < keys.length; j++) {
      const k = keys[j]!;
      if (k !== 0) fn(k - 1, ranks[j]!);
    }
  }

  /** Dense register and rank of a sparse (p' = 25) entry: the same as hashing into p directly. */
  private denseOf(idx25: number, rank25: number): [number, number] {
    const extra = 25 - this.p;
    const low = idx25 & ((1 << extra) - 1);
    const rank = low !== 0 ? Math.clz32(low) - (32 - extra) + 1 : extra + rank25;
    return [idx25 >>> extra, rank];
  }

  private toDense(): Uint8Array {
    if (this.dense !== null) return this.dense;
    const d = new Uint8Array(this.m);
    this.eachSparse(this.sparse!, (i25, r25) => {
      const [i, r] = this.denseOf(i25, r25);
      if (d[i]! < r) d[i] = r;
    });
    this.dense = d;
    this.sparse = null;
    return d;
  }

  merge(other: HyperLogLog): this {
    if (other.p !== this.p) throw new DagctlError('OPERATOR_INPUT_INVALID', `cannot merge HLL p=${other.p} into p=${this.p}`);
    if (other.dense !== null) {
      const d = this.toDense();
      const o = other.dense;
      // Dense registers are always a whole buffer of their own (toDense: new Uint8Array(m), m ≥ 16): 4-byte aligned.
      maxRegisters(new Uint32Array(d.buffer, d.byteOffset, d.length >>> 2), new Uint32Array(o.buffer, o.byteOffset, o.length >>> 2));
      return this;
    }
    // Other is sparse. Entries are visited in table order; the result does not depend on it (max
    // per register; the sketch turns dense iff the union has more than m/32 entries). Plain loops
    // over the typed arrays, no per-entry tuples: rollup merges every bucket into coarser ones.
    const keys = other.sparse!.keys, ranks = other.sparse!.ranks;
    const extra = 25 - this.p, lowMask = (1 << extra) - 1;
    for (let j = 0; j < keys.length; j++) {
      const k = keys[j]!;
      if (k === 0) continue;
      const i25 = k - 1, r25 = ranks[j]!;
      // setSparse may turn this sketch dense midway.
      const d = this.dense;
      if (d !== null) {
        const low = i25 & lowMask;
        const r = low !== 0 ? Math.clz32(low) - (32 - extra) + 1 : extra + r25;
        const i = i25 >>> extra;
        if (d[i]! < r) d[i] = r;
      } else this.setSparse(i25, r25);
    }
    return this;
  }

  /** Register-value histogram C[0..q+1] (q = 64 − p). */
  private histogram(): number[] {
    const c = new Array<number>(64 - this.p + 2).fill(0);
    if (this.dense !== null) {
      // Indexed loop into a typed counter (an iterator over 2^p bytes was a top cost of rollup).
      // Four counter sets: runs of equal registers (mostly 0) do not wait on one counter's last store.
      const d = this.dense, L = c.length, t = new Int32Array(4 * L);
      for (let i = 0; i < d.length; i += 4) {
        t[d[i]!]!++;
        t[L + d[i + 1]!]!++;
        t[2 * L + d[i + 2]!]!++;
        t[3 * L + d[i + 3]!]!++;
      }
      for (let k = 0; k < L; k++) c[k] = t[k]! + t[L + k]! + t[2 * L + k]! + t[3 * L + k]!;
    } else {
      const d = new Uint8Array(this.m);
      this.eachSparse(this.sparse!, (i25, r25) => {
        const [i, r] = this.denseOf(i25, r25);
        if (d[i]! < r) d[i] = r;
      });
      for (const r of d) c[r]!++;
    }
    return c;
  }

  /**
   * Ertl's improved raw estimator ("New cardinality estimation algorithms for HyperLogLog
   * sketches", 2017): m²/(2·ln2·z) with z built from the register histogram. Its σ(C0/m) term is
   * linear counting's small-range correction in closed form, and it has no bias bump where the
   * classic estimator switches from linear counting to the raw estimate (≈2.5·m: measured 3.3%
   * error at n = 40k, p = 14, against ≤ 1.1% here). No tables needed.
   */
  estimate(): number {
    return this.sparse !== null ? sparseEstimate(this.sparse.size) : denseEstimate(this.histogram(), this.p);
  }

  /** The original paper's estimator: α·m²/Σ2^−M, linear counting m·ln(m/V) while E ≤ 2.5·m. */
  estimateClassic(): number {
    const m = this.m, c = this.histogram();
    let sum = 0;
    for (let k = 0; k < c.length; k++) sum += c[k]! * POW2NEG[k]!;
    const alpha = m >= 128 ? 0.7213 / (1 + 1.079 / m) : m === 64 ? 0.709 : m === 32 ? 0.697 : 0.673;
    const raw = (alpha * m * m) / sum;
    if (raw <= 2.5 * m && c[0]! > 0) return m * Math.log(m / c[0]!);
    return raw;
  }

  /** Rounded estimate, what views store. */
  count(): number {
    return Math.round(this.estimate());
  }

  /** The length of serialize()'s bytes. */
  serializedLength(): number {
    return this.sparse !== null ? 8 + this.sparse.size * 5 : 4 + this.m;
  }

  /** Sparse: 'H' 1 p 0, u32 count, count × (u32 idx25, u8 rank); dense: 'H' 1 p 1, m bytes. */
  serialize(): Uint8Array {
    const buf = new Uint8Array(this.serializedLength());
    this.serializeInto(buf, 0);
    return buf;
  }

  /**
   * serialize()'s bytes written at buf[at .. at + serializedLength()), so a caller writing many
   * sketches can place them in one buffer instead of allocating one per sketch.
   */
  serializeInto(buf: Uint8Array, at: number): void {
    if (this.sparse !== null) {
      // Entries ascending by index: idx25 (< 2^25) · 64 + rank (< 64) packed in an int32, sorted natively.
      const s = this.sparse, keys = s.keys, ranks = s.ranks;
      if (packScratch.length < s.size) packScratch = new Int32Array(Math.max(s.size, packScratch.length * 2));
      let n = 0;
      for (let j = 0; j < keys.length; j++) {
        const k = keys[j]!;
        if (k !== 0) packScratch[n++] = ((k - 1) << 6) | ranks[j]!;
      }
      const packed = packScratch.subarray(0, n).sort();
      buf[at] = 0x48; buf[at + 1] = 1; buf[at + 2] = this.p; buf[at + 3] = 0;
      buf[at + 4] = n & 0xff; buf[at + 5] = (n >>> 8) & 0xff; buf[at + 6] = (n >>> 16) & 0xff; buf[at + 7] = n >>> 24;
      let o = at + 8;
      for (let k = 0; k < n; k++) {
        const x = packed[k]!, i = x >>> 6;
        buf[o] = i & 0xff; buf[o + 1] = (i >>> 8) & 0xff; buf[o + 2] = (i >>> 16) & 0xff; buf[o + 3] = i >>> 24;
        buf[o + 4] = x & 63;
        o += 5;
      }
      return;
    }
    buf[at] = 0x48; buf[at + 1] = 1; buf[at + 2] = this.p; buf[at + 3] = 1;
    buf.set(this.dense!, at + 4);
  }

  static deserialize(bytes: Uint8Array): HyperLogLog {
    const bad = (why: string): DagctlError => new DagctlError('OPERATOR_INPUT_INVALID', `invalid HLL bytes: ${why}`);
    if (bytes.length < 4 || bytes[0] !== 0x48 || bytes[1] !== 1) throw bad('header');
    const p = bytes[2]!;
    if (p < 4 || p > 16) throw bad('precision');
    const h = new HyperLogLog(p);
    if (bytes[3] === 0) {
      const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      if (bytes.length < 8) throw bad('length');
      const n = dv.getUint32(4, true);
      if (bytes.length !== 8 + n * 5) throw bad('length');
      for (let k = 0, o = 8; k < n; k++, o += 5) {
        const i = dv.getUint32(o, true);
        const r = bytes[o + 4]!;
        if (i >= 1 << 25 || r === 0 || r > 40) throw bad('register');
        if (h.dense !== null) {
          const [di, dr] = h.denseOf(i, r);
          if (h.dense[di]! < dr) h.dense[di] = dr;
        } else h.setSparse(i, r);
      }
    } else if (bytes[3] === 1) {
      if (bytes.length !== 4 + h.m) throw bad('length');
      const d = h.toDense();
      const maxRank = 64 - h.p + 1;
      for (let i = 0; i < h.m; i++) {
        const r = bytes[4 + i]!;
        if (r > maxRank) throw bad('register');
        d[i] = r;
      }
    } else throw bad('mode');
    return h;
  }
}

/**
 * Shapes settled at load: a sketch's first regrown sparse table (keys/ranks reassigned) and its
 * turn to dense (a Uint8Array where `dense` held null, null where `sparse` held its table). The
 * first such store in a thread generalizes the fields (type, constness), which deoptimizes every
 * optimized function that inlined a sketch's construction or access (V8 "code dependencies");
 * done here, before anything is optimized, it costs nothing later.
 */
function settleShapes(): void {
  const h = new HyperLogLog(16);
  for (let i = 0; i < 8; i++) h.addHash(i << 16, 1); // regrows the sparse table
  new HyperLogLog(4).addHash(1, 1); // p = 4: dense from its first entry
}
settleShapes();
