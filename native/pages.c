/*
 * The page kernel, WebAssembly (built by scripts/build-wasm.mjs into
 * storage/parquet/wasm/pages-wasm.ts, driven by storage/parquet/page-kernel.ts):
 *  - Snappy block decompression (the raw format Parquet's SNAPPY codec stores pages in). The same
 *    output and refusals as hyparquet's snappyUncompress (the tests' oracle) and the JS decoder it replaced, ~2.3× faster than the
 *    latter: 8-byte loads and stores with no bounds checks, where JS pays a checked DataView
 *    access per 4 bytes.
 *  - A split-block Bloom probe of every value of a PLAIN BYTE_ARRAY page (partial-recompute's
 *    Bloom join of the master's persons): MurmurHash3 x86_32 and the block test exactly as
 *    operators/partial-recompute/split-bloom.ts probeRanges, on the page where decompress left it, so the
 *    values never become JS arrays; only the hits' positions go back.
 *  - The same probe behind a cheap prefilter, then an exact lookup in a key set (the fused Bloom
 *    join's new persons): members come back as (row, key id).
 *  - PLAIN INT32/INT64 values gathered at given rows, as doubles (a late scan's hit rows).
 *  - Snappy block compression (the flat Parquet writer's pages): the reference C++ implementation's
 *    greedy hash-table matcher on independent 64 KiB fragments (so every offset fits 16 bits and
 *    a table of u16 positions, at most 2^14 slots); matches extended 8 bytes at a time. Its
 *    output is byte-identical to the JS port the flat writer used before (a pinned digest in
 *    test/storage/page-kernel.test.ts).
 *  - The first PLAIN BYTE_ARRAY value of a page that is not UTF-8 (partial-recompute's strict
 *    check of the master's keys where the page lies).
 *  - A PLAIN BYTE_ARRAY page written from byte ranges, with the rows of its least and greatest
 *    value in unsigned byte order (the flat writer's statistics, flat/columns.ts): 8-byte copies
 *    and big-endian 8-byte comparisons, where JS pays a checked load per byte.
 *
 * Exports:
 *   reserve(bytes) -> ptr     a region of `bytes` at the heap base, memory grown to hold it (0 when
 *                             it cannot grow); the caller lays input and output out in it
 *   decompress(in, n, out, olen) -> 0 | error code < 0
 *                             decompress in[0, n) into out[0, olen), olen the exact
 *                             uncompressed size; error codes: the driver's ERRORS table
 *   probePlain(data, size, count, words, blocks, hits, starts, lens) -> hits found | error < 0
 *                             the count PLAIN values (u32 length, bytes) of data[0, size) tested
 *                             against the filter's blocks × 8 u32 words; per hit k: hits[k] the
 *                             value's index, starts[k] / lens[k] its bytes (offsets into data);
 *                             -10 when a value runs past size
 *   probeKeys(data, size, count, words, blocks, set, rows, ids, fp) -> hits found | error < 0
 *                             probePlain's test, then each value that passes looked up exactly in
 *                             a key set. set: six u32 — table, mask, koff, kbytes, pre, pmask: an
 *                             open-addressing table of mask + 1 u32 slots (0 empty, else key index
 *                             + 1; home slot murmur3 & mask, linear probing), key k's bytes
 *                             kbytes[koff[k], koff[k + 1]), and a prefilter: pmask + 1 bits with
 *                             bit quick(key) & pmask set for every key. A value whose quick hash
 *                             misses the prefilter is no key: it skips MurmurHash3 and the filter
 *                             (most values of a selective join; quick reads 16 bytes, two multiplies).
 *                             Per hit: rows[k] the value's index, ids[k] its key index; *fp += the
 *                             values that passed the prefilter and the filter but are not keys
 *   buildKeys(set, n) -> 0    fills the table (mask + 1 > n, a power of two) and the prefilter
 *                             (pmask + 1 a power of two ≥ 32) with keys 0..n-1
 *   gatherInts(data, count, width, at, n, r0, out) -> values gathered | error < 0
 *                             a PLAIN INT32 (width 4) or INT64 (width 8) page of count values
 *                             holding rows [r0, r0 + count): for at[j] (ascending) in that range,
 *                             from j = 0, out[j] = the value as a double; stops at the first row
 *                             past the page; -11 when an INT64 is not a safe integer (|v| ≥ 2^53),
 *                             -12 when rows are not ascending or before r0
 *   compress(in, n, out) -> bytes written
 *                             Snappy of in[0, n) into out (room: 32 + n + n / 6, the reference's
 *                             MaxCompressedLength, plus the 16 bytes of slack)
 *   nonUtf8(data, size, count) -> index | -1
 *                             the index of the first of the count PLAIN values (u32 length, bytes)
 *                             of data[0, size) whose bytes are not well-formed UTF-8 (Unicode's
 *                             table 3-7: no overlong forms, surrogates or code points past
 *                             U+10FFFF — what simdutf and TextDecoder's fatal mode accept), -1 when
 *                             none is; a value running past size ends the walk (-1: the page's
 *                             probe refuses it)
 *   plainStrings(data, bias, starts, lens, count, out, ext) -> bytes written
 *                             value i (i < count) is data[starts[i] - bias, + lens[i]); writes
 *                             each as PLAIN (u32 length, bytes) to out, back to back; ext[0] / ext[1]
 *                             = the first i holding the least / greatest value (unsigned bytes, a
 *                             prefix before its extensions); count >= 1; 8 readable bytes after
 *                             each value's bytes, room for the page plus 8 bytes at out
 *
 * Preconditions: 16 readable bytes after in + n and 16 writable bytes after out + olen (short
 * literals move 16 bytes at once, copies 8 at a time; the extra bytes written past a value are
 * overwritten by the next one or lie in the slack), and out does not overlap in; the same for
 * compress's in and out.
 */
typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;

#define PAGE 65536
extern unsigned char __heap_base;

static inline u32 ld32(const u8 *p) { u32 v; __builtin_memcpy(&v, p, 4); return v; }
static inline u64 ld64(const u8 *p) { u64 v; __builtin_memcpy(&v, p, 8); return v; }
static inline void st64(u8 *p, u64 v) { __builtin_memcpy(p, &v, 8); }

__attribute__((export_name("reserve"))) u32 reserve(u32 bytes) {
  u32 base = ((u32)&__heap_base + 15) & ~15u;
  if (bytes > 0xffffffffu - base - PAGE) return 0;
  u32 need = base + bytes;
  u32 have = (u32)__builtin_wasm_memory_size(0) * PAGE;
  if (need > have && __builtin_wasm_memory_grow(0, (need - have + PAGE - 1) / PAGE) == (__SIZE_TYPE__)-1) return 0;
  return base;
}

__attribute__((export_name("decompress"))) int decompress(const u8 *in, u32 n, u8 *out, u32 olen) {
  u32 pos = 0, op = 0;
  /* Preamble: the uncompressed length as a varint (skipped: the final length check covers it). */
  while (pos < n) {
    if (in[pos++] < 128) break;
  }
  if (olen > 0 && pos >= n) return -1;
  while (pos < n) {
    u32 c = in[pos++];
    if (pos >= n) return -2;
    u32 t = c & 3;
    if (t == 0) {
      u32 len = (c >> 2) + 1;
      if (len > 60) {
        u32 ls = len - 60;
        /* As hyparquet: four bytes must follow whatever the length's width. */
        if (n - pos <= 3) return -3;
        len = in[pos];
        if (ls > 1) len |= (u32)in[pos + 1] << 8;
        if (ls > 2) len |= (u32)in[pos + 2] << 16;
        if (ls > 3) len |= (u32)in[pos + 3] << 24;
        pos += ls;
        /* len + 1 = 2^32 does not fit in u32; it is past any input's end. */
        if (len == 0xffffffffu) return -4;
        len += 1;
      }
      if (len > n - pos) return -4;
      if (len > olen - op) return -5;
      if (len <= 16) {
        st64(out + op, ld64(in + pos));
        st64(out + op + 8, ld64(in + pos + 8));
      } else {
        u32 i = 0;
        for (; i + 8 <= len; i += 8) st64(out + op + i, ld64(in + pos + i));
        for (; i < len; i++) out[op + i] = in[pos + i];
      }
      pos += len;
      op += len;
      continue;
    }
    u32 len, off;
    if (t == 1) {
      len = ((c >> 2) & 7) + 4;
      off = in[pos] | ((c >> 5) << 8);
      pos += 1;
    } else if (t == 2) {
      if (n - pos <= 1) return -6;
      len = (c >> 2) + 1;
      off = in[pos] | ((u32)in[pos + 1] << 8);
      pos += 2;
    } else {
      if (n - pos <= 3) return -6;
      len = (c >> 2) + 1;
      off = ld32(in + pos);
      pos += 4;
    }
    if (off == 0) return -7;
    if (off > op) return -8;
    if (len > olen - op) return -5;
    u8 *d = out + op;
    const u8 *s = d - off;
    /* off >= 8: each 8-byte step reads only bytes already written (s + i + 8 <= d + i). */
    if (off >= 8) {
      for (u32 i = 0; i < len; i += 8) st64(d + i, ld64(s + i));
    } else {
      for (u32 i = 0; i < len; i++) d[i] = s[i];
    }
    op += len;
  }
  return op == olen ? 0 : -9;
}

