// GEMM micro-kernels, packing and the single-threaded Goto/BLIS loop nest, compiled once per ISA
// (Note [ISA variants]). C = alpha * op(A) @ op(B) + beta * C, row-major; see cpu/gemm.h.
//
// Loop nest (per thread): jc (NC columns of C) > pc (KC of k; op(B) block packed into KC x NR
// panels, kept in L3/L2) > ic (MC rows; op(A) block packed into MR x KC panels, kept in L2) >
// jr (one B panel, kept in L1) > ir (micro-kernel: an MR x NR tile of C held in registers).
// The packing routines read op(A)/op(B) through transA/transB, so no transpose is materialised.
// Small problems skip packing A (the micro-kernel broadcasts from A through strides) and pack B
// only when it is transposed or for the ragged last columns.
#include <algorithm>
#include <array>
#include <utility>
#include <cstdlib>
#include <cstring>
#include <new>

#include "cpu/gemm_isa.h"

#if defined(MG_ISA_avx2) || defined(MG_ISA_avx512)
#include <immintrin.h>
#endif

namespace mg::cpu::MG_ISA {
namespace {

// ---- vector abstraction: one SIMD register of T -------------------------------------------
template <class T> struct Vec;
#if defined(MG_ISA_avx512)
template <> struct Vec<float> {
  using V = __m512;
  static constexpr int W = 16;
  static V zero() { return _mm512_setzero_ps(); }
  static V load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, V v) { _mm512_storeu_ps(p, v); }
  static V set1(float x) { return _mm512_set1_ps(x); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static V mul(V a, V b) { return _mm512_mul_ps(a, b); }
};
template <> struct Vec<double> {
  using V = __m512d;
  static constexpr int W = 8;
  static V zero() { return _mm512_setzero_pd(); }
  static V load(const double* p) { return _mm512_loadu_pd(p); }
  static void store(double* p, V v) { _mm512_storeu_pd(p, v); }
  static V set1(double x) { return _mm512_set1_pd(x); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_pd(a, b, c); }
  static V mul(V a, V b) { return _mm512_mul_pd(a, b); }
};
// 32 zmm registers: 14 x 2 accumulators + 2 B vectors + 1 A broadcast.
template <class T> struct Cfg {
  static constexpr int MR = 14, NV = 2, NR = NV * Vec<T>::W;
  static constexpr int KC = 192, MC = 14 * (sizeof(T) == 4 ? 12 : 8), NC = 3072;
};
#elif defined(MG_ISA_avx2)
template <> struct Vec<float> {
  using V = __m256;
  static constexpr int W = 8;
  static V zero() { return _mm256_setzero_ps(); }
  static V load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, V v) { _mm256_storeu_ps(p, v); }
  static V set1(float x) { return _mm256_set1_ps(x); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static V mul(V a, V b) { return _mm256_mul_ps(a, b); }
};
template <> struct Vec<double> {
  using V = __m256d;
  static constexpr int W = 4;
  static V zero() { return _mm256_setzero_pd(); }
  static V load(const double* p) { return _mm256_loadu_pd(p); }
  static void store(double* p, V v) { _mm256_storeu_pd(p, v); }
  static V set1(double x) { return _mm256_set1_pd(x); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_pd(a, b, c); }
  static V mul(V a, V b) { return _mm256_mul_pd(a, b); }
};
// 16 ymm registers: 6 x 2 accumulators + 2 B vectors + 1 A broadcast.
template <class T> struct Cfg {
  static constexpr int MR = 6, NV = 2, NR = NV * Vec<T>::W;
  static constexpr int KC = 256, MC = sizeof(T) == 4 ? 144 : 96, NC = sizeof(T) == 4 ? 3072 : 2048;
};
#else
// Portable: plain loops over a small tile that the compiler vectorises (SSE2 on x86-64).
template <class T> struct Cfg {
  static constexpr int MR = 6, NR = 16 / sizeof(T) * 2;
  static constexpr int KC = 256, MC = 120, NC = 2048;
};
#endif

// ---- workspace: per-thread, 64-byte aligned, grown on demand ------------------------------
struct Buf {
  void* p = nullptr;
  size_t cap = 0;
  ~Buf() { std::free(p); }
  template <class T> T* get(size_t n) {
    size_t bytes = (n * sizeof(T) + 63) / 64 * 64;
    if (bytes > cap) {
      std::free(p);
      p = std::aligned_alloc(64, bytes);
      cap = p ? bytes : 0;
      if (!p) throw std::bad_alloc();
    }
    return static_cast<T*>(p);
  }
};
thread_local Buf t_bufA, t_bufB;

// ---- micro-kernels ---------------------------------------------------------------------
// micro<T, M, NV, Packed> computes the M x (NV vectors) tile AB = sum_p a(i,p) * b(p,j) and
// writes c = alpha*AB + beta*c (beta == 0: c is not read). a(i,p) = a[i*rsa + p*csa] (packed
// panels: rsa = 1, csa = MR); b(p, j) = b[p*rsb + j] is contiguous in j (a packed panel, rsb =
// NR, or an untransposed row of B). M < MR and NV < full width serve the ragged edge tiles.
#if defined(MG_ISA_avx2) || defined(MG_ISA_avx512)
template <class T, int M, int NV, bool Packed>
void micro(int64_t k, const T* __restrict a, int64_t rsa, int64_t csa, const T* __restrict b, int64_t rsb, T* c,
           int64_t ldc, T alpha, T beta) {
  using VT = Vec<T>;
  using V = typename VT::V;
  constexpr int W = VT::W;
  if (Packed) {
    rsa = 1;
    csa = Cfg<T>::MR;
    rsb = Cfg<T>::NR;
  }
  V acc[M][NV];
#pragma GCC unroll 32
  for (int i = 0; i < M; ++i)
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) acc[i][j] = VT::zero();
  // Start fetching this tile of C now: its rows are ldc apart and often alias in L1.
#pragma GCC unroll 32
  for (int i = 0; i < M; ++i) {
    __builtin_prefetch(c + i * ldc, 1);
    __builtin_prefetch(c + i * ldc + NV * W - 1, 1);
  }
#pragma GCC unroll 4
  for (int64_t p = 0; p < k; ++p) {
    V bv[NV];
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) bv[j] = VT::load(b + j * W);
    if (Packed) __builtin_prefetch(a + 16 * Cfg<T>::MR);  // A streams from L2; B stays in L1
#pragma GCC unroll 32
    for (int i = 0; i < M; ++i) {
      V av = VT::set1(a[i * rsa]);
#pragma GCC unroll 4
      for (int j = 0; j < NV; ++j) acc[i][j] = VT::fma(av, bv[j], acc[i][j]);
    }
    a += csa;
    b += rsb;
  }
  const V va = VT::set1(alpha);
  if (beta == T(0)) {
#pragma GCC unroll 32
    for (int i = 0; i < M; ++i)
#pragma GCC unroll 4
      for (int j = 0; j < NV; ++j) VT::store(c + i * ldc + j * W, VT::mul(va, acc[i][j]));
  } else {
    const V vb = VT::set1(beta);
#pragma GCC unroll 32
    for (int i = 0; i < M; ++i)
#pragma GCC unroll 4
      for (int j = 0; j < NV; ++j)
        VT::store(c + i * ldc + j * W, VT::fma(va, acc[i][j], VT::mul(vb, VT::load(c + i * ldc + j * W))));
  }
}
template <class T> constexpr int kW = Vec<T>::W;
#else
template <class T> constexpr int kW = Cfg<T>::NR / 2;  // "vector" width of the portable kernel
template <class T, int M, int NV, bool Packed>
void micro(int64_t k, const T* __restrict a, int64_t rsa, int64_t csa, const T* __restrict b, int64_t rsb, T* c,
           int64_t ldc, T alpha, T beta) {
  constexpr int N = NV * kW<T>;
  if (Packed) {
    rsa = 1;
    csa = Cfg<T>::MR;
    rsb = Cfg<T>::NR;
  }
  T acc[M][N] = {};
  for (int64_t p = 0; p < k; ++p) {
    T bv[N];  // a local copy: with b's stride unknown, the compiler would not vectorise otherwise
    for (int j = 0; j < N; ++j) bv[j] = b[j];
    for (int i = 0; i < M; ++i) {
      const T av = a[i * rsa];
      for (int j = 0; j < N; ++j) acc[i][j] += av * bv[j];
    }
    a += csa;
    b += rsb;
  }
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < N; ++j)
      c[i * ldc + j] = beta == T(0) ? alpha * acc[i][j] : alpha * acc[i][j] + beta * c[i * ldc + j];
}
#endif

