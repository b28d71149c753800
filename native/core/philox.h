// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11), the
// counter-based generator PyTorch and JAX use: element i of a draw depends only on (seed, counter),
// so the CPU and CUDA kernels produce the same stream and a parallel split changes nothing.
#pragma once
#include <cmath>
#include <cstdint>

#if defined(__CUDACC__)
#define MG_HD __host__ __device__ __forceinline__
#else
#define MG_HD inline
#endif

namespace mg {

struct Philox4 {
  uint32_t v[4];
};

MG_HD uint32_t mulhilo32(uint32_t a, uint32_t b, uint32_t* hi) {
  uint64_t p = uint64_t(a) * uint64_t(b);
  *hi = uint32_t(p >> 32);
  return uint32_t(p);
}

/** Four 32-bit random words for 128-bit counter `ctr` under 64-bit key `key`. */
MG_HD Philox4 philox4x32_10(uint64_t ctr_lo, uint64_t ctr_hi, uint64_t key) {
  uint32_t c0 = uint32_t(ctr_lo), c1 = uint32_t(ctr_lo >> 32), c2 = uint32_t(ctr_hi), c3 = uint32_t(ctr_hi >> 32);
  uint32_t k0 = uint32_t(key), k1 = uint32_t(key >> 32);
  for (int r = 0; r < 10; ++r) {
    uint32_t hi0, hi1;
    uint32_t lo0 = mulhilo32(0xD2511F53u, c0, &hi0);
    uint32_t lo1 = mulhilo32(0xCD9E8D57u, c2, &hi1);
    uint32_t n0 = hi1 ^ c1 ^ k0, n1 = lo1, n2 = hi0 ^ c3 ^ k1, n3 = lo0;
    c0 = n0; c1 = n1; c2 = n2; c3 = n3;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return Philox4{{c0, c1, c2, c3}};
}

/** A uniform float in [0, 1) from 24 random bits (exactly representable). */
MG_HD float u32_to_unit_f32(uint32_t x) { return float(x >> 8) * (1.0f / 16777216.0f); }
/** A uniform double in [0, 1) from 53 random bits. */
MG_HD double u64_to_unit_f64(uint32_t a, uint32_t b) {
  uint64_t x = (uint64_t(a) << 21) ^ uint64_t(b >> 11);
  return double(x & ((uint64_t(1) << 53) - 1)) * (1.0 / 9007199254740992.0);
}

/** Generator state shared by every device: a key and the next unused counter. */
struct RngState {
  uint64_t seed = 0x853c49e6748fea9bULL;
  uint64_t offset = 0;
  /** Reserves `n` counters and returns the first. */
  uint64_t reserve(uint64_t n) {
    uint64_t o = offset;
    offset += n;
    return o;
  }
};
RngState& rng_state();

}  // namespace mg
