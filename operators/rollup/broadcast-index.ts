/**
 * BroadcastIndex: rollup's id → component-person map for the broadcast join, as flat typed arrays
 * (no per-entry objects): the 128-bit MurmurHash3 x86_128 of an id → the first 64 bits of the hash
 * of its component person (the two words HyperLogLog needs).
 *
 * - Built by rollup's 'index' stage, B instances in parallel, each over its share of the
 *   components' files, as `entries`: 6 int32 per id (key words k0..k3, value words v0, v1), handed
 *   out as raw bytes in chunks (`chunks()`) sorted by key (k0..k3 as unsigned) with one entry per
 *   key: one run per instance. The map instances merge the runs (`BroadcastIndex.fromRuns`: a key
 *   in several runs keeps the last run's entry) and probe through a directory built locally (dir[b]
 *   = the first entry whose k0's top `dirBits` bits are ≥ b, dirBits = ⌈log2 n⌉, so ~1 entry per
 *   directory bucket; a probe stops at its first match). A run out of that order or repeating a key
 *   is SHUFFLE_INVALID (e.g. an index stage that finished under rollup version 3, before an
 *   upgrade: the message says to re-run the task).
 * - `mapAll` probes a whole column of keys at once in k0 order (a counting sort of the probes by
 *   k0's top bits), so the directory and the entries are walked forwards, not at random: at 10M
 *   rows (1.85M ids, 44 MiB of entries) a probe cost ~40% less than in arrival order.
 * - Keys are hashes, not strings: two ids collide only if their 128-bit hashes are equal — about
 *   n²/2^129 for n ids (~1e-26 at 10^6 ids): effectively exact, and no id string is kept.
 * - Byte order: the chunks are the platform's Int32Array bytes; writer and reader run the same
 *   code on the same kind of machine (little-endian in practice), within one run.
 * - Duplicate keys: the later add() wins (the same as the shuffle join's Map.set); chunks() ships
 *   only that entry, so a key added d times costs its probes nothing extra.
 * Memory: `broadcastBytes(n)` = 24·n (entries) + 4·(2^dirBits + 1) (directory, < 8·n + 8), so
 * < 32·n + 72 in all; rollup broadcasts only while that is ≤ its maxBroadcastBytes param for n =
 * the components' rows (duplicates counted: an upper bound on what the runs ship; see rollup.ts).
 * Transient extra: the builder's sort (a second copy of its entries), and on the probe
 * side the chunk bytes read, until fromRuns has merged them (a k-way merge straight into the final
 * array: no scratch copy), and mapAll's 20 bytes per probe.
 */

import { DagctlError } from '../../core/errors.js';

const WORDS = 6;

/** Directory bits for n entries: ⌈log2 n⌉, at least 4 (≤ 1 entry per bucket on average, ≥ 1/2). */
function dirBitsFor(n: number): number {
  return Math.max(4, 32 - Math.clz32(Math.max(1, n) - 1));
}

/** Bytes the probe side holds for n entries (entries + directory). */
export function broadcastBytes(n: number): number {
  return n * WORDS * 4 + ((1 << dirBitsFor(n)) + 1) * 4;
}

/** Accumulates entries (append only); `chunks()` hands them out sorted, as byte views. */
export class BroadcastBuilder {
  private entries: Int32Array;
  /** Whether chunks() handed out views of `entries` (then it is copied before it changes). */
  private handedOut = false;
  /** Entries held: every add() until chunks(), the distinct keys after it. */
  size = 0;

  /** `expected`: entries to allocate up front (e.g. the input's row count, capped): no regrowth. */
  constructor(expected = 1024) {
    this.entries = new Int32Array(WORDS * Math.max(16, expected));
  }