static const u32 SALT[8] = {0x47b6137bu, 0x44974d91u, 0x8824ad5bu, 0xa2b7289du, 0x705495c7u, 0x2df1424bu, 0x9efc4947u, 0x5c6bfb31u};

static inline u32 rotl(u32 x, u32 r) { return (x << r) | (x >> (32 - r)); }

static inline u32 murmur3(const u8 *p, u32 len) {
  u32 h = 0, i = 0;
  for (; i + 4 <= len; i += 4) {
    u32 k = ld32(p + i) * 0xcc9e2d51u;
    h ^= rotl(k, 15) * 0x1b873593u;
    h = rotl(h, 13) * 5 + 0xe6546b64u;
  }
  u32 tail = len & 3;
  if (tail > 0) {
    u32 k = p[i];
    if (tail > 1) k ^= (u32)p[i + 1] << 8;
    if (tail > 2) k ^= (u32)p[i + 2] << 16;
    h ^= rotl(k * 0xcc9e2d51u, 15) * 0x1b873593u;
  }
  h ^= len;
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  return h ^ (h >> 16);
}

/* The split-block test of hash h; the block is floor(h / 2^32 · blocks), as split-bloom.ts
 * computes it in doubles (exact). */
static inline u32 bloomPasses(u32 h, const u32 *words, u32 blocks) {
  const u32 *w = words + (u32)(((u64)h * blocks) >> 32) * 8;
  u32 x = h ^ 0x9e3779b9u;
  x = (x ^ (x >> 15)) * 0x2c1b3c6du;
  x = (x ^ (x >> 12)) * 0x297a2d39u;
  x ^= x >> 15;
  u32 ok = 1;
  for (u32 i = 0; i < 8; i++) ok &= w[i] >> ((x * SALT[i]) >> 27);
  return ok & 1;
}

__attribute__((export_name("probePlain"))) int probePlain(const u8 *data, u32 size, u32 count, const u32 *words, u32 blocks, u32 *hits, u32 *starts, u32 *lens) {
  u32 pos = 0, nh = 0;
  for (u32 v = 0; v < count; v++) {
    if (size - pos < 4) return -10;
    u32 len = ld32(data + pos);
    pos += 4;
    if (len > size - pos) return -10;
    if (bloomPasses(murmur3(data + pos, len), words, blocks)) {
      hits[nh] = v;
      starts[nh] = pos;
      lens[nh] = len;
      nh++;
    }
    pos += len;
  }
  return (int)nh;
}

/*
 * The prefilter's hash: the first and the last 8 bytes of the value (zero-padded when shorter)
 * and its length, each multiplied, xor-folded, multiplied again (the top bits of a product depend
 * on all bits of its operands). Reads 8 bytes at p whatever len (the caller's
 * slack: 16 readable bytes past any value). Only needs to spread the keys (a miss is checked by
 * nothing else, a pass by everything): not a quality hash.
 */
static inline u32 quick(const u8 *p, u32 len) {
  u64 a = ld64(p);
  if (len < 8) a &= len == 0 ? 0 : (~0ULL >> (64 - 8 * len));
  u64 b = len > 8 ? ld64(p + len - 8) : 0;
  u64 x = a * 0x9E3779B97F4A7C15ULL ^ b * 0xC2B2AE3D27D4EB4FULL ^ len;
  x ^= x >> 32;
  x *= 0xFF51AFD7ED558CCDULL;
  return (u32)(x >> 32);
}

