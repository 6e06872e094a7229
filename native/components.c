/*
 * Connected components of byte-string edges, as a WebAssembly kernel (built by
 * scripts/build-wasm.mjs into operators/equiv-components/wasm/components-wasm.ts; driven by
 * operators/equiv-components/wasm-components.ts). The same algorithm as operators/lib/columnar/byte-intern.ts +
 * union-find.ts, without JS typed-array bounds checks and with its tables reused across instances:
 *  - staging: per id (UTF-8 bytes somewhere in linear memory) its 32-bit hash — the exact hash of
 *    byte-intern.ts (FNV-1a over little-endian 4-byte words, zero-padded tail, then the length,
 *    then the murmur3 finalizer), so ids route to the same bucket whichever kernel read them;
 *  - flush: records [hash, length, seq, bytes…] scattered into 256 partitions by the hash's top
 *    bits (a counting sort), then interned partition by partition against cache-sized open-addressing
 *    tables with their own byte pools; exact identity (hash, length, bytes);
 *  - union by size with path halving; labels: per id the id of its component's smallest member in
 *    JS string order (UTF-16 code units), compared on UTF-8 bytes as byte-intern.ts less() does.
 *
 * Exports (all sizes in bytes unless named otherwise; pointers are offsets into linear memory):
 *   reset()                                  forget everything (the memory is kept for reuse)
 *   init(capIds, hashMask, capStaged, capScratch, capEdges, idBytes)
 *                                            size the tables for capIds ids (their byte pools for
 *                                            idBytes a id, 4 to 256; 0: 16) and the staging arrays
 *                                            for capStaged ids, scratch regions for capScratch
 *                                            bytes (0: 4 MiB; at most 4 MiB, regions hold more
 *                                            when one scratch() needs it), the recorded edges for
 *                                            capEdges (0: none yet); hashMask ANDs the hash used for
 *                                            partitions and slots (tests force collisions with it;
 *                                            hashOf still reports the full hash)
 *   scratch(n) -> ptr                        n bytes for the caller's input (page bytes and ranges),
 *                                            kept until the next flushPairs(): staged ids
 *                                            point into it, so staging can span many calls
 *   stageRanges(data, starts, lens, count)   stage count ids at data + starts[k], lens[k] (i32
 *                                            arrays at `starts`, `lens`); 0, or -1 when a range
 *                                            lies outside memory
 *   staged() -> n                            ids staged since the last flushPairs()
 *   pairHalves(first, rows) -> invalid       seqs first + k and first + rows + k (k < rows) are an
 *                                            edge (a row group's two columns, staged one after the
 *                                            other); edges with an empty id are dropped and counted
 *   flushPairs()                             intern the ids of every paired edge (ids of dropped
 *                                            edges are not interned; ints are dense) and union
 *                                            them; then forget the staged ids and the scratch
 *   finish()                                 flushPairs() for the last time: nothing is staged
 *                                            after it (scratch, stage*, pairHalves and
 *                                            flushPairs trap), and what interning
 *                                            used is reused by the readers' allocations
 *   stageChunk(data, len) -> edges           stage and pair the edges of a packed edge chunk
 *                                            (edge-chunks.ts) at data; -1 when it is truncated
 *   recordEdges(on)                          record every paired edge's two ints at flushPairs()
 *   edgeList(), edgeCount()                  the recorded edges: u32 pairs, in the order added
 *   labels() -> ptr                          i32[count()]: each id's component minimum (compared
 *                                            by keyLess: per-id 16-byte keys, then bytes)
 *   used() -> bytes                          the allocator's high-water mark since reset(): the
 *                                            memory this instance has touched (its resident size)
 *   count(), componentSize(i), less(i, j)
 *   idHash(), idLen(), idOff(), idPart() -> ptr of the u32 per-id arrays; poolOf(q) -> ptr of
 *                                            partition q's byte pool (id i's bytes: poolOf(idPart[i])
 *                                            + idOff[i], idLen[i] of them)
 * Why stage across calls: interning is fast only when a flush brings many ids per partition, so
 * that a partition's table is loaded into cache once for many lookups (flushing every ~20k ids
 * made each lookup a cache miss: 2x slower than the JS kernel, which flushes every 512k).
 * Preconditions: init() after reset() and before anything else; every staged id paired before
 * flushPairs(). Traps (unreachable) when memory cannot grow (wasm32: 4 GiB).
 */
typedef unsigned int u32;
typedef int i32;
typedef unsigned char u8;
typedef unsigned long size_t;
typedef unsigned long long u64;

extern unsigned char __heap_base;

#define EXPORT(name) __attribute__((export_name(name)))
#define PB 8
#define NP (1u << PB)

/* A bump allocator over linear memory: reset() rewinds it, so a reused instance allocates from
 * memory it has already touched (fresh pages cost a fault each; growing memory per run doubled the
 * caller's garbage-collection time). Regrown arrays leave their old copy behind until reset(). */
static size_t top;

/* After finish(): the memory of interning that no call needs any more (the scratch regions, the
 * flush records, the staging and pair arrays), as blocks that alloc() carves first, so labels,
 * star buffers and emit's arrays reuse it instead of raising the high-water mark (1M pageviews:
 * ~3 MiB less per propagate or emit instance). Nothing is staged or flushed after finish(). */
#define MAX_FREE 80
static u8 *freeAt[MAX_FREE];
static u64 freeLeft[MAX_FREE];
static u32 nFree, settled;