  /** Adds key (4 hash words of the id) → value (first 2 hash words of its person). */
  add(key: Uint32Array, v0: number, v1: number): void {
    if (this.handedOut) this.unshare();
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

  /**
   * add() for rows 0..n-1 of columns: key (k0[r], k1[r], k2[r], k3[r]) → (v0[r], v1[r]), in row
   * order (a later row wins a repeated key, as with add()).
   */
  addColumns(k0: Int32Array, k1: Int32Array, k2: Int32Array, k3: Int32Array, v0: Int32Array, v1: Int32Array, n: number): void {
    if (this.handedOut) this.unshare();
    let e = this.entries;
    if ((this.size + n) * WORDS > e.length) {
      const grown = new Int32Array(Math.max(e.length * 2, (this.size + n) * WORDS));
      grown.set(e);
      this.entries = e = grown;
    }
    appendColumns(e, this.size, k0, k1, k2, k3, v0, v1, n);
    this.size += n;
  }

  /** Probe-side bytes if the table had this many entries (see broadcastBytes). */
  bytes(): number {
    return broadcastBytes(this.size);
  }

  /**
   * The entries sorted by key (k0..k3 as unsigned), one per key — the last one added (as Map.set)
   * — as byte views of at most `chunkBytes` (a multiple of 24 entries' bytes). Sorts and
   * compacts the builder's entries in place (`size` becomes the distinct keys, `bytes()` what the
   * probe side will hold); the views stay valid: the next add() or chunks() first moves the
   * entries to a fresh buffer (copy on write), so it never rewrites views handed out before.
   */
  chunks(chunkBytes = 1 << 20): Uint8Array[] {
    if (this.handedOut) this.unshare();
    this.entries = sortedByK0(this.entries, this.size);
    this.size = lastOfEachKey(this.entries, this.size);
    this.handedOut = true;
    const per = Math.max(1, Math.floor(chunkBytes / (WORDS * 4))) * WORDS * 4;
    const all = new Uint8Array(this.entries.buffer, 0, this.size * WORDS * 4);
    const out: Uint8Array[] = [];
    for (let o = 0; o < all.length; o += per) out.push(all.subarray(o, Math.min(all.length, o + per)));
    return out;
  }

  /** The entries into a buffer of their own (views handed out keep the old one). */
  private unshare(): void {
    this.entries = this.entries.slice();
    this.handedOut = false;
  }
}

/** Rows 0..n-1 of the columns as entries from entry `at` of e (room checked by the caller). */
function appendColumns(e: Int32Array, at: number, k0: Int32Array, k1: Int32Array, k2: Int32Array, k3: Int32Array, v0: Int32Array, v1: Int32Array, n: number): void {
  for (let r = 0, o = at * WORDS; r < n; r++, o += WORDS) {
    e[o] = k0[r]!; e[o + 1] = k1[r]!; e[o + 2] = k2[r]!; e[o + 3] = k3[r]!;
    e[o + 4] = v0[r]!; e[o + 5] = v1[r]!;
  }
  return;
}

/**
 * The first n entries of `e` sorted by k0 as unsigned, stable, in place (LSD radix over four 8-bit
 * digits, whole 24-byte entries moved each pass: sequential reads, 256 write streams; no gather
 * through a permutation, which was random reads over the whole table); returns e.
 */
function sortedByK0(e: Int32Array, n: number): Int32Array {
  let a: Int32Array = e, b: Int32Array = new Int32Array(n * WORDS);
  const count = new Int32Array(257);
  for (let shift = 0; shift < 32; shift += 8) {
    count.fill(0);
    countDigits(a, n, shift, count);
    prefixSums(count);
    scatterEntries(a, b, n, shift, count);
    const t = a;
    a = b;
    b = t;
  }
  return a; // four passes: back in e
}

/** count[digit + 1]++ for the 8-bit digit at `shift` of each entry's k0. */
function countDigits(e: Int32Array, n: number, shift: number, count: Int32Array): void {
  for (let i = 0; i < n; i++) count[((e[i * WORDS]! >>> shift) & 0xff) + 1]!++;
}

/** Running sums in place. */
function prefixSums(a: Int32Array): void {
  for (let k = 1; k < a.length; k++) a[k]! += a[k - 1]!;
}

/** Stable scatter of the entries of `from` into `to` by the 8-bit digit at `shift` of k0 (count: each digit's start, advanced). */
function scatterEntries(from: Int32Array, to: Int32Array, n: number, shift: number, count: Int32Array): void {
  for (let i = 0; i < n; i++) {
    const s = i * WORDS, d = count[(from[s]! >>> shift) & 0xff]!++ * WORDS;
    to[d] = from[s]!; to[d + 1] = from[s + 1]!; to[d + 2] = from[s + 2]!;
    to[d + 3] = from[s + 3]!; to[d + 4] = from[s + 4]!; to[d + 5] = from[s + 5]!;
  }
}

/** Unsigned order of int32 words a, b: negative, 0 or positive. */
function cmpWord(a: number, b: number): number {
  return (a ^ -0x80000000) - (b ^ -0x80000000);
}

/** Order of the keys of entries i and j (words at `from`..3 as unsigned; from = 1 when their k0 are equal). */
function cmpKey(e: Int32Array, i: number, j: number, from: number): number {
  const a = i * WORDS, b = j * WORDS;
  for (let w = from; w < 4; w++) {
    const c = cmpWord(e[a + w]!, e[b + w]!);
    if (c !== 0) return c;
  }
  return 0;
}

/**
 * The first n entries (sorted by k0) sorted by their whole key and compacted to the last entry of
 * each key, in place; returns how many remain. Each run of equal k0 (m entries) is sorted by k1,
 * k2, k3 as unsigned, stable (equal keys keep their insertion order), in O(m log m): a key added
 * many times costs no more than distinct ones. One pass; single-entry runs are only moved.
 */
function lastOfEachKey(e: Int32Array, n: number): number {
  let w = 0;
  for (let s = 0, t = 1; s < n; s = t, t = s + 1) {
    const k0 = e[s * WORDS]!;
    while (t < n && e[t * WORDS] === k0) t++;
    if (t - s > 1) sortRun(e, s, t);
    for (let i = s; i < t; i++) {
      if (i + 1 < t && cmpKey(e, i, i + 1, 1) === 0) continue; // a later entry has this key
      if (w !== i) e.copyWithin(w * WORDS, i * WORDS, (i + 1) * WORDS);
      w++;
    }
  }
  return w;
}

/** Entries s..t-1 (equal k0) sorted by k1, k2, k3 as unsigned, stable, in place. */
function sortRun(e: Int32Array, s: number, t: number): void {
  if (t - s <= 16) {
    // Insertion sort of whole entries (stable: moves only past strictly greater keys).
    const tmp = new Int32Array(WORDS);
    for (let i = s + 1; i < t; i++) {
      let j = i;
      while (j > s && cmpKey(e, j - 1, i, 1) > 0) j--;
      if (j === i) continue;
      tmp.set(e.subarray(i * WORDS, (i + 1) * WORDS));
      e.copyWithin((j + 1) * WORDS, j * WORDS, i * WORDS);
      e.set(tmp, j * WORDS);
    }
    return;
  }
  const order = Array.from({ length: t - s }, (_, k) => s + k).sort((i, j) => cmpKey(e, i, j, 1) || i - j);
  const run = e.slice(s * WORDS, t * WORDS);
  for (let k = 0; k < order.length; k++) e.set(run.subarray((order[k]! - s) * WORDS, (order[k]! - s + 1) * WORDS), (s + k) * WORDS);
}

/**
 * The index of the first of entries from..to-1 whose key (k0..k3, unsigned) is not above its
 * predecessor's (out of order, or a duplicate), or `to` when the keys strictly increase (entry
 * `from` is not compared with the one before it).
 */
function firstDisorder(entries: Int32Array, from: number, to: number): number {
  // k0 with its sign bit flipped orders as k0 unsigned, and stays a small integer (an unsigned
  // value past 2^31 would deoptimize the compare: "lost precision").
  let prev = -0x80000000;
  for (let e = from; e < to; e++) {
    const key = entries[e * WORDS]! ^ -0x80000000;
    if (key < prev || (e > from && key === prev && cmpKey(entries, e - 1, e, 1) >= 0)) return e;
    prev = key;
  }
  return to;
}

/** SHUFFLE_INVALID for entry `bad` of a run of n (run r) out of key order or repeating a key. */
function disorder(bad: number, n: number, run: number): DagctlError {
  return new DagctlError(
    'SHUFFLE_INVALID',
    `rollup broadcast index: entry ${bad} of ${n} in run ${run} is out of key order or repeats a key (each run must come sorted by key, one entry per key, as ` +
      `rollup's index stage writes it since version 4; an index stage that finished under an older rollup version, before an upgrade, wrote another ` +
      `order): re-run the rollup task from its index stage — \`dagctl run FILE --rerun-from TASK\` (embedded) or \`dagctl retry RUN_ID --from TASK\` (distributed)`,
    { entry: bad, run },
  );
}

/**
 * The runs merged into one strictly increasing array with room for all `n` of their entries (fewer
 * are used when runs share keys): a k-way merge over one cursor per run — a binary heap of run
 * numbers ordered by (head key, run) — straight from the chunks, in one pass, no scratch copy.
 * Equal keys pop in run order, each overwriting the entry written for that key: the last run's
 * stays. Each run is checked as its cursor advances (a head not above the one before it is
 * SHUFFLE_INVALID). runs[r]: run r's chunks (non-empty, each a whole number of entries); which[r]
 * its number among all runs and lens[r] its entries (for the error). Each chunk's slot is emptied
 * once merged (chunkInts), so a chunk no other shares can go during the merge.
 */
function mergeRuns(runs: Uint8Array[][], which: number[], lens: number[], n: number): { entries: Int32Array; size: number } {
  const k = runs.length;
  const out = new Int32Array(n * WORDS);
  // Per run: its current chunk as int32, that chunk's index, the head's offset in it and index in
  // the run; the heads' keys, sign-flipped (so signed order is unsigned order), in `key`.
  const cur: Int32Array[] = [], chunkAt = new Int32Array(k), pos = new Int32Array(k), idx = new Int32Array(k);
  const key = new Int32Array(k * 4);
  const heap = new Int32Array(k);
  let live = 0;
  for (let r = 0; r < k; r++) {
    cur.push(NO_INTS);
    chunkAt[r] = -1;
    pos[r] = -WORDS;
    if (!advance(r, true)) continue; // (callers pass non-empty runs)
    heap[live] = r;
    siftUp(heap, live++, key);
  }
  let o = 0;
  while (live > 1) {
    let r = heap[0]!;
    const b = r * 4, k0 = key[b]!, k1 = key[b + 1]!, k2 = key[b + 2]!, k3 = key[b + 3]!;
    for (;;) {
      copyEntryAt(cur[r]!, pos[r]!, out, o);
      if (advance(r, false)) siftDown(heap, live, key);
      else if (--live > 0) {
        heap[0] = heap[live]!;
        siftDown(heap, live, key);
      }
      if (live === 0) break;
      r = heap[0]!;
      const s = r * 4;
      if (key[s] !== k0 || key[s + 1] !== k1 || key[s + 2] !== k2 || key[s + 3] !== k3) break;
    }
    o += WORDS;
  }
  // One run left (or only one given): its entries in order, no heap.
  if (live === 1) o = drain(heap[0]!, o);
  return { entries: out, size: o / WORDS };

  /**
   * Run r's entries from its cursor on into out at word offset o, a chunk's rest at a time (checked
   * by firstDisorder, its head already by advance); returns o past them.
   */
  function drain(r: number, o: number): number {
    do {
      const c = cur[r]!, p = pos[r]!, end = c.length / WORDS;
      const bad = firstDisorder(c, p / WORDS, end);
      if (bad !== end) throw disorder(idx[r]! + bad - p / WORDS, lens[r]!, which[r]!);
      out.set(c.subarray(p), o);
      o += c.length - p;
      idx[r]! += end - 1 - p / WORDS;
      const last = c.length - WORDS, b = r * 4;
      pos[r] = last;
      key[b] = c[last]! ^ -0x80000000; key[b + 1] = c[last + 1]! ^ -0x80000000;
      key[b + 2] = c[last + 2]! ^ -0x80000000; key[b + 3] = c[last + 3]! ^ -0x80000000;
    } while (advance(r, false));
    return o;
  }

  /** Moves run r's cursor to its next entry (checked against the one it leaves unless `first`); false when the run is done. */
  function advance(r: number, first: boolean): boolean {
    let c = cur[r]!, p = pos[r]! + WORDS;
    while (p >= c.length) {
      const run = runs[r]!, at = chunkAt[r]!;
      if (at >= 0) run[at] = EMPTY; // merged
      if (at + 1 >= run.length) return false;
      chunkAt[r] = at + 1;
      cur[r] = c = chunkInts(run, at + 1, which[r]!);
      p = 0;
    }
    pos[r] = p;
    const b = r * 4;
    const k0 = c[p]! ^ -0x80000000, k1 = c[p + 1]! ^ -0x80000000, k2 = c[p + 2]! ^ -0x80000000, k3 = c[p + 3]! ^ -0x80000000;
    const p0 = key[b]!, p1 = key[b + 1]!, p2 = key[b + 2]!;
    const i = first ? 0 : ++idx[r]!;
    if (!first && (k0 < p0 || (k0 === p0 && (k1 < p1 || (k1 === p1 && (k2 < p2 || (k2 === p2 && k3 <= key[b + 3]!))))))) throw disorder(i, lens[r]!, which[r]!);
    key[b] = k0; key[b + 1] = k1; key[b + 2] = k2; key[b + 3] = k3;
    return true;
  }
}

const EMPTY = new Uint8Array(0);
const NO_INTS = new Int32Array(0);

/** Chunk c of a run as int32 words: a view where the bytes are 4-aligned, else a copy (a chunk not a whole number of entries is SHUFFLE_INVALID). */
function chunkInts(run: Uint8Array[], c: number, which: number): Int32Array {
  const ch = run[c]!;
  if (ch.length % (WORDS * 4) !== 0) throw new DagctlError('SHUFFLE_INVALID', `rollup broadcast index: chunk ${c} of run ${which} (${ch.length} bytes) is not a whole number of ${WORDS * 4}-byte entries`, { run: which });
  return ch.byteOffset % 4 === 0 ? new Int32Array(ch.buffer, ch.byteOffset, ch.length / 4) : new Int32Array(ch.slice().buffer);
}

/** Whether heap slot run a orders before run b: head key (sign-flipped words), then run number. */
function before(key: Int32Array, a: number, b: number): boolean {
  const x = a * 4, y = b * 4;
  for (let w = 0; w < 4; w++) {
    const p = key[x + w]!, q = key[y + w]!;
    if (p !== q) return p < q;
  }
  return a < b;
}

function siftUp(heap: Int32Array, i: number, key: Int32Array): void {
  const r = heap[i]!;
  while (i > 0) {
    const parent = (i - 1) >> 1, p = heap[parent]!;
    if (!before(key, r, p)) break;
    heap[i] = p;
    i = parent;
  }
  heap[i] = r;
}

/** Restores the heap order of heap[0..live-1] after heap[0] changed. */
function siftDown(heap: Int32Array, live: number, key: Int32Array): void {
  const r = heap[0]!;
  let i = 0;
  for (;;) {
    let c = 2 * i + 1;
    if (c >= live) break;
    if (c + 1 < live && before(key, heap[c + 1]!, heap[c]!)) c++;
    if (!before(key, heap[c]!, r)) break;
    heap[i] = heap[c]!;
    i = c;
  }
  heap[i] = r;
}

/** The entry at word offset s of `from` into `to` at word offset d. */
function copyEntryAt(from: Int32Array, s: number, to: Int32Array, d: number): void {
  to[d] = from[s]!; to[d + 1] = from[s + 1]!; to[d + 2] = from[s + 2]!;
  to[d + 3] = from[s + 3]!; to[d + 4] = from[s + 4]!; to[d + 5] = from[s + 5]!;
}

/**
 * Sets dir[b] to the first entry whose k0 >>> shift is ≥ b, for every b up to the last entry's
 * (dir filled with n beforehand covers the rest). The entries are sorted (mergeRuns).
 */
function fillDirectory(entries: Int32Array, n: number, shift: number, dir: Int32Array): void {
  let fill = 0;
  for (let e = 0; e < n; e++) {
    const b = entries[e * WORDS]! >>> shift;
    while (fill <= b) dir[fill++] = e;
  }
  return;
}

/** Probes are grouped by this many top bits of k0 (at most; the directory's bits when fewer). */
const GROUP_BITS = 16;
const groupCount = new Int32Array((1 << GROUP_BITS) + 1);

export class BroadcastIndex {
  private readonly shift: number;