__attribute__((export_name("buildKeys"))) int buildKeys(const u32 *set, u32 n) {
  u32 *table = (u32 *)set[0], mask = set[1], *pre = (u32 *)set[4], pmask = set[5];
  const u32 *koff = (const u32 *)set[2];
  const u8 *kbytes = (const u8 *)set[3];
  for (u32 i = 0; i <= mask; i++) table[i] = 0;
  for (u32 i = 0; i <= pmask >> 5; i++) pre[i] = 0;
  for (u32 k = 0; k < n; k++) {
    const u8 *p = kbytes + koff[k];
    u32 len = koff[k + 1] - koff[k];
    u32 i = murmur3(p, len) & mask;
    while (table[i] != 0) i = (i + 1) & mask;
    table[i] = k + 1;
    u32 q = quick(p, len) & pmask;
    pre[q >> 5] |= 1u << (q & 31);
  }
  return 0;
}

__attribute__((export_name("probeKeys"))) int probeKeys(const u8 *data, u32 size, u32 count, const u32 *words, u32 blocks, const u32 *set, u32 *rows, u32 *ids, u32 *fp) {
  const u32 *table = (const u32 *)set[0], mask = set[1], *koff = (const u32 *)set[2], *pre = (const u32 *)set[4], pmask = set[5];
  const u8 *kbytes = (const u8 *)set[3];
  u32 pos = 0, nh = 0, misses = 0;
  for (u32 v = 0; v < count; v++) {
    if (size - pos < 4) return -10;
    u32 len = ld32(data + pos);
    pos += 4;
    if (len > size - pos) return -10;
    const u8 *p = data + pos;
    pos += len;
    u32 q = quick(p, len) & pmask;
    if (!((pre[q >> 5] >> (q & 31)) & 1)) continue;
    u32 h = murmur3(p, len);
    if (!bloomPasses(h, words, blocks)) continue;
    u32 found = 0;
    for (u32 i = h & mask;; i = (i + 1) & mask) {
      u32 slot = table[i];
      if (slot == 0) break;
      u32 k = slot - 1, a = koff[k], b = koff[k + 1];
      if (b - a != len) continue;
      u32 j = 0;
      while (j < len && kbytes[a + j] == p[j]) j++;
      if (j == len) {
        rows[nh] = v;
        ids[nh] = k;
        nh++;
        found = 1;
        break;
      }
    }
    misses += 1 - found;
  }
  *fp += misses;
  return (int)nh;
}

__attribute__((export_name("gatherInts"))) int gatherInts(const u8 *data, u32 count, u32 width, const u32 *at, u32 n, u32 r0, double *out) {
  u32 j = 0, prev = r0;
  for (; j < n; j++) {
    u32 r = at[j];
    if (r < prev) return -12;
    prev = r;
    u32 i = r - r0;
    if (i >= count) break;
    if (width == 4) {
      out[j] = (double)(int)ld32(data + i * 4);
    } else {
      long long x = (long long)ld64(data + i * 8);
      if (x > 9007199254740991LL || x < -9007199254740991LL) return -11;
      out[j] = (double)x;
    }
  }
  return (int)j;
}

/* ---- Snappy compression ------------------------------------------------------------------- */

#define FRAGMENT 65536u
#define MAX_TABLE_BITS 14
/* The matcher reads 4 bytes ahead of ip; the last bytes of a fragment are a literal. */
#define INPUT_MARGIN 15u

static u16 table[1 << MAX_TABLE_BITS];

static inline u32 hash4(const u8 *p, u32 shift) { return (ld32(p) * 0x1e35a7bdu) >> shift; }

static u8 *emitLiteral(const u8 *src, u32 len, u8 *op) {
  if (len == 0) return op;
  u32 n = len - 1;
  if (n < 60) {
    *op++ = (u8)(n << 2);
  } else if (n < 0x100) {
    *op++ = 60 << 2;
    *op++ = (u8)n;
  } else if (n < 0x10000) {
    *op++ = 61 << 2;
    *op++ = (u8)n;
    *op++ = (u8)(n >> 8);
  } else if (n < 0x1000000) {
    *op++ = 62 << 2;
    *op++ = (u8)n;
    *op++ = (u8)(n >> 8);
    *op++ = (u8)(n >> 16);
  } else {
    *op++ = 63 << 2;
    *op++ = (u8)n;
    *op++ = (u8)(n >> 8);
    *op++ = (u8)(n >> 16);
    *op++ = (u8)(n >> 24);
  }
  if (len <= 16) {
    st64(op, ld64(src));
    st64(op + 8, ld64(src + 8));
  } else {
    __builtin_memcpy(op, src, len);
  }
  return op + len;
}