static void *alloc(u64 n) {
  for (u32 f = 0; f < nFree; f++) {
    u8 *at = (u8 *)(((size_t)freeAt[f] + 15) & ~(size_t)15);
    u64 skip = (u64)(at - freeAt[f]);
    if (skip + n > freeLeft[f]) continue;
    freeAt[f] = at + n;
    freeLeft[f] -= skip + n;
    return at;
  }
  /* Sizes in 64 bits: wasm32 addresses end at 4 GiB, and a request past that traps (the instance
   * fails with a WebAssembly RuntimeError) instead of wrapping around onto live data. */
  u64 at = ((u64)top + 15) & ~(u64)15, end = at + n, have = (u64)__builtin_wasm_memory_size(0) * 65536;
  if (end > 0xFFFF0000ull) __builtin_trap();
  if (end > have) {
    /* Grow by at least a quarter of the memory (and 4 MiB): each memory.grow is a call into the
     * engine (and a report to its garbage collector), which page-sized steps made a visible cost;
     * more than a quarter raised the process's peak RSS at 10M rows past 512 MB. */
    u64 want = end - have, step = have / 4 > (4u << 20) ? have / 4 : (4u << 20);
    if (want < step) want = step;
    if (have + want > 0xFFFF0000ull) want = end - have;
    if (__builtin_wasm_memory_grow(0, (size_t)((want + 65535) / 65536)) == (size_t)-1 &&
        __builtin_wasm_memory_grow(0, (size_t)((end - have + 65535) / 65536)) == (size_t)-1)
      __builtin_trap();
  }
  top = (size_t)end;
  return (void *)(size_t)at;
}

static void *zalloc(u64 n) {
  void *p = alloc(n);
  __builtin_memset(p, 0, (size_t)n);
  return p;
}

static void *regrow(void *old, u64 used, u64 n) {
  if (n < used) __builtin_trap(); /* a capacity that wrapped around in 32 bits */
  void *p = alloc(n);
  __builtin_memcpy(p, old, (size_t)used);
  return p;
}

typedef struct {
  u32 *slots; /* 4 per slot: masked hash, id + 1 (0: empty), pool offset, length */
  u32 mask, count;
  u8 *pool;
  u32 used, cap;
} Part;

static Part parts[NP];
static u32 mask_;
static u32 *idPart_, *idOff_, *idLen_, *idHash_;
/* Per id its 16-byte order key (keyWord: two big-endian words of its first 16 bytes, EE/EF raised),
 * set when the id is interned (its bytes are in cache then): labels() and ownedBest() compare
 * ids by key and call less() only on equal keys, instead of reading both ids' bytes from their
 * pools at random (4+ cache misses per comparison). */
static u64 *idKey_;
static i32 *parent, *size_;
static u32 nIds, idCap;
/* Staged ids: hash, bytes pointer, length, and (after flush) their int. */
static u32 *sH, *sP, *sL, *sOut;
static u32 nStaged, stageCap;
static u32 *rec;
static u32 recCap;
static u32 cnt[NP + 1];
/* The scratch arena: regions [region[r], region[r] + regionCap[r]), the current one (scratchAt)
 * filled up to scratchUsed since the last flushPairs(). When it runs out the next region is used
 * (allocated when new); flushPairs() rewinds to region 0, so later chunks reuse the regions of the
 * first instead of leaving a doubled-and-abandoned arena behind at each growth (which, with the
 * staging arrays' doublings, made a 300k-edge partition's memory 96 MiB for ~35 MiB of live data). */
#define MAX_REGIONS 64
static u8 *region[MAX_REGIONS];
static u32 regionCap[MAX_REGIONS];
static u32 nRegions, scratchAt, scratchUsed;
/* The first region's size: 4 MiB, or less when init() was told the input is smaller (capScratch). */
static u32 regionMin = 4u << 20;
/* Paired edges: 2 staged seqs per edge. */
static u32 *pairs;
static u32 nPairs, pairCap;
/* Recorded edges (recordEdges(1)): 2 ints per edge, in the order they were added. */
static u32 *edges_;
static u32 nEdges, edgeCap, recording;

static void forgetEmit(void);

EXPORT("reset") void reset(void) {
  forgetEmit();
  top = (size_t)&__heap_base;
  nIds = idCap = nStaged = stageCap = recCap = nRegions = scratchAt = scratchUsed = nPairs = pairCap = 0;
  nEdges = edgeCap = recording = 0;
  nFree = settled = 0;
  regionMin = 4u << 20;
}

EXPORT("used") u32 used(void) { return (u32)(top - (size_t)&__heap_base); }

static void growIds(u32 need) {
  /* The first size is init()'s estimate as it is (a power of two above it could be ~2x), then doubling. */
  u32 n = idCap == 0 ? (need < 1024 ? 1024 : need) : idCap;
  while (n < need) n *= 2;
  idPart_ = regrow(idPart_, 4 * (u64)nIds, 4 * (u64)n);
  idOff_ = regrow(idOff_, 4 * (u64)nIds, 4 * (u64)n);
  idLen_ = regrow(idLen_, 4 * (u64)nIds, 4 * (u64)n);
  idHash_ = regrow(idHash_, 4 * (u64)nIds, 4 * (u64)n);
  parent = regrow(parent, 4 * (u64)nIds, 4 * (u64)n);
  size_ = regrow(size_, 4 * (u64)nIds, 4 * (u64)n);
  idKey_ = regrow(idKey_, 16 * (u64)nIds, 16 * (u64)n);
  idCap = n;
}

static void roomToStage(u32 count);
static void roomToPair(u32 n);