template <class T>
using MicroFn = void (*)(int64_t, const T*, int64_t, int64_t, const T*, int64_t, T*, int64_t, T, T);
// kMicro<T, Packed, NV>[M - 1] = micro<T, M, NV, Packed>
template <class T, bool Packed, int NV, size_t... I>
constexpr std::array<MicroFn<T>, sizeof...(I)> micro_table(std::index_sequence<I...>) {
  return {&micro<T, int(I) + 1, NV, Packed>...};
}
template <class T, bool Packed, int NV>
constexpr auto kMicro = micro_table<T, Packed, NV>(std::make_index_sequence<Cfg<T>::MR>());

// One tile of C with its valid extent mr x nr (the full tile is MR x NR = 2 vectors wide). A
// width that is not a whole number of vectors goes through a local buffer, so the kernel never
// writes (or, with beta, reads) outside C; b must then hold zero-padded columns up to the vector.
template <class T, bool Packed>
inline void tile(int64_t k, const T* a, int64_t rsa, int64_t csa, const T* b, int64_t rsb, T* c, int64_t ldc,
                 int64_t mr, int64_t nr, T alpha, T beta) {
  constexpr int W = kW<T>, NR = Cfg<T>::NR;
  static_assert(NR == 2 * W, "tile assumes two vectors per row");
  const bool one = nr <= W;
  const MicroFn<T> fn = one ? kMicro<T, Packed, 1>[size_t(mr - 1)] : kMicro<T, Packed, 2>[size_t(mr - 1)];
  if (nr == W || nr == NR) {
    fn(k, a, rsa, csa, b, rsb, c, ldc, alpha, beta);
    return;
  }
  alignas(64) T t[Cfg<T>::MR * NR];
  fn(k, a, rsa, csa, b, rsb, t, NR, T(1), T(0));
  for (int64_t i = 0; i < mr; ++i)
    for (int64_t j = 0; j < nr; ++j) {
      T v = alpha * t[i * NR + j];
      c[i * ldc + j] = beta == T(0) ? v : v + beta * c[i * ldc + j];
    }
}