/* One copy element of 4..64 bytes: the 2-byte form when it fits, else the 3-byte form. */
static inline u8 *emitCopyShort(u32 offset, u32 len, u8 *op) {
  if (len < 12 && offset < 2048) {
    *op++ = (u8)(1 + ((len - 4) << 2) + ((offset >> 8) << 5));
    *op++ = (u8)offset;
  } else {
    *op++ = (u8)(2 + ((len - 1) << 2));
    *op++ = (u8)offset;
    *op++ = (u8)(offset >> 8);
  }
  return op;
}

static inline u8 *emitCopy(u32 offset, u32 len, u8 *op) {
  while (len >= 68) {
    op = emitCopyShort(offset, 64, op);
    len -= 64;
  }
  if (len > 64) {
    op = emitCopyShort(offset, 60, op);
    len -= 60;
  }
  return emitCopyShort(offset, len, op);
}

/* The length of the match at a (a > b), from byte 4 on (the first 4 are equal), up to end. */
static inline u32 matchLength(const u8 *a, const u8 *b, const u8 *end) {
  u32 m = 4;
  while (a + m + 8 <= end) {
    u64 x = ld64(a + m) ^ ld64(b + m);
    if (x != 0) return m + ((u32)__builtin_ctzll(x) >> 3);
    m += 8;
  }
  while (a + m < end && a[m] == b[m]) m++;
  return m;
}

static u8 *fragment(const u8 *start, u32 len, u8 *op) {
  if (len < INPUT_MARGIN) return emitLiteral(start, len, op);
  const u8 *end = start + len, *ipLimit = end - INPUT_MARGIN;
  u32 bits = 8;
  while ((1u << bits) < len && bits < MAX_TABLE_BITS) bits++;
  u32 shift = 32 - bits;
  __builtin_memset(table, 0, sizeof(u16) << bits);
  const u8 *nextEmit = start, *ip = start + 1, *candidate;
  u32 nextHash = hash4(ip, shift);
  for (;;) {
    /* Find a 4-byte match, skipping faster through incompressible data (the reference's heuristic). */
    u32 skip = 32;
    const u8 *nextIp = ip;
    do {
      ip = nextIp;
      u32 h = nextHash;
      nextIp = ip + (skip++ >> 5);
      if (nextIp > ipLimit) return emitLiteral(nextEmit, (u32)(end - nextEmit), op);
      nextHash = hash4(nextIp, shift);
      candidate = start + table[h];
      table[h] = (u16)(ip - start);
    } while (ld32(ip) != ld32(candidate));
    op = emitLiteral(nextEmit, (u32)(ip - nextEmit), op);
    /* Emit copies while the byte after each match starts another match. */
    do {
      u32 m = matchLength(ip, candidate, end);
      op = emitCopy((u32)(ip - candidate), m, op);
      ip += m;
      nextEmit = ip;
      if (ip >= ipLimit) return emitLiteral(nextEmit, (u32)(end - nextEmit), op);
      table[hash4(ip - 1, shift)] = (u16)(ip - 1 - start);
      u32 h = hash4(ip, shift);
      candidate = start + table[h];
      table[h] = (u16)(ip - start);
    } while (ld32(ip) == ld32(candidate));
    ip++;
    nextHash = hash4(ip, shift);
  }
}

__attribute__((export_name("compress"))) u32 compress(const u8 *in, u32 n, u8 *out) {
  u8 *op = out;
  u32 v = n;
  while (v >= 0x80) {
    *op++ = (u8)(v | 0x80);
    v >>= 7;
  }
  *op++ = (u8)v;
  for (u32 at = 0; at < n; at += FRAGMENT) op = fragment(in + at, n - at < FRAGMENT ? n - at : FRAGMENT, op);
  return (u32)(op - out);
}

/* ---- UTF-8 ---------------------------------------------------------------------------------- */

