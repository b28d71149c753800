// GEMM driver: argument checks, the trivial cases, and the split of big problems over threads.
// The packed, cache-blocked kernels themselves live in native/cpu/simd/gemm.cc (one copy per ISA).
#include "cpu/gemm.h"

#include <algorithm>
#include <atomic>
#include <new>
#include <string>

#include "core/tensor.h"
#include "cpu/gemm_isa.h"
#include "cpu/parallel.h"

namespace mg::cpu {
namespace {

// Below this many multiply-adds one thread wins: waking the pool costs more than it saves.
constexpr double kParallelMacs = 96.0 * 96 * 96;
// From here a few tasks per thread (dynamic balance) cost less than the packing they repeat.
constexpr double kFineSplitMacs = 384.0 * 384 * 384;

inline void serial(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* A, int64_t lda,
                   const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  MG_ISA_CALL(gemm_serial_f32, ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
}
inline void serial(bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha, const double* A, int64_t lda,
                   const double* B, int64_t ldb, double beta, double* C, int64_t ldc) {
  MG_ISA_CALL(gemm_serial_f64, ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
}

template <class T>
void gemm_drv(bool ta, bool tb, int64_t m, int64_t n, int64_t k, T alpha, const T* A, int64_t lda, const T* B,
              int64_t ldb, T beta, T* C, int64_t ldc) {
  if (m < 0 || n < 0 || k < 0) throw Error("gemm: negative size");
  if (m == 0 || n == 0) return;
  if (ldc < n) throw Error("gemm: ldc is smaller than n");
  if (k == 0 || alpha == T(0)) {  // C = beta * C; beta == 0 never reads C (it may hold NaN)
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) C[i * ldc + j] = beta == T(0) ? T(0) : beta * C[i * ldc + j];
    return;
  }
  if (lda < (ta ? m : k) || ldb < (tb ? k : n)) throw Error("gemm: lda or ldb is smaller than the row length");
  try {
    const int nt = num_threads();
    if (nt == 1 || double(m) * double(n) * double(k) < kParallelMacs) {
      serial(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
      return;
    }
    // Split C into a tm x tn grid of blocks aligned to the register tile; each task packs its
    // own operands (no barrier between packing and compute). Big problems get a few tasks per
    // thread, handed out dynamically, so a thread slowed by other load does not hold up the
    // rest; the grid balances tiles per task against the duplicated packing.
    int mr, nr;
    MG_ISA_CALL(gemm_tile, sizeof(T) == 4 ? 0 : 1, &mr, &nr);
    const int ntasks = double(m) * double(n) * double(k) >= kFineSplitMacs ? 4 * nt : nt;
    int tm = 1;
    double best = 1e300;
    for (int d = 1; d <= ntasks; ++d) {
      if (ntasks % d) continue;
      const int64_t ms = (m + d - 1) / d, ns = (n + ntasks / d - 1) / (ntasks / d);
      const double tiles = double((ms + mr - 1) / mr * mr) * double((ns + nr - 1) / nr * nr);
      const double cost = tiles + 8.0 * double(ms + ns);
      if (cost < best) best = cost, tm = d;
    }
    const int tn = ntasks / tm;
    const int64_t mstep = ((m + tm - 1) / tm + mr - 1) / mr * mr;
    const int64_t nstep = ((n + tn - 1) / tn + nr - 1) / nr * nr;
    std::atomic<int> next{0};
    parallel_for(nt, 1, [&](int64_t b, int64_t e) {
      if (b == 0 && e == nt) {  // ran inline (nested in another parallel_for): one block
        serial(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
      }
      for (int t; (t = next.fetch_add(1, std::memory_order_relaxed)) < ntasks;) {
        const int64_t m0 = (t / tn) * mstep, n0 = (t % tn) * nstep;
        const int64_t mb = std::min(mstep, m - m0), nb = std::min(nstep, n - n0);
        if (mb <= 0 || nb <= 0) continue;
        serial(ta, tb, mb, nb, k, alpha, ta ? A + m0 : A + m0 * lda, lda, tb ? B + n0 * ldb : B + n0, ldb, beta,
               C + m0 * ldc + n0, ldc);
      }
    });
  } catch (const std::bad_alloc&) {
    throw Error("gemm: out of memory for packing buffers");
  }
}

}  // namespace

void gemm_f32(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  gemm_drv(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
}
void gemm_f64(bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha, const double* A, int64_t lda, const double* B, int64_t ldb, double beta, double* C, int64_t ldc) {
  gemm_drv(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
}

}  // namespace mg::cpu