// ---- packing -----------------------------------------------------------------------------
// op(A)[i0 .. i0+mc, p0 .. p0+kc] into MR-row panels: panel r holds, for each p, MR values
// op(A)[r*MR + 0..MR, p] (rows past mc are zero).
template <class T>
void pack_a(bool ta, const T* A, int64_t lda, int64_t mc, int64_t kc, T* dst) {
  constexpr int MR = Cfg<T>::MR;
  for (int64_t i0 = 0; i0 < mc; i0 += MR, dst += MR * kc) {
    const int64_t mr = std::min<int64_t>(MR, mc - i0);
    if (ta) {  // op(A)[i,p] = A[p*lda + i]: contiguous in i
      for (int64_t p = 0; p < kc; ++p) {
        const T* s = A + p * lda + i0;
        T* d = dst + p * MR;
        if (mr == MR)
          for (int i = 0; i < MR; ++i) d[i] = s[i];
        else
          for (int i = 0; i < MR; ++i) d[i] = i < mr ? s[i] : T(0);
      }
    } else {  // op(A)[i,p] = A[i*lda + p]: MR row streams
      const T* s = A + i0 * lda;
      if (mr == MR) {
        for (int64_t p = 0; p < kc; ++p)
          for (int i = 0; i < MR; ++i) dst[p * MR + i] = s[i * lda + p];
      } else {
        for (int64_t p = 0; p < kc; ++p)
          for (int i = 0; i < MR; ++i) dst[p * MR + i] = i < mr ? s[i * lda + p] : T(0);
      }
    }
  }
}