/* Whether p[0, len) is well-formed UTF-8 (Unicode table 3-7). */
static u32 utf8Valid(const u8 *p, u32 len) {
  u32 i = 0;
  while (i < len) {
    /* ASCII 8 bytes at a time (reads stay inside the value: i + 8 <= len). */
    if (i + 8 <= len && (ld64(p + i) & 0x8080808080808080ULL) == 0) {
      i += 8;
      continue;
    }
    u32 c = p[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    u32 need, lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) {
      need = 1;
    } else if (c >= 0xe0 && c <= 0xef) {
      need = 2;
      if (c == 0xe0) lo = 0xa0;
      else if (c == 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      need = 3;
      if (c == 0xf0) lo = 0x90;
      else if (c == 0xf4) hi = 0x8f;
    } else {
      return 0;
    }
    if (len - i - 1 < need) return 0;
    u32 b = p[i + 1];
    if (b < lo || b > hi) return 0;
    for (u32 j = 2; j <= need; j++) {
      if ((p[i + j] & 0xc0) != 0x80) return 0;
    }
    i += need + 1;
  }
  return 1;
}

/* The first position ≥ i of p[0, n) holding a byte ≥ 0x80, or n; 32 bytes a step. */
static u32 nextNonAscii(const u8 *p, u32 i, u32 n) {
  const u64 HI = 0x8080808080808080ULL;
  for (; i + 32 <= n; i += 32) {
    if (((ld64(p + i) | ld64(p + i + 8) | ld64(p + i + 16) | ld64(p + i + 24)) & HI) != 0) break;
  }
  for (; i + 8 <= n; i += 8) {
    u64 x = ld64(p + i) & HI;
    if (x != 0) return i + ((u32)__builtin_ctzll(x) >> 3);
  }
  for (; i < n; i++) {
    if (p[i] & 0x80) return i;
  }
  return n;
}

__attribute__((export_name("nonUtf8"))) int nonUtf8(const u8 *data, u32 size, u32 count) {
  /* Only values holding a byte >= 0x80 need a look: nx, the next such byte at or after a value's
   * start (length prefixes >= 128 hold one too: found again from the value's start). */
  u32 nx = nextNonAscii(data, 0, size);
  if (nx == size) return -1;
  u32 pos = 0;
  for (u32 v = 0; v < count; v++) {
    if (size - pos < 4) return -1;
    u32 len = ld32(data + pos);
    pos += 4;
    if (len > size - pos) return -1;
    u32 end = pos + len;
    if (nx < pos) nx = nextNonAscii(data, pos, size);
    if (nx < end) {
      /* data[pos, nx) is ASCII: the value is UTF-8 when data[nx, end) is. */
      if (!utf8Valid(data + nx, end - nx)) return (int)v;
      nx = nextNonAscii(data, end, size);
    }
    pos = end;
  }
  return -1;
}

/* ---- PLAIN strings with statistics ------------------------------------------------------------ */

/* Unsigned byte order of a[0, al) and b[0, bl): negative, 0 or positive (8 bytes at a time, big-endian). */
static inline int compareBytes(const u8 *a, u32 al, const u8 *b, u32 bl) {
  u32 n = al < bl ? al : bl, k = 0;
  for (; k + 8 <= n; k += 8) {
    u64 x = ld64(a + k), y = ld64(b + k);
    if (x != y) return __builtin_bswap64(x) < __builtin_bswap64(y) ? -1 : 1;
  }
  for (; k < n; k++) {
    if (a[k] != b[k]) return a[k] < b[k] ? -1 : 1;
  }
  return al < bl ? -1 : al > bl ? 1 : 0;
}

__attribute__((export_name("plainStrings"))) u32 plainStrings(const u8 *data, u32 bias, const u32 *starts, const u32 *lens, u32 count, u8 *out, u32 *ext) {
  u8 *op = out;
  const u8 *loP = data + (starts[0] - bias), *hiP = loP;
  u32 loL = lens[0], hiL = loL, lo = 0, hi = 0;
  for (u32 i = 0; i < count; i++) {
    const u8 *p = data + (starts[i] - bias);
    u32 n = lens[i];
    __builtin_memcpy(op, &n, 4);
    op += 4;
    for (u32 k = 0; k < n; k += 8) st64(op + k, ld64(p + k));
    op += n;
    if (compareBytes(p, n, loP, loL) < 0) {
      loP = p;
      loL = n;
      lo = i;
    } else if (compareBytes(p, n, hiP, hiL) > 0) {
      hiP = p;
      hiL = n;
      hi = i;
    }
  }
  ext[0] = lo;
  ext[1] = hi;
  return (u32)(op - out);
}