EXPORT("init") void init(u32 capIds, u32 hashMask, u32 capStaged, u32 capScratch, u32 capEdges, u32 idBytes) {
  mask_ = hashMask;
  if (capScratch != 0) regionMin = capScratch < (64u << 10) ? 64u << 10 : capScratch > (4u << 20) ? 4u << 20 : (capScratch + 15) & ~15u;
  /* Tables two-thirds full at the expected ids (they double past 3/4): smaller tables stay in cache. */
  u32 per = capIds / NP + 16, n = 16;
  while (n < per + per / 2) n <<= 1;
  for (u32 q = 0; q < NP; q++) {
    Part *p = &parts[q];
    p->slots = zalloc(16 * (u64)n);
    p->mask = n - 1;
    p->count = 0;
    /* At most 256 bytes an id presized (per ≤ 2064: 135 MB in all; pools grow past it): longer ids
     * are rare, and presized memory stays resident; at 4096, 2.16 GB (pointers past 2^31). */
    p->cap = per * (idBytes == 0 ? 16 : idBytes < 4 ? 4 : idBytes > 256 ? 256 : idBytes);
    p->pool = alloc(p->cap);
    p->used = 0;
  }
  growIds(capIds);
  roomToStage(capStaged);
  roomToPair(capStaged / 2);
  if (capEdges != 0) {
    edges_ = alloc(8 * (u64)capEdges);
    edgeCap = capEdges;
  }
}

EXPORT("scratch") u8 *scratch(u32 n) {
  if (settled) __builtin_trap(); /* finish() handed the regions to alloc() */
  n = (n + 15) & ~15u;
  if (nRegions == 0 || scratchUsed + n > regionCap[scratchAt]) {
    /* The next region that holds n (a too-small one is skipped: it stays for later rewinds). */
    u32 r = nRegions == 0 ? 0 : scratchAt + 1;
    while (r < nRegions && regionCap[r] < n) r++;
    if (r >= nRegions) {
      if (nRegions == MAX_REGIONS) __builtin_trap();
      /* The first region: regionMin; later ones (the input was larger than init() was told) the
       * full 4 MiB, so MAX_REGIONS holds as much as ever. */
      u32 min = nRegions == 0 ? regionMin : 4u << 20, c = n < min ? min : n;
      region[nRegions] = alloc((u64)c + 16); /* copyWords may read 3 bytes past a value */
      regionCap[nRegions] = c;
      r = nRegions++;
    }
    scratchAt = r;
    scratchUsed = 0;
  }
  u8 *p = region[scratchAt] + scratchUsed;
  scratchUsed += n;
  return p;
}

static inline u32 hashBytes(const u8 *s, u32 len) {
  u32 h = 0x811c9dc5u, i = 0;
  for (; i + 4 <= len; i += 4) {
    u32 v;
    __builtin_memcpy(&v, s + i, 4);
    h = (h ^ v) * 0x01000193u;
  }
  if (i < len) {
    u32 v = 0;
    for (u32 k = 0; i < len; i++, k += 8) v |= (u32)s[i] << k;
    h = (h ^ v) * 0x01000193u;
  }
  h = (h ^ len) * 0x01000193u;
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  return h ^ (h >> 16);
}

static void roomToStage(u32 count) {
  if (nStaged + count <= stageCap) return;
  /* Presized by init(); past that, grow by half (each regrow leaves the old arrays behind). */
  u32 n = stageCap < 4096 ? 4096 : stageCap;
  while (n < nStaged + count) n += n / 2;
  sH = regrow(sH, 4 * (u64)nStaged, 4 * (u64)n);
  sP = regrow(sP, 4 * (u64)nStaged, 4 * (u64)n);
  sL = regrow(sL, 4 * (u64)nStaged, 4 * (u64)n);
  sOut = alloc(4 * (u64)n);
  stageCap = n;
}

EXPORT("stageRanges") i32 stageRanges(u32 data, const i32 *starts, const i32 *lens, u32 count) {
  if (settled) __builtin_trap();
  roomToStage(count);
  u64 mem = (u64)__builtin_wasm_memory_size(0) * 65536;
  u32 s = nStaged;
  for (u32 k = 0; k < count; k++, s++) {
    i32 st = starts[k], l = lens[k];
    if (st < 0 || l < 0 || (u64)data + (u64)st + (u64)l > mem) return -1;
    const u8 *p = (const u8 *)(size_t)data + st;
    sH[s] = hashBytes(p, (u32)l);
    sP[s] = data + (u32)st;
    sL[s] = (u32)l;
  }
  nStaged = s;
  return 0;
}

/* Copies len bytes in 4-byte words (it may write up to 3 bytes past dst + len, into room the
 * callers keep). Not memcpy: in WebAssembly a variable-length memcpy is a memory.copy, which V8
 * runs as a call out of the module — for ids of a dozen bytes that call cost more than the copy. */
static inline void copyWords(u8 *dst, const u8 *src, u32 len) {
  for (u32 i = 0; i < len; i += 4) {
    u32 v;
    __builtin_memcpy(&v, src + i, 4);
    __builtin_memcpy(dst + i, &v, 4);
  }
}

/* Bytes from..from+7 of an id (zero-padded past len) as a big-endian word, lead bytes EE/EF raised
 * to FE/FF: unsigned order on (word 0, word 1) is less()'s order on the first 16 bytes (EE/EF
 * occur in UTF-8 only as lead bytes, and no valid byte is above F4). */
static u64 keyWord(const u8 *s, u32 len, u32 from) {
  if (from + 8 <= len) {
    /* Eight bytes of ASCII (no byte to raise): the word as it is, big-endian. */
    u64 v;
    __builtin_memcpy(&v, s + from, 8);
    if ((v & 0x8080808080808080ull) == 0) return __builtin_bswap64(v);
  }
  u64 k = 0;
  for (u32 i = from; i < from + 8; i++) {
    u32 b = i < len ? s[i] : 0;
    if (b == 0xee || b == 0xef) b += 0x10;
    k = (k << 8) | b;
  }
  return k;
}