// op(B)[p0 .. p0+kc, j0 .. j0+nc] into NR-column panels: panel s holds, for each p, NR values
// op(B)[p, s*NR + 0..NR] (columns past nc are zero).
template <class T>
void pack_b(bool tb, const T* B, int64_t ldb, int64_t kc, int64_t nc, T* dst) {
  constexpr int NR = Cfg<T>::NR;
  for (int64_t j0 = 0; j0 < nc; j0 += NR, dst += NR * kc) {
    const int64_t nr = std::min<int64_t>(NR, nc - j0);
    if (!tb) {  // op(B)[p,j] = B[p*ldb + j]: contiguous rows
      for (int64_t p = 0; p < kc; ++p) {
        const T* s = B + p * ldb + j0;
        T* d = dst + p * NR;
        if (nr == NR)
          for (int j = 0; j < NR; ++j) d[j] = s[j];
        else
          for (int j = 0; j < NR; ++j) d[j] = j < nr ? s[j] : T(0);
      }
    } else {  // op(B)[p,j] = B[j*ldb + p]: NR column streams
      const T* s = B + j0 * ldb;
      if (nr == NR) {
        for (int64_t p = 0; p < kc; ++p)
          for (int j = 0; j < NR; ++j) dst[p * NR + j] = s[j * ldb + p];
      } else {
        for (int64_t p = 0; p < kc; ++p)
          for (int j = 0; j < NR; ++j) dst[p * NR + j] = j < nr ? s[j * ldb + p] : T(0);
      }
    }
  }
}

// Splits `total` into equal steps no larger than `cap`, rounded up to a multiple of `unit`.
inline int64_t even_block(int64_t total, int64_t cap, int64_t unit) {
  int64_t nb = (total + cap - 1) / cap;
  int64_t b = (total + nb - 1) / nb;
  return (b + unit - 1) / unit * unit;
}

// ---- small problems: no packing of A; B packed only when transposed, or for its last n % W
// columns (a vector load there would read past the row) -----------------------------------
template <class T>
void gemm_small(bool ta, bool tb, int64_t m, int64_t n, int64_t k, T alpha, const T* A, int64_t lda, const T* B,
                int64_t ldb, T beta, T* C, int64_t ldc) {
  constexpr int MR = Cfg<T>::MR, NR = Cfg<T>::NR, W = kW<T>;
  const int64_t rsa = ta ? 1 : lda, csa = ta ? lda : 1;
  const int64_t ndirect = tb ? 0 : n / W * W;  // columns read straight from B's rows
  const int64_t nrest = n - ndirect;
  const int64_t npan = (nrest + NR - 1) / NR;
  T* bp = nullptr;
  if (npan) {
    bp = t_bufB.get<T>(size_t(npan) * NR * size_t(k));
    pack_b(tb, tb ? B + ndirect * ldb : B + ndirect, ldb, k, nrest, bp);
  }
  for (int64_t j = 0; j < n; j += NR) {
    const int64_t nr = std::min<int64_t>(NR, n - j);
    // A tile straddling ndirect: the direct part first, then the packed remainder.
    const int64_t nd = std::max<int64_t>(0, std::min(nr, ndirect - j));
    for (int64_t i = 0; i < m; i += MR) {
      const int64_t mr = std::min<int64_t>(MR, m - i);
      const T* ai = A + i * rsa;
      T* c = C + i * ldc + j;
      if (nd > 0) tile<T, false>(k, ai, rsa, csa, B + j, ldb, c, ldc, mr, nd, alpha, beta);
      if (nd < nr) {
        const int64_t jp = j + nd - ndirect;  // first packed column of this tile
        tile<T, false>(k, ai, rsa, csa, bp + jp / NR * NR * k + jp % NR, NR, c + nd, ldc, mr, nr - nd, alpha, beta);
      }
    }
  }
}