  private constructor(
    private readonly entries: Int32Array,
    private readonly dir: Int32Array,
    dirBits: number,
    /** Keys held (one entry each). */
    readonly size: number,
  ) {
    this.shift = 32 - dirBits;
  }

  /**
   * Builds the probe table from runs: each run the chunks one `BroadcastBuilder.chunks()` wrote, in
   * order (sorted by key, one entry per key). The runs are merged; a key in several runs keeps the
   * entry of the last of them (as Map.set over the runs' ids in run order). A run out of key order
   * or repeating a key, or a chunk not a whole number of entries, is SHUFFLE_INVALID. Consumes the
   * runs (each chunk's slot is emptied once merged, each array at the end). Memory: the merge
   * writes the final entries array (room for every run's entries, duplicates included: at most
   * the 24·n bytes broadcastBytes counts) straight from the chunks, so the probe side holds the
   * chunks (less those already merged, where nothing else keeps their bytes) and that one array —
   * two copies of the entries at its peak, as with one run — plus the directory.
   */
  static fromRuns(runs: Uint8Array[][]): BroadcastIndex {
    // The non-empty runs, each checked to be whole entries, then merged k-way from their chunks.
    const live: Uint8Array[][] = [], which: number[] = [], lens: number[] = [];
    let n = 0;
    for (let r = 0; r < runs.length; r++) {
      let rb = 0;
      for (const c of runs[r]!) rb += c.length;
      if (rb % (WORDS * 4) !== 0) throw new DagctlError('SHUFFLE_INVALID', `rollup broadcast index: run ${r} of ${rb} bytes is not a whole number of ${WORDS * 4}-byte entries`, { run: r });
      if (rb === 0) continue;
      live.push(runs[r]!);
      which.push(r);
      lens.push(rb / (WORDS * 4));
      n += rb / (WORDS * 4);
    }
    const { entries, size } = mergeRuns(live, which, lens, n);
    for (const run of runs) run.length = 0; // consumed
    const dirBits = dirBitsFor(size);
    if (dirBits > 28) throw new DagctlError('INTERNAL', `broadcast index of ${size} entries is too large`);
    const dir = new Int32Array((1 << dirBits) + 1).fill(size);
    fillDirectory(entries, size, 32 - dirBits, dir);
    return new BroadcastIndex(entries, dir, dirBits, size);
  }