static inline int same(const u8 *a, const u8 *b, u32 len) {
  u32 i = 0;
  for (; i + 4 <= len; i += 4) {
    u32 x, y;
    __builtin_memcpy(&x, a + i, 4);
    __builtin_memcpy(&y, b + i, 4);
    if (x != y) return 0;
  }
  for (; i < len; i++)
    if (a[i] != b[i]) return 0;
  return 1;
}

static void growTable(Part *p) {
  u32 n = (p->mask + 1) * 2, m = n - 1;
  u32 *slots = zalloc(16 * (u64)n), *old = p->slots;
  for (u32 k = 0; k <= p->mask; k++) {
    if (old[4 * k + 1] == 0) continue;
    u32 i = old[4 * k] & m;
    while (slots[4 * i + 1] != 0) i = (i + 1) & m;
    __builtin_memcpy(slots + 4 * i, old + 4 * k, 16);
  }
  p->slots = slots;
  p->mask = m;
}

static u32 insert(Part *p, u32 q, u32 slot, u32 h, const u8 *src, u32 len, u32 fullHash) {
  if (p->used + len + 4 > p->cap) {
    u32 c = p->cap * 2 + len + 4;
    p->pool = regrow(p->pool, p->used, c);
    p->cap = c;
  }
  copyWords(p->pool + p->used, src, len);
  if (nIds == idCap) growIds(nIds + 1);
  u32 id = nIds++;
  idPart_[id] = q;
  idOff_[id] = p->used;
  idLen_[id] = len;
  idHash_[id] = fullHash;
  idKey_[2 * id] = keyWord(src, len, 0);
  idKey_[2 * id + 1] = keyWord(src, len, 8);
  parent[id] = (i32)id;
  size_[id] = 1;
  u32 *e = p->slots + 4 * slot;
  e[0] = h;
  e[1] = id + 1;
  e[2] = p->used;
  e[3] = len;
  p->used += len;
  if (4 * ++p->count > 3 * (p->mask + 1)) growTable(p);
  return id;
}

#define SKIP 0xffffffffu

/* Interns every staged id whose length is not SKIP; sOut[seq] = its int. */
static void flush(void) {
  u32 n = nStaged;
  __builtin_memset(cnt, 0, sizeof cnt);
  /* Records [masked hash, length, seq, full hash, bytes… (whole words)], counted then scattered:
   * each partition's records end up contiguous, with their bytes, so interning reads them in order. */
  for (u32 s = 0; s < n; s++)
    if (sL[s] != SKIP) cnt[((sH[s] & mask_) >> (32 - PB)) + 1] += 4 + ((sL[s] + 3) >> 2);
  for (u32 q = 0; q < NP; q++) cnt[q + 1] += cnt[q];
  if (cnt[NP] > recCap) {
    recCap = cnt[NP] + cnt[NP] / 8;
    rec = alloc(4 * (u64)recCap);
  }
  for (u32 s = 0; s < n; s++) {
    if (sL[s] == SKIP) continue;
    u32 h = sH[s] & mask_, len = sL[s], nw = (len + 3) >> 2, q = h >> (32 - PB);
    u32 *r = rec + cnt[q];
    cnt[q] += 4 + nw;
    r[0] = h;
    r[1] = len;
    r[2] = s;
    r[3] = sH[s];
    copyWords((u8 *)(r + 4), (const u8 *)(size_t)sP[s], len);
  }
  /* cnt[q] is now the end of partition q. */
  for (u32 q = 0, k = 0; q < NP; q++) {
    Part *p = &parts[q];
    for (u32 end = cnt[q]; k < end;) {
      u32 *r = rec + k;
      u32 h = r[0], len = r[1], nw = (len + 3) >> 2;
      const u8 *src = (const u8 *)(r + 4);
      k += 4 + nw;
      u32 *slots = p->slots, m = p->mask, i = h & m, id;
      for (;;) {
        u32 *e = slots + 4 * i, v = e[1];
        if (v == 0) {
          id = insert(p, q, i, h, src, len, r[3]);
          break;
        }
        if (e[0] == h && e[3] == len && same(p->pool + e[2], src, len)) {
          id = v - 1;
          break;
        }
        i = (i + 1) & m;
      }
      sOut[r[2]] = id;
    }
  }
}

static inline i32 find(i32 x) {
  while (parent[x] != x) {
    parent[x] = parent[parent[x]];
    x = parent[x];
  }
  return x;
}

static void roomToPair(u32 n) {
  if (nPairs + n <= pairCap) return;
  u32 c = pairCap < 4096 ? 4096 : pairCap;
  while (c < nPairs + n) c *= 2;
  pairs = regrow(pairs, 8 * (u64)nPairs, 8 * (u64)c);
  pairCap = c;
}

EXPORT("staged") u32 staged(void) { return nStaged; }

EXPORT("pairHalves") u32 pairHalves(u32 first, u32 rows) {
  if (settled) __builtin_trap(); /* the staging arrays are alloc()'s free blocks after finish() */
  u32 invalid = 0;
  roomToPair(rows);
  for (u32 k = 0; k < rows; k++) {
    u32 a = first + k, b = first + rows + k;
    if (sL[a] == 0 || sL[b] == 0) {
      sL[a] = sL[b] = SKIP;
      invalid++;
      continue;
    }
    pairs[2 * nPairs] = a;
    pairs[2 * nPairs + 1] = b;
    nPairs++;
  }
  return invalid;
}