// ---- the blocked, packed path ------------------------------------------------------------
template <class T>
void gemm_blocked(bool ta, bool tb, int64_t m, int64_t n, int64_t k, T alpha, const T* A, int64_t lda, const T* B,
                  int64_t ldb, T beta, T* C, int64_t ldc) {
  using G = Cfg<T>;
  constexpr int MR = G::MR, NR = G::NR;
  const int64_t KC = even_block(k, G::KC, 1);
  const int64_t MC = even_block(m, G::MC, MR);
  const int64_t NC = even_block(n, G::NC, NR);
  T* ap = t_bufA.get<T>(size_t(MC) * KC);
  T* bp = t_bufB.get<T>(size_t(NC) * KC);
  for (int64_t jc = 0; jc < n; jc += NC) {
    const int64_t nc = std::min(NC, n - jc);
    for (int64_t pc = 0; pc < k; pc += KC) {
      const int64_t kc = std::min(KC, k - pc);
      const T beta_p = pc == 0 ? beta : T(1);  // later K blocks accumulate
      pack_b(tb, tb ? B + jc * ldb + pc : B + pc * ldb + jc, ldb, kc, nc, bp);
      for (int64_t ic = 0; ic < m; ic += MC) {
        const int64_t mc = std::min(MC, m - ic);
        pack_a(ta, ta ? A + pc * lda + ic : A + ic * lda + pc, lda, mc, kc, ap);
        for (int64_t jr = 0; jr < nc; jr += NR) {
          const int64_t nr = std::min<int64_t>(NR, nc - jr);
          const T* bpp = bp + jr * kc;
          for (int64_t ir = 0; ir < mc; ir += MR) {
            const int64_t mr = std::min<int64_t>(MR, mc - ir);
            tile<T, true>(kc, ap + ir * kc, 1, MR, bpp, NR, C + (ic + ir) * ldc + jc + jr, ldc, mr, nr, alpha, beta_p);
          }
        }
      }
    }
  }
}

template <class T>
void gemm_serial(bool ta, bool tb, int64_t m, int64_t n, int64_t k, T alpha, const T* A, int64_t lda, const T* B,
                 int64_t ldb, T beta, T* C, int64_t ldc) {
  // Packing pays once the operands outgrow L2: the small path streams all of A once per
  // column panel and reads B's rows in place. Measured on Zen 3 (512 KB L2): unpacked wins up
  // to ~256 KB per operand; a transposed A is read across rows, so it stops sooner.
#if defined(MG_ISA_avx2) || defined(MG_ISA_avx512)
  const double sz = sizeof(T), lim = ta ? 48 * 1024 : 256 * 1024;
  const bool small = k <= 2 * Cfg<T>::KC &&
                     (n <= 2 * Cfg<T>::NR || (double(k) * double(n) * sz <= lim && double(m) * double(k) * sz <= lim));
#else
  const bool small = false;  // the portable kernel only vectorises well on packed panels
#endif
  if (small) gemm_small(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
  else gemm_blocked(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
}

}  // namespace

void gemm_tile(int dtype, int* mr, int* nr) {
  *mr = dtype == 0 ? Cfg<float>::MR : Cfg<double>::MR;
  *nr = dtype == 0 ? Cfg<float>::NR : Cfg<double>::NR;
}
void gemm_serial_f32(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* A, int64_t lda,
                     const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  gemm_serial(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
}
void gemm_serial_f64(bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha, const double* A, int64_t lda,
                     const double* B, int64_t ldb, double beta, double* C, int64_t ldc) {
  gemm_serial(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
}

}  // namespace mg::cpu::MG_ISA