  /** The offset in `entries` of the entry whose key is (k0, k1, k2, k3) (int32 words; keys are unique), or -1. */
  private find(k0: number, k1: number, k2: number, k3: number): number {
    const entries = this.entries, b = k0 >>> this.shift;
    for (let e = this.dir[b]!, end = this.dir[b + 1]!; e < end; e++) {
      const o = e * WORDS;
      if (entries[o] === k0 && entries[o + 1] === k1 && entries[o + 2] === k2 && entries[o + 3] === k3) return o;
    }
    return -1;
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
   * present, k0[r], k1[r] become its person's hash words; returns how many were. The probes are
   * first grouped by k0's top bits (a counting sort, their keys copied into that order), then
   * looked up in that order: the directory and entries are read forwards.
   */
  mapAll(k0: Int32Array, k1: Int32Array, k2: Int32Array, k3: Int32Array, n: number): number {
    // The probes' rows and keys in group order (per call: nothing held between instances).
    const order = new Int32Array(n), s0 = new Int32Array(n), s1 = new Int32Array(n), s2 = new Int32Array(n), s3 = new Int32Array(n);
    const gshift = 32 - Math.min(GROUP_BITS, 32 - this.shift);
    const count = groupCount.subarray(0, (1 << (32 - gshift)) + 1);
    count.fill(0);
    countGroups(k0, n, gshift, count);
    prefixSums(count);
    scatterGroups(k0, k1, k2, k3, n, gshift, count, order, s0, s1, s2, s3);
    return probeInOrder(this.entries, this.dir, this.shift, n, order, s0, s1, s2, s3, k0, k1);
  }
}

/** count[group + 1]++ for each probe's group (k0 >>> gshift). */
function countGroups(k0: Int32Array, n: number, gshift: number, count: Int32Array): void {
  for (let r = 0; r < n; r++) count[(k0[r]! >>> gshift) + 1]!++;
}

/** Each probe's row and key words into position count[group]++ of order / s0..s3. */
function scatterGroups(k0: Int32Array, k1: Int32Array, k2: Int32Array, k3: Int32Array, n: number, gshift: number, count: Int32Array, order: Int32Array, s0: Int32Array, s1: Int32Array, s2: Int32Array, s3: Int32Array): void {
  for (let r = 0; r < n; r++) {
    const x = k0[r]!, j = count[x >>> gshift]!++;
    order[j] = r; s0[j] = x; s1[j] = k1[r]!; s2[j] = k2[r]!; s3[j] = k3[r]!;
  }
}

/** The lookups in group order: each hit's value words into k0/k1 at its row; returns the hits. */
function probeInOrder(entries: Int32Array, dir: Int32Array, shift: number, n: number, order: Int32Array, s0: Int32Array, s1: Int32Array, s2: Int32Array, s3: Int32Array, k0: Int32Array, k1: Int32Array): number {
  let mapped = 0;
  for (let i = 0; i < n; i++) {
    const a = s0[i]!, b = a >>> shift;
    let found = -1;
    for (let e = dir[b]!, end = dir[b + 1]!; e < end; e++) {
      const o = e * WORDS;
      if (entries[o] === a && entries[o + 1] === s1[i] && entries[o + 2] === s2[i] && entries[o + 3] === s3[i]) {
        found = o; // keys are unique: the first match is the only one
        break;
      }
    }
    if (found < 0) continue;
    const r = order[i]!;
    k0[r] = entries[found + 4]!;
    k1[r] = entries[found + 5]!;
    mapped++;
  }
  return mapped;
}