EXPORT("recordEdges") void recordEdges(u32 on) { recording = on; }
EXPORT("edgeList") u32 *edgeList(void) { return edges_; }
EXPORT("edgeCount") u32 edgeCount(void) { return nEdges; }

/* Stages the edges of a packed edge chunk (operators/equiv-components/edge-chunks.ts: per edge two
 * [u32 little-endian length][bytes] records) at data (len bytes, kept until flushPairs()), each
 * edge's two ids paired. Returns the edge count, or -1 (nothing staged) when the chunk is
 * truncated. Unlike pairHalves, an empty id is an id (as in the JS kernel's add()). */
EXPORT("stageChunk") i32 stageChunk(u32 data, u32 len) {
  if (settled) __builtin_trap();
  const u8 *b = (const u8 *)(size_t)data;
  u32 n = 0;
  for (u32 p = 0; p < len; n++) {
    u32 al, bl;
    if (len - p < 4) return -1;
    __builtin_memcpy(&al, b + p, 4);
    if (len - p - 4 < al || len - p - 4 - al < 4) return -1;
    p += 4 + al;
    __builtin_memcpy(&bl, b + p, 4);
    if (len - p - 4 < bl) return -1;
    p += 4 + bl;
  }
  roomToStage(2 * n);
  roomToPair(n);
  u32 s = nStaged;
  for (u32 p = 0, k = 0; k < n; k++) {
    for (u32 h = 0; h < 2; h++, s++) {
      u32 l;
      __builtin_memcpy(&l, b + p, 4);
      const u8 *v = b + p + 4;
      sH[s] = hashBytes(v, l);
      sP[s] = data + p + 4;
      sL[s] = l;
      p += 4 + l;
    }
    pairs[2 * nPairs] = s - 2;
    pairs[2 * nPairs + 1] = s - 1;
    nPairs++;
  }
  nStaged = s;
  return (i32)n;
}

/* flushPairs(), also finish()'s last flush (which runs before `settled` is set). */
static void flushStaged(void) {
  flush();
  if (recording && nEdges + nPairs > edgeCap) {
    u32 c = edgeCap < 4096 ? 4096 : edgeCap;
    while (c < nEdges + nPairs) c *= 2;
    edges_ = regrow(edges_, 8 * (u64)nEdges, 8 * (u64)c);
    edgeCap = c;
  }
  for (u32 k = 0; k < nPairs; k++) {
    if (recording) {
      edges_[2 * nEdges] = sOut[pairs[2 * k]];
      edges_[2 * nEdges + 1] = sOut[pairs[2 * k + 1]];
      nEdges++;
    }
    i32 x = find((i32)sOut[pairs[2 * k]]), y = find((i32)sOut[pairs[2 * k + 1]]);
    if (x == y) continue;
    if (size_[x] < size_[y]) {
      i32 t = x;
      x = y;
      y = t;
    }
    parent[y] = x;
    size_[x] += size_[y];
  }
  nStaged = nPairs = scratchAt = scratchUsed = 0;
}

EXPORT("flushPairs") void flushPairs(void) {
  if (settled) __builtin_trap(); /* finish() handed the staging and pair arrays to alloc() */
  flushStaged();
}

static void freeBlock(void *at, u64 n) {
  if (at == 0 || n == 0 || nFree == MAX_FREE) return;
  freeAt[nFree] = at;
  freeLeft[nFree++] = n;
}

/* flushPairs(), then nothing more is staged: the interning's transient memory becomes free blocks
 * for alloc() (see freeAt). The regions keep 16 bytes of slack (copyWords' overread) out. */
EXPORT("finish") void finish(void) {
  if (settled) return;
  flushStaged();
  settled = 1;
  for (u32 r = 0; r < nRegions; r++) freeBlock(region[r], regionCap[r]);
  freeBlock(rec, 4 * (u64)recCap);
  freeBlock(sH, 4 * (u64)stageCap);
  freeBlock(sP, 4 * (u64)stageCap);
  freeBlock(sL, 4 * (u64)stageCap);
  freeBlock(sOut, 4 * (u64)stageCap);
  freeBlock(pairs, 8 * (u64)pairCap);
  nRegions = recCap = stageCap = pairCap = 0;
}

EXPORT("less") i32 less(u32 i, u32 j) {
  const u8 *a = parts[idPart_[i]].pool + idOff_[i], *b = parts[idPart_[j]].pool + idOff_[j];
  u32 al = idLen_[i], bl = idLen_[j], n = al < bl ? al : bl, k = 0;
  while (k < n && a[k] == b[k]) k++;
  if (k == n) return al < bl;
  u8 x = a[k], y = b[k];
  /* Equal prefixes: k starts a character in both. A supplementary character (lead F0-F4, a
   * surrogate pair in UTF-16) sorts before U+E000-U+FFFF (lead EE, EF) in UTF-16 order. */
  if (x >= 0xf0 && (y == 0xee || y == 0xef)) return 1;
  if (y >= 0xf0 && (x == 0xee || x == 0xef)) return 0;
  return x < y;
}

/* less(i, j) by the ids' keys first (idKey_), their bytes only when the keys are equal. */
static inline int keyLess(u32 i, u32 j) {
  u64 a = idKey_[2 * i], b = idKey_[2 * j];
  if (a != b) return a < b;
  a = idKey_[2 * i + 1];
  b = idKey_[2 * j + 1];
  if (a != b) return a < b;
  return less(i, j);
}

static i32 *labels_;

