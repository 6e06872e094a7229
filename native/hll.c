/*
 * Dense HyperLogLog merge, as a WebAssembly kernel (built by scripts/build-wasm.mjs, with
 * -msimd128, into serving/wasm/hll-wasm.ts; driven by serving/hll-kernel.ts for
 * serving/query.ts mergeSketches): the register-wise max of dense sketches' registers into scratch
 * registers, and the register-value histogram of the result, in one pass over cache-sized blocks
 * (each block of the scratch maxed with every staged sketch's block, 16 registers per
 * instruction, then counted while it is still in L1). Registers are bytes (ranks < 128 for any
 * valid sketch; the histogram counts all 256 byte values, so the caller can refuse bad ones).
 *
 * Linear memory is fixed (no growth, so the caller's views stay valid); pointers are offsets:
 *   regs() -> ptr           the scratch registers (65,536 bytes: m ≤ 2^16); the caller writes sparse
 *                           entries there itself and zeroes the first m bytes after each merge
 *   stage() -> ptr          room for stageBytes() bytes: sketch k's m registers at stage + k·m
 *   stageBytes() -> n       its size (a multiple of 2^16)
 *   counts() -> ptr         u32[256]: the histogram written by maxHist
 *   maxStaged(n, m)         regs[i] = max(regs[i], stage[k·m + i]) for k < n, i < m
 *   maxHist(n, m)           the same, then counts[v] = #{i < m : regs[i] = v}
 * Preconditions: m a power of two in 16..65536; n·m ≤ stageBytes().
 */
#include <wasm_simd128.h>

typedef unsigned int u32;
typedef unsigned char u8;

#define EXPORT(name) __attribute__((export_name(name)))
#define REGS (1u << 16)
#define STAGE (32u << 16)
#define BLOCK 1024u

static u8 regs_[REGS] __attribute__((aligned(16)));
static u8 stage_[STAGE] __attribute__((aligned(16)));
static u32 counts_[256];
/* Four counter sets: runs of equal registers (mostly equal ranks) do not wait on one counter's last store. */
static u32 sets_[4][256];

EXPORT("regs") u8 *regs(void) { return regs_; }
EXPORT("stage") u8 *stage(void) { return stage_; }
EXPORT("stageBytes") u32 stageBytes(void) { return STAGE; }
EXPORT("counts") u32 *counts(void) { return counts_; }

/* regs[at .. at + len) maxed with the same span of n staged sketches of m registers. */
static void maxSpan(u32 at, u32 len, u32 n, u32 m) {
  for (u32 i = at; i < at + len; i += 64) {
    v128_t a0 = wasm_v128_load(regs_ + i), a1 = wasm_v128_load(regs_ + i + 16);
    v128_t a2 = wasm_v128_load(regs_ + i + 32), a3 = wasm_v128_load(regs_ + i + 48);
    const u8 *s = stage_ + i;
    for (u32 k = 0; k < n; k++, s += m) {
      a0 = wasm_u8x16_max(a0, wasm_v128_load(s));
      a1 = wasm_u8x16_max(a1, wasm_v128_load(s + 16));
      a2 = wasm_u8x16_max(a2, wasm_v128_load(s + 32));
      a3 = wasm_u8x16_max(a3, wasm_v128_load(s + 48));
    }
    wasm_v128_store(regs_ + i, a0);
    wasm_v128_store(regs_ + i + 16, a1);
    wasm_v128_store(regs_ + i + 32, a2);
    wasm_v128_store(regs_ + i + 48, a3);
  }
}

EXPORT("maxStaged") void maxStaged(u32 n, u32 m) {
  if (m < 64) {
    for (u32 i = 0; i < m; i += 16) {
      v128_t a = wasm_v128_load(regs_ + i);
      for (u32 k = 0; k < n; k++) a = wasm_u8x16_max(a, wasm_v128_load(stage_ + k * m + i));
      wasm_v128_store(regs_ + i, a);
    }
    return;
  }
  maxSpan(0, m, n, m);
}

static void countSpan(u32 at, u32 len) {
  for (u32 i = at; i < at + len; i += 4) {
    sets_[0][regs_[i]]++;
    sets_[1][regs_[i + 1]]++;
    sets_[2][regs_[i + 2]]++;
    sets_[3][regs_[i + 3]]++;
  }
}

EXPORT("maxHist") void maxHist(u32 n, u32 m) {
  for (u32 v = 0; v < 256; v++) sets_[0][v] = sets_[1][v] = sets_[2][v] = sets_[3][v] = 0;
  if (m < 64) {
    maxStaged(n, m);
    countSpan(0, m);
  } else {
    u32 block = m < BLOCK ? m : BLOCK;
    for (u32 at = 0; at < m; at += block) {
      maxSpan(at, block, n, m);
      countSpan(at, block);
    }
  }
  for (u32 v = 0; v < 256; v++) counts_[v] = sets_[0][v] + sets_[1][v] + sets_[2][v] + sets_[3][v];
}