EXPORT("labels") i32 *labels(void) {
  i32 *minOf = alloc(4 * (u64)nIds), *out = alloc(4 * (u64)nIds);
  for (u32 i = 0; i < nIds; i++) minOf[i] = -1;
  for (u32 i = 0; i < nIds; i++) {
    i32 r = find((i32)i), c = minOf[r];
    out[i] = r;
    if (c == -1 || keyLess(i, (u32)c)) minOf[r] = (i32)i;
  }
  for (u32 i = 0; i < nIds; i++) out[i] = minOf[out[i]];
  labels_ = out;
  return out;
}

EXPORT("count") u32 count(void) { return nIds; }
EXPORT("componentSize") i32 componentSize(u32 i) { return size_[find((i32)i)]; }
EXPORT("idHash") u32 *idHash(void) { return idHash_; }
EXPORT("idLen") u32 *idLen(void) { return idLen_; }
EXPORT("idOff") u32 *idOff(void) { return idOff_; }
EXPORT("idPart") u32 *idPart(void) { return idPart_; }
EXPORT("poolOf") u8 *poolOf(u32 q) { return parts[q].pool; }

/* ---- Star edges (equiv-components' emitStars, in the kernel) ----------------------------------
 * After labels(): per id x with m = its label, the star edge (x, m) (x != m; the self-loop (x, x)
 * only for a singleton) appended as a packed edge-chunk record ([u32 LE length][bytes] twice) to
 * the chunk of bucket(x) = idHash[x] % buckets and, when different, of bucket(m). With received
 * (propagate; needs recordEdges(1)): an edge (x, m) that was not among the recorded edges counts
 * as changed; one that was, of an x whose bucket is not `self`, is skipped (its owner emits it).
 * Exactly the JS emitStars (equiv-components.ts), byte for byte, per bucket:
 *   starsBegin(buckets, self, chunkBytes, received)
 *   while ((n = starsRun()) > 0) for k < n: b = starsFull()[k]: write chunkAt(b), chunkLen(b) bytes; chunkReset(b)
 *   then every b with chunkLen(b) > 0 likewise; starsChanged(), starsSkipped()
 * A chunk is full once it holds chunkBytes or more; starsRun returns after the id that filled one
 * (at most two per id). Per-bucket buffers start at the bucket's expected share and grow by
 * doubling up to chunkBytes + 1 KiB (more only for an edge longer than that), so memory follows
 * what is emitted, not the bucket count. */
static u32 nB, chunkBytes_, cursor_, recvMode, starsChanged_, starsSkipped_, nFull;
static i32 self_;
static u8 **bPtr;
static u32 *bUsed, *bCap, *csize_, firstCap_;
static u8 *recv_;
static u32 fullList[2];
/* Stars are emitted for ids [0, starsEnd_) only (starsUpTo: the ids of the bucket's own edges,
 * interned before any broadcast edge); dirty_[m] = 1 when a changed star (x, m) was emitted. */
static u32 starsEnd_;
static u8 *dirty_;
static u32 *dirtyPairs_;

EXPORT("starsBegin") void starsBegin(u32 buckets, i32 self, u32 chunkBytes, u32 received) {
  if (labels_ == 0) __builtin_trap();
  nB = buckets;
  self_ = self;
  chunkBytes_ = chunkBytes;
  recvMode = received;
  cursor_ = starsChanged_ = starsSkipped_ = nFull = 0;
  bPtr = zalloc(sizeof(u8 *) * (u64)buckets);
  bUsed = zalloc(4 * (u64)buckets);
  bCap = zalloc(4 * (u64)buckets);
  csize_ = zalloc(4 * (u64)nIds);
  u64 bytes = 0;
  for (u32 i = 0; i < nIds; i++) {
    csize_[labels_[i]]++;
    bytes += 8 + 2 * (u64)idLen_[i];
  }
  /* A bucket's buffer starts at its expected share of the stars (at most two buckets per star,
   * each of ~8 + 2 * the mean id length bytes), capped at a chunk: doubling from 1 KiB left every
   * smaller buffer behind (a full chunk's worth again per bucket: 6 MiB of 8 buckets' 2). */
  u64 est = 2 * bytes / buckets;
  est += est / 8;
  firstCap_ = est < 1024 ? 1024 : est > (u64)chunkBytes + 1024 ? chunkBytes + 1024 : (u32)est;
  recv_ = 0;
  starsEnd_ = nIds;
  dirty_ = zalloc(nIds);
  if (received) {
    recv_ = zalloc(nIds);
    for (u32 k = 0; k < nEdges; k++) {
      u32 a = edges_[2 * k];
      if ((u32)labels_[a] == edges_[2 * k + 1]) recv_[a] = 1;
    }
  }
}

static void pushStar(u32 b, u32 x, u32 y) {
  u32 lx = idLen_[x], ly = idLen_[y], at = bUsed[b], need = at + 8 + lx + ly;
  if (need > bCap[b]) {
    u32 c = bCap[b] == 0 ? firstCap_ : 2 * bCap[b];
    if (c > chunkBytes_ + 1024) c = chunkBytes_ + 1024;
    if (c < need) c = need;
    bPtr[b] = regrow(bPtr[b], at, (u64)c + 4); /* copyWords may write 3 bytes past the end */
    bCap[b] = c;
  }
  u8 *o = bPtr[b] + at;
  __builtin_memcpy(o, &lx, 4);
  copyWords(o + 4, parts[idPart_[x]].pool + idOff_[x], lx);
  o += 4 + lx;
  __builtin_memcpy(o, &ly, 4);
  copyWords(o + 4, parts[idPart_[y]].pool + idOff_[y], ly);
  bUsed[b] = need;
  if (need >= chunkBytes_) fullList[nFull++] = b;
}

EXPORT("starsRun") u32 starsRun(void) {
  nFull = 0;
  while (cursor_ < starsEnd_) {
    u32 x = cursor_++, m = (u32)labels_[x];
    if (x == m && csize_[x] != 1) continue;
    u32 bx = idHash_[x] % nB;
    if (recvMode) {
      if (!recv_[x]) {
        starsChanged_++;
        dirty_[m] = 1;
      } else if ((i32)bx != self_) {
        starsSkipped_++;
        continue;
      }
    }
    u32 bm = idHash_[m] % nB;
    pushStar(bx, x, m);
    if (bm != bx) pushStar(bm, x, m);
    if (nFull > 0) return nFull;
  }
  return 0;
}

EXPORT("starsFull") u32 *starsFull(void) { return fullList; }

/* After starsBegin: stars only for ids below n (the ids of the bucket's own edges). */
EXPORT("starsUpTo") void starsUpTo(u32 n) {
  if (n < starsEnd_) starsEnd_ = n;
}

/* After the stars are run: up to max pairs (x, m) at dirtyList(), x < starsUpTo's bound, x != m,
 * of every component whose minimum m got a changed star; returns how many. */
EXPORT("dirtyStars") u32 dirtyStars(u32 max) {
  dirtyPairs_ = alloc(8 * (u64)max + 8);
  u32 n = 0;
  for (u32 x = 0; x < starsEnd_ && n < max; x++) {
    u32 m = (u32)labels_[x];
    if (x == m || !dirty_[m]) continue;
    dirtyPairs_[2 * n] = x;
    dirtyPairs_[2 * n + 1] = m;
    n++;
  }
  return n;
}
EXPORT("dirtyList") u32 *dirtyList(void) { return dirtyPairs_; }
EXPORT("chunkAt") u8 *chunkAt(u32 b) { return bPtr[b]; }
EXPORT("chunkLen") u32 chunkLen(u32 b) { return bUsed[b]; }
EXPORT("chunkReset") void chunkReset(u32 b) { bUsed[b] = 0; }
EXPORT("starsChanged") u32 starsChanged(void) { return starsChanged_; }
EXPORT("starsSkipped") u32 starsSkipped(void) { return starsSkipped_; }

/* ---- emit's owned ids (equiv-components' emitOwned, in the kernel) ----------------------------
 * ownedBest(buckets, self) -> n: best[x] = the smallest id (JS string order) of x's closed
 * neighbourhood over the recorded edges, for every x with idHash[x] % buckets == self; the n owned
 * ids sorted by their names (JS string order) at ownedList(), their best at bestOf().
 * Comparisons go through keyLess() (each id's 16-byte key, set when it was interned; less() only
 * when two keys are equal).
 * ownedColumns() then lays out emit's two output columns (storage/types.ts ColumnValues): the
 * bytes of every id that is owned or some owned id's best, once each — the owned ids first, in
 * sorted order (so the id column's ranges are contiguous), then the other bests —, and per owned
 * id (in sorted order) the (start, length, id) of the id and of its best: cols()[0] = data,
 * [1] = data bytes, [2..4] = id starts, lengths, ids, [5..7] = the best's. */
static i32 *best_;
static u32 *owned_;

/* An id with a 16-byte window of its bytes as key (keyWord at `from`, 2 words) and its length,
 * sorted as one record: comparisons read the records in order instead of two ids' keys or bytes at
 * random (a sort of ~230k owned ids by keyLess spent ~0.5 s in those cache misses). */
typedef struct {
  u64 k0, k1;
  u32 id, len;
} KeyRec;

/* Bottom-up merge sort of n records at r (tmp: room for n more) by (k0, k1, len), or by
 * (k0, k1, less()) when `full`: insertion-sorted runs of 16, then merges; the result is left at r. */
static void sortRecs(KeyRec *r, KeyRec *tmp, u32 n, int full) {
#define REC_LESS(x, y) \
  ((x).k0 != (y).k0 ? (x).k0 < (y).k0 : (x).k1 != (y).k1 ? (x).k1 < (y).k1 : full ? less((x).id, (y).id) : (x).len < (y).len)
  for (u32 s = 0; s < n; s += 16) {
    u32 e = s + 16 < n ? s + 16 : n;
    for (u32 i = s + 1; i < e; i++) {
      KeyRec v = r[i];
      u32 j = i;
      while (j > s && REC_LESS(v, r[j - 1])) {
        r[j] = r[j - 1];
        j--;
      }
      r[j] = v;
    }
  }
  KeyRec *src = r, *dst = tmp;
  for (u32 w = 16; w < n; w *= 2) {
    for (u32 s = 0; s < n; s += 2 * w) {
      u32 m = s + w < n ? s + w : n, e = s + 2 * w < n ? s + 2 * w : n, i = s, j = m, k = s;
      while (i < m && j < e) dst[k++] = REC_LESS(src[j], src[i]) ? src[j++] : src[i++];
      while (i < m) dst[k++] = src[i++];
      while (j < e) dst[k++] = src[j++];
    }
    KeyRec *t = src;
    src = dst;
    dst = t;
  }
  if (src != r) __builtin_memcpy(r, src, sizeof(KeyRec) * (size_t)n);
#undef REC_LESS
}

/* Windows compared by key before a run of still-equal ids is sorted by less() itself. */
#define MAX_WINDOWS 8

/* Sorts n records whose bytes before window `w` (16 * w) are equal, keyed by window w, into
 * less()'s order: by key, then each run of equal keys by the next window (a radix sort by
 * 16-byte digits). Equal keys up to the ids' ends mean equal bytes but for trailing NULs: the
 * shorter id first, as less() says. Order on a window's keys is less()'s order at the first byte
 * that differs there (the EE/EF raise concerns lead bytes only, and every earlier byte is equal). */
static void sortWindow(KeyRec *r, KeyRec *tmp, u32 n, u32 w) {
  sortRecs(r, tmp, n, w >= MAX_WINDOWS);
  if (w >= MAX_WINDOWS) return;
  u32 end = 16 * (w + 1);
  for (u32 s = 0; s < n;) {
    u32 e = s + 1, deeper = r[s].len > end;
    while (e < n && r[e].k0 == r[s].k0 && r[e].k1 == r[s].k1) deeper |= r[e++].len > end;
    if (e - s > 1 && deeper) {
      for (u32 k = s; k < e; k++) {
        const u8 *b = parts[idPart_[r[k].id]].pool + idOff_[r[k].id];
        r[k].k0 = keyWord(b, r[k].len, end);
        r[k].k1 = keyWord(b, r[k].len, end + 8);
      }
      sortWindow(r + s, tmp, e - s, w + 1);
    }
    s = e;
  }
}

/* Sorts the n ids at a into less()'s order (sortWindow, from the ids' keys idKey_). */
static void sortIds(u32 *a, u32 n) {
  KeyRec *r = alloc(sizeof(KeyRec) * (u64)n), *tmp = alloc(sizeof(KeyRec) * (u64)n);
  for (u32 k = 0; k < n; k++) {
    r[k].k0 = idKey_[2 * a[k]];
    r[k].k1 = idKey_[2 * a[k] + 1];
    r[k].id = a[k];
    r[k].len = idLen_[a[k]];
  }
  sortWindow(r, tmp, n, 0);
  for (u32 k = 0; k < n; k++) a[k] = r[k].id;
}

static u32 nOwned;

EXPORT("ownedBest") u32 ownedBest(u32 buckets, u32 self) {
  best_ = alloc(4 * (u64)nIds);
  u32 n = 0;
  for (u32 i = 0; i < nIds; i++) {
    best_[i] = idHash_[i] % buckets == self ? (i32)i : -1;
    if (best_[i] != -1) n++;
  }
  for (u32 k = 0; k < nEdges; k++) {
    u32 a = edges_[2 * k], b = edges_[2 * k + 1];
    i32 ca = best_[a];
    if (ca != -1 && keyLess(b, (u32)ca)) best_[a] = (i32)b;
    i32 cb = best_[b];
    if (cb != -1 && keyLess(a, (u32)cb)) best_[b] = (i32)a;
  }
  owned_ = alloc(4 * (u64)n);
  for (u32 i = 0, k = 0; i < nIds; i++)
    if (best_[i] != -1) owned_[k++] = i;
  sortIds(owned_, n);
  nOwned = n;
  return n;
}

EXPORT("ownedList") u32 *ownedList(void) { return owned_; }
EXPORT("bestOf") i32 *bestOf(void) { return best_; }

static u32 cols_[8];

/* A reused instance must not read a previous use's arrays: reset() forgets them, and a call that
 * needs ownedBest()'s or labels()' results first traps without them. */
static void forgetEmit(void) {
  labels_ = 0;
  best_ = 0;
  owned_ = 0;
  nOwned = 0;
}

#define TO_PLACE (-2)

/* Copies id i's bytes to data + used and records where (at[i]); returns the new end. */
static inline u32 place(i32 *at, u8 *data, u32 i, u32 used) {
  at[i] = (i32)used;
  copyWords(data + used, parts[idPart_[i]].pool + idOff_[i], idLen_[i]);
  return used + idLen_[i];
}

/* The owned ids' bytes in their sorted (row) order from data + 0, so any range of rows is a
 * contiguous range of data of exactly its bytes: the flat writer's PLAIN page kernel takes only
 * ranges of at most 8 MiB (storage/parquet/page-kernel.ts plainStringsWasm), and in id order a
 * page of a 10M bucket spread over the whole buffer. at[] = TO_PLACE marks an id still to place. */
static u32 placeOwned(i32 *at, u8 *data, u32 n) {
  u32 used = 0;
  for (u32 k = 0; k < n; k++) used = place(at, data, owned_[k], used);
  return used;
}

/* Then each best that is not itself owned, once, in the order of first use. */
static void placeBests(i32 *at, u8 *data, u32 n, u32 used) {
  for (u32 k = 0; k < n; k++) {
    u32 y = (u32)best_[owned_[k]];
    if (at[y] == TO_PLACE) used = place(at, data, y, used);
  }
}

EXPORT("ownedColumns") u32 *ownedColumns(void) {
  if (owned_ == 0 || best_ == 0) __builtin_trap();
  u32 n = nOwned, size = 0;
  i32 *at = alloc(4 * (u64)nIds);
  for (u32 i = 0; i < nIds; i++) at[i] = -1;
  for (u32 k = 0; k < n; k++) at[owned_[k]] = at[best_[owned_[k]]] = TO_PLACE;
  for (u32 i = 0; i < nIds; i++)
    if (at[i] == TO_PLACE) size += idLen_[i];
  u8 *data = alloc((u64)size + 4);
  u32 used = placeOwned(at, data, n);
  placeBests(at, data, n, used);
  u32 *c = alloc(4 * 6 * (u64)n);
  for (u32 k = 0; k < n; k++) {
    u32 x = owned_[k], y = (u32)best_[x];
    c[k] = (u32)at[x];
    c[n + k] = idLen_[x];
    c[2 * n + k] = x;
    c[3 * n + k] = (u32)at[y];
    c[4 * n + k] = idLen_[y];
    c[5 * n + k] = y;
  }
  cols_[0] = (u32)(size_t)data;
  cols_[1] = size;
  for (u32 j = 0; j < 6; j++) cols_[2 + j] = (u32)(size_t)(c + j * n);
  return cols_;
}
