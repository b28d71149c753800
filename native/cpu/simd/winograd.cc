// Winograd F(2x2, 3x3) per-block work, compiled once per ISA (Note [ISA variants]): the input,
// output and gradient transforms (plain loops over channels that the compiler vectorises with
// the ISA's widest registers) and the 16 GEMMs of a block of tiles. See cpu/winograd.h.
#include <algorithm>
#include <cstring>
#include <vector>

#include "cpu/gemm_isa.h"
#include "cpu/scratch.h"
#include "cpu/winograd.h"

#if defined(MG_ISA_avx2) || defined(MG_ISA_avx512)
#include <immintrin.h>
#endif

namespace mg::cpu::MG_ISA {
namespace {

template <class T>
T* tl_buf(int slot, size_t n) {  // a block's transformed tiles (0, 1) and an edge tile (2)
  return scratch<struct WinoBlockScratch, T, 3>(slot, n);
}

inline void gemm_s(bool ta, int64_t m, int64_t n, int64_t k, const float* A, int64_t lda, const float* B, int64_t ldb,
                   float beta, float* C, int64_t ldc) {
  gemm_serial_f32(ta, false, m, n, k, 1.0f, A, lda, B, ldb, beta, C, ldc);
}
inline void gemm_s(bool ta, int64_t m, int64_t n, int64_t k, const double* A, int64_t lda, const double* B,
                   int64_t ldb, double beta, double* C, int64_t ldc) {
  gemm_serial_f64(ta, false, m, n, k, 1.0, A, lda, B, ldb, beta, C, ldc);
}

// ---- transposes between NCHW and channels-last ------------------------------------------------
// tr_tile: d[j*ldd + i] = s[i*lds + j] (+ add[j]) for i < nr, j < nc; nr, nc <= kTr.
#if defined(MG_ISA_avx512)
template <class T> constexpr int kTr = 64 / sizeof(T);
inline void tr_tile(const float* s, int64_t lds, int nr, int nc, float* d, int64_t ldd, const float* add) {
  const __mmask16 mc = __mmask16((1u << nc) - 1), mr = __mmask16((1u << nr) - 1);
  __m512 r[16], t[16];
  for (int i = 0; i < 16; ++i) r[i] = i < nr ? _mm512_maskz_loadu_ps(mc, s + i * lds) : _mm512_setzero_ps();
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int q = 0; q < 16; q += 4) {
    r[q + 0] = _mm512_shuffle_ps(t[q + 0], t[q + 2], 0x44);
    r[q + 1] = _mm512_shuffle_ps(t[q + 0], t[q + 2], 0xEE);
    r[q + 2] = _mm512_shuffle_ps(t[q + 1], t[q + 3], 0x44);
    r[q + 3] = _mm512_shuffle_ps(t[q + 1], t[q + 3], 0xEE);
  }
  for (int m = 0; m < 4; ++m) {
    t[m] = _mm512_shuffle_f32x4(r[m], r[4 + m], 0x88);
    t[4 + m] = _mm512_shuffle_f32x4(r[m], r[4 + m], 0xdd);
    t[8 + m] = _mm512_shuffle_f32x4(r[8 + m], r[12 + m], 0x88);
    t[12 + m] = _mm512_shuffle_f32x4(r[8 + m], r[12 + m], 0xdd);
  }
  for (int m = 0; m < 4; ++m) {
    r[m] = _mm512_shuffle_f32x4(t[m], t[8 + m], 0x88);
    r[8 + m] = _mm512_shuffle_f32x4(t[m], t[8 + m], 0xdd);
    r[4 + m] = _mm512_shuffle_f32x4(t[4 + m], t[12 + m], 0x88);
    r[12 + m] = _mm512_shuffle_f32x4(t[4 + m], t[12 + m], 0xdd);
  }
  for (int j = 0; j < nc; ++j) {
    __m512 v = add ? _mm512_add_ps(r[j], _mm512_set1_ps(add[j])) : r[j];
    _mm512_mask_storeu_ps(d + j * ldd, mr, v);
  }
}
inline void tr_tile(const double* s, int64_t lds, int nr, int nc, double* d, int64_t ldd, const double* add) {
  const __mmask8 mc = __mmask8((1u << nc) - 1), mr = __mmask8((1u << nr) - 1);
  __m512d r[8], t[8];
  for (int i = 0; i < 8; ++i) r[i] = i < nr ? _mm512_maskz_loadu_pd(mc, s + i * lds) : _mm512_setzero_pd();
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm512_unpacklo_pd(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_pd(r[i], r[i + 1]);
  }
  for (int q = 0; q < 8; q += 4) {
    r[q + 0] = _mm512_shuffle_f64x2(t[q + 0], t[q + 2], 0x88);
    r[q + 1] = _mm512_shuffle_f64x2(t[q + 1], t[q + 3], 0x88);
    r[q + 2] = _mm512_shuffle_f64x2(t[q + 0], t[q + 2], 0xdd);
    r[q + 3] = _mm512_shuffle_f64x2(t[q + 1], t[q + 3], 0xdd);
  }
  for (int m = 0; m < 4; ++m) {
    t[m] = _mm512_shuffle_f64x2(r[m], r[4 + m], 0x88);
    t[4 + m] = _mm512_shuffle_f64x2(r[m], r[4 + m], 0xdd);
  }
  for (int j = 0; j < nc; ++j) {
    __m512d v = add ? _mm512_add_pd(t[j], _mm512_set1_pd(add[j])) : t[j];
    _mm512_mask_storeu_pd(d + j * ldd, mr, v);
  }
}
#else
template <class T> constexpr int kTr = 8;
template <class T>
void tr_tile(const T* s, int64_t lds, int nr, int nc, T* d, int64_t ldd, const T* add) {
  for (int j = 0; j < nc; ++j) {
    const T a = add ? add[j] : T(0);
    for (int i = 0; i < nr; ++i) d[j * ldd + i] = s[i * lds + j] + a;
  }
}
#endif

// Rows [r0, r1) (row u = image u / Hp, padded row u % Hp) of the padded channels-last copy.
template <class T>
void to_nhwc_rows(const T* x, int64_t C, int64_t H, int64_t W, T* out, int64_t Hp, int64_t Wp, int64_t ph, int64_t pw,
                  int64_t r0, int64_t r1) {
  constexpr int K = kTr<T>;
  for (int64_t u = r0; u < r1; ++u) {
    const int64_t n = u / Hp, h = u % Hp - ph;
    T* row = out + u * Wp * C;
    if (h < 0 || h >= H) {
      std::fill(row, row + Wp * C, T(0));
      continue;
    }
    const int64_t w0 = std::min(pw, Wp), w1 = std::clamp<int64_t>(pw + W, w0, Wp), nw = w1 - w0;
    std::fill(row, row + w0 * C, T(0));
    std::fill(row + w1 * C, row + Wp * C, T(0));
    const T* src = x + (n * C * H + h) * W;
    for (int64_t c = 0; c < C; c += K)
      for (int64_t w = 0; w < nw; w += K)
        tr_tile(src + c * H * W + w, H * W, int(std::min<int64_t>(K, C - c)), int(std::min<int64_t>(K, nw - w)),
                row + (w0 + w) * C + c, C, (const T*)nullptr);
  }
}

// Units [u0, u1) (image u / ob, pixel block u % ob of kTr pixels) of y[n][o][p] = yt[n][p][o] + bias[o].
template <class T>
void from_nhwc_units(const T* yt, T* y, int64_t O, int64_t HW, const T* bias, int64_t u0, int64_t u1) {
  constexpr int K = kTr<T>;
  const int64_t pb = (HW + K - 1) / K;
  for (int64_t u = u0; u < u1; ++u) {
    const int64_t n = u / pb, p = (u % pb) * K, np = std::min<int64_t>(K, HW - p);
    for (int64_t o = 0; o < O; o += K)
      tr_tile(yt + (n * HW + p) * O + o, O, int(np), int(std::min<int64_t>(K, O - o)), y + (n * O + o) * HW + p, HW,
              bias ? bias + o : (const T*)nullptr);
  }
}

// ---- one SIMD register of T (a scalar in the portable build), for the transforms ------------
template <class T> struct Sc {  // the scalar "vector": tails, and the portable build
  using V = T;
  static constexpr int W = 1;
  static V load(const T* p) { return *p; }
  static void store(T* p, V v) { *p = v; }
  static V add(V a, V b) { return a + b; }
  static V sub(V a, V b) { return a - b; }
  static V neg(V a) { return -a; }
  static V mul(V a, T c) { return a * c; }
};
#if defined(MG_ISA_avx512)
template <class T> struct Vx;
template <> struct Vx<float> {
  using V = __m512;
  static constexpr int W = 16;
  static V load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, V v) { _mm512_storeu_ps(p, v); }
  static V add(V a, V b) { return _mm512_add_ps(a, b); }
  static V sub(V a, V b) { return _mm512_sub_ps(a, b); }
  static V neg(V a) { return _mm512_sub_ps(_mm512_setzero_ps(), a); }
  static V mul(V a, float c) { return _mm512_mul_ps(a, _mm512_set1_ps(c)); }
};
template <> struct Vx<double> {
  using V = __m512d;
  static constexpr int W = 8;
  static V load(const double* p) { return _mm512_loadu_pd(p); }
  static void store(double* p, V v) { _mm512_storeu_pd(p, v); }
  static V add(V a, V b) { return _mm512_add_pd(a, b); }
  static V sub(V a, V b) { return _mm512_sub_pd(a, b); }
  static V neg(V a) { return _mm512_sub_pd(_mm512_setzero_pd(), a); }
  static V mul(V a, double c) { return _mm512_mul_pd(a, _mm512_set1_pd(c)); }
};
#elif defined(MG_ISA_avx2)
template <class T> struct Vx;
template <> struct Vx<float> {
  using V = __m256;
  static constexpr int W = 8;
  static V load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, V v) { _mm256_storeu_ps(p, v); }
  static V add(V a, V b) { return _mm256_add_ps(a, b); }
  static V sub(V a, V b) { return _mm256_sub_ps(a, b); }
  static V neg(V a) { return _mm256_sub_ps(_mm256_setzero_ps(), a); }
  static V mul(V a, float c) { return _mm256_mul_ps(a, _mm256_set1_ps(c)); }
};
template <> struct Vx<double> {
  using V = __m256d;
  static constexpr int W = 4;
  static V load(const double* p) { return _mm256_loadu_pd(p); }
  static void store(double* p, V v) { _mm256_storeu_pd(p, v); }
  static V add(V a, V b) { return _mm256_add_pd(a, b); }
  static V sub(V a, V b) { return _mm256_sub_pd(a, b); }
  static V neg(V a) { return _mm256_sub_pd(_mm256_setzero_pd(), a); }
  static V mul(V a, double c) { return _mm256_mul_pd(a, _mm256_set1_pd(c)); }
};
#else
template <class T> using Vx = Sc<T>;
#endif

// Calls body.template operator()<Ops>(c) over channels [0, n): full vectors, then a scalar tail.
template <class T, class F>
__attribute__((always_inline)) inline void over_lanes(int64_t n, F&& body) {
  int64_t c = 0;
  for (; c + Vx<T>::W <= n; c += Vx<T>::W) body(Vx<T>{}, c);
  for (; c < n; ++c) body(Sc<T>{}, c);
}

// ---- the 1-D transforms of F(m x m, 3 x 3), m = 2 (alpha = 4) and m = 4 (alpha = 6) ----------
// in1d: B^T d (alpha -> alpha); out1d: A^T v (alpha -> m); grad1d: A g, the adjoint of out1d
// (m -> alpha). F(2,3): B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1], A^T = [1 1 1 0; 0 1 -1 -1].
// F(4,3) (Lavin & Gray 2016): B^T rows [4 0 -5 0 1 0], [0 -4 -4 1 1 0], [0 4 -4 -1 1 0],
// [0 -2 -1 2 1 0], [0 2 -1 -2 1 0], [0 4 0 -5 0 1]; A^T rows [1 1 1 1 1 0], [0 1 -1 2 -2 0],
// [0 1 1 4 4 0], [0 1 -1 8 -8 1].
template <int M> struct Tf;
template <> struct Tf<2> {
  static constexpr int A = 4;
  template <class O, class V>
  static void in1d(const V* d, V* o) {
    o[0] = O::sub(d[0], d[2]);
    o[1] = O::add(d[1], d[2]);
    o[2] = O::sub(d[2], d[1]);
    o[3] = O::sub(d[1], d[3]);
  }
  template <class O, class V>
  static void out1d(const V* m, V* y) {
    y[0] = O::add(O::add(m[0], m[1]), m[2]);
    y[1] = O::sub(O::sub(m[1], m[2]), m[3]);
  }
  template <class O, class V>
  static void grad1d(const V* g, V* o) {
    o[0] = g[0];
    o[1] = O::add(g[0], g[1]);
    o[2] = O::sub(g[0], g[1]);
    o[3] = O::neg(g[1]);
  }
};
template <> struct Tf<4> {
  static constexpr int A = 6;
  template <class O, class V>
  static void in1d(const V* d, V* o) {
    const V s12 = O::add(d[1], d[2]), d12 = O::sub(d[1], d[2]), s34 = O::add(d[3], d[4]), d43 = O::sub(d[4], d[3]);
    const V d42 = O::sub(d[4], d[2]), d31 = O::sub(d[3], d[1]);
    o[0] = O::add(O::sub(O::mul(d[0], 4), O::mul(d[2], 5)), d[4]);
    o[1] = O::sub(s34, O::mul(s12, 4));
    o[2] = O::add(d43, O::mul(d12, 4));
    o[3] = O::add(d42, O::mul(d31, 2));
    o[4] = O::sub(d42, O::mul(d31, 2));
    o[5] = O::add(O::sub(O::mul(d[1], 4), O::mul(d[3], 5)), d[5]);
  }
  template <class O, class V>
  static void out1d(const V* m, V* y) {
    const V s12 = O::add(m[1], m[2]), d12 = O::sub(m[1], m[2]), s34 = O::add(m[3], m[4]), d34 = O::sub(m[3], m[4]);
    y[0] = O::add(O::add(m[0], s12), s34);
    y[1] = O::add(d12, O::mul(d34, 2));
    y[2] = O::add(s12, O::mul(s34, 4));
    y[3] = O::add(O::add(d12, O::mul(d34, 8)), m[5]);
  }
  template <class O, class V>
  static void grad1d(const V* g, V* o) {
    const V s02 = O::add(g[0], g[2]), s13 = O::add(g[1], g[3]);
    o[0] = g[0];
    o[1] = O::add(s02, s13);
    o[2] = O::sub(s02, s13);
    const V e = O::add(g[0], O::mul(g[2], 4)), f = O::add(O::mul(g[1], 2), O::mul(g[3], 8));
    o[3] = O::add(e, f);
    o[4] = O::sub(e, f);
    o[5] = g[3];
  }
};

// Row stride of one tile in the block buffers ([tile][xi][channel]): alpha^2 transformed values of
// every channel, plus one cache line so the rows a GEMM tile walks do not share L1 sets.
template <int M>
inline int64_t tile_ld(int64_t ch, size_t elt) { return Tf<M>::A * Tf<M>::A * ch + int64_t(64 / elt); }

// Offset of tile tt's top-left element in a channels-last map of `cols` columns and `rows` rows
// per image, `ch` channels per pixel.
template <int M>
inline int64_t tile_offset(const WinoPlan& p, int64_t tt, int64_t rows, int64_t cols, int64_t ch) {
  const int64_t ti = p.th * p.tw, n = tt / ti, r = tt % ti, ty = r / p.tw, tx = r % p.tw;
  return ((n * rows + M * ty) * cols + M * tx) * ch;
}

// The separable 2-D transform of every Winograd step: out[k][l] = f(f(in)[k][.])[l], i.e. F in F^T for
// the 1-D map f (NI -> NO values), applied to the columns of the NI x NI tile load(i, j), then to the
// rows of the result; store(k, l, value) takes the NO x NO output.
template <int NI, int NO, class Op, class Load, class F, class Store>
__attribute__((always_inline)) inline void tf2d(Load&& load, F&& f, Store&& store) {
  using VV = typename Op::V;
  VV r[NO][NI];
#pragma GCC unroll 6
  for (int j = 0; j < NI; ++j) {
    VV col[NI], out[NO];
#pragma GCC unroll 6
    for (int i = 0; i < NI; ++i) col[i] = load(i, j);
    f(col, out);
#pragma GCC unroll 6
    for (int k = 0; k < NO; ++k) r[k][j] = out[k];
  }
#pragma GCC unroll 6
  for (int k = 0; k < NO; ++k) {
    VV out[NO];
    f(r[k], out);
#pragma GCC unroll 6
    for (int l = 0; l < NO; ++l) store(k, l, out[l]);
  }
}

// V[t][xi][c] = (B^T d B)[xi] of the alpha x alpha input tile of each tile t, channels c0 .. c0+Cg.
template <int M, class T>
void input_tf(const WinoPlan& p, const T* xp, int64_t c0, int64_t t0, int64_t nt, T* V, int64_t ldv) {
  constexpr int A = Tf<M>::A;
  const int64_t Cg = p.Cg, C = p.C, rs = p.Wp * C;
  for (int64_t t = 0; t < nt; ++t) {
    const T* b = xp + tile_offset<M>(p, t0 + t, p.Hp, p.Wp, C) + c0;
    T* v = V + t * ldv;
    over_lanes<T>(Cg, [&](auto ops, int64_t c) __attribute__((always_inline)) {
      using O = decltype(ops);
      tf2d<A, A, O>([&](int i, int j) __attribute__((always_inline)) { return O::load(b + i * rs + j * C + c); },
                    [](const auto* in, auto* out) __attribute__((always_inline)) { Tf<M>::template in1d<O>(in, out); },
                    [&](int k, int l, auto val) __attribute__((always_inline)) { O::store(v + (k * A + l) * Cg + c, val); });
    });
  }
}

// y tile = A^T M A, from M[t][xi][o] to the NHWC output (edge tiles clip through a staging tile).
template <int M, class T>
void output_tf(const WinoPlan& p, const T* Mb, int64_t ldm, int64_t o0, int64_t t0, int64_t nt, T* y) {
  constexpr int A = Tf<M>::A;
  const int64_t Og = p.Og, O = p.O;
  T* st = tl_buf<T>(2, size_t(M * M * Og));
  const int64_t ti = p.th * p.tw;
  for (int64_t t = 0; t < nt; ++t) {
    const int64_t tt = t0 + t, n = tt / ti, r = tt % ti, h0 = M * (r / p.tw), w0 = M * (r % p.tw);
    const bool full = h0 + M <= p.Ho && w0 + M <= p.Wo;
    T* base = y + ((n * p.Ho + h0) * p.Wo + w0) * O + o0;
    T* y0 = full ? base : st;
    const int64_t dx = full ? O : Og, dy = full ? p.Wo * O : M * Og;
    const T* m = Mb + t * ldm;
    over_lanes<T>(Og, [&](auto ops, int64_t o) __attribute__((always_inline)) {
      using Op = decltype(ops);
      tf2d<A, M, Op>([&](int i, int j) __attribute__((always_inline)) { return Op::load(m + (i * A + j) * Og + o); },
                     [](const auto* in, auto* out) __attribute__((always_inline)) { Tf<M>::template out1d<Op>(in, out); },
                     [&](int a, int bb, auto val) __attribute__((always_inline)) { Op::store(y0 + a * dy + bb * dx + o, val); });
    });
    if (!full) {
      const size_t bytes = size_t(Og) * sizeof(T);
      for (int a = 0; a < M && h0 + a < p.Ho; ++a)
        for (int bb = 0; bb < M && w0 + bb < p.Wo; ++bb) std::memcpy(base + (a * p.Wo + bb) * O, st + (a * M + bb) * Og, bytes);
    }
  }
}

// dM[t][xi][o] = (A dy A^T)[xi] of each tile's m x m gradient (zero-padded NHWC [N][m th][m tw][O]).
template <int M, class T>
void grad_tf(const WinoPlan& p, const T* gy, int64_t o0, int64_t t0, int64_t nt, T* dM, int64_t ldm) {
  constexpr int A = Tf<M>::A;
  const int64_t Og = p.Og, O = p.O, rs = M * p.tw * O;
  for (int64_t t = 0; t < nt; ++t) {
    const T* b = gy + tile_offset<M>(p, t0 + t, M * p.th, M * p.tw, O) + o0;
    T* d = dM + t * ldm;
    over_lanes<T>(Og, [&](auto ops, int64_t o) __attribute__((always_inline)) {
      using Op = decltype(ops);
      tf2d<M, A, Op>([&](int a, int bb) __attribute__((always_inline)) { return Op::load(b + a * rs + bb * O + o); },
                     [](const auto* in, auto* out) __attribute__((always_inline)) { Tf<M>::template grad1d<Op>(in, out); },
                     [&](int i, int k, auto val) __attribute__((always_inline)) { Op::store(d + (i * A + k) * Og + o, val); });
    });
  }
}

template <int M, class T>
void fwd_block(const WinoPlan& p, const T* xp, const T* U, int64_t gr, int64_t t0, int64_t nt, T* y) {
  constexpr int AA = Tf<M>::A * Tf<M>::A;
  const int64_t Cg = p.Cg, Og = p.Og, lv = tile_ld<M>(Cg, sizeof(T)), lm = tile_ld<M>(Og, sizeof(T));
  T* V = tl_buf<T>(0, size_t(nt * lv));
  T* Mb = tl_buf<T>(1, size_t(nt * lm));
  input_tf<M>(p, xp, gr * Cg, t0, nt, V, lv);
  for (int xi = 0; xi < AA; ++xi)
    gemm_s(false, nt, Og, Cg, V + xi * Cg, lv, U + xi * Cg * Og, Og, T(0), Mb + xi * Og, lm);
  output_tf<M>(p, Mb, lm, gr * Og, t0, nt, y);
}

template <int M, class T>
void wgrad_block(const WinoPlan& p, const T* xp, const T* gy, int64_t gr, int64_t t0, int64_t nt, T beta, T* dU) {
  constexpr int AA = Tf<M>::A * Tf<M>::A;
  const int64_t Cg = p.Cg, Og = p.Og, lv = tile_ld<M>(Cg, sizeof(T)), lm = tile_ld<M>(Og, sizeof(T));
  T* V = tl_buf<T>(0, size_t(nt * lv));
  T* dM = tl_buf<T>(1, size_t(nt * lm));
  input_tf<M>(p, xp, gr * Cg, t0, nt, V, lv);
  grad_tf<M>(p, gy, gr * Og, t0, nt, dM, lm);
  for (int xi = 0; xi < AA; ++xi)
    gemm_s(true, Cg, Og, nt, V + xi * Cg, lv, dM + xi * Og, lm, beta, dU + xi * Cg * Og, Og);
}

}  // namespace

void wino_to_nhwc_f32(const float* x, int64_t C, int64_t H, int64_t W, float* out, int64_t Hp, int64_t Wp, int64_t ph,
                      int64_t pw, int64_t r0, int64_t r1) {
  to_nhwc_rows(x, C, H, W, out, Hp, Wp, ph, pw, r0, r1);
}
void wino_to_nhwc_f64(const double* x, int64_t C, int64_t H, int64_t W, double* out, int64_t Hp, int64_t Wp,
                      int64_t ph, int64_t pw, int64_t r0, int64_t r1) {
  to_nhwc_rows(x, C, H, W, out, Hp, Wp, ph, pw, r0, r1);
}
void wino_from_nhwc_f32(const float* yt, float* y, int64_t O, int64_t HW, const float* bias, int64_t u0, int64_t u1) {
  from_nhwc_units(yt, y, O, HW, bias, u0, u1);
}
void wino_from_nhwc_f64(const double* yt, double* y, int64_t O, int64_t HW, const double* bias, int64_t u0,
                        int64_t u1) {
  from_nhwc_units(yt, y, O, HW, bias, u0, u1);
}
int wino_transpose_tile(int dtype) { return dtype == 0 ? kTr<float> : kTr<double>; }

void wino_fwd_block_f32(const WinoPlan& p, const float* xp, const float* U, int64_t gr, int64_t t0, int64_t nt,
                        float* y) {
  if (p.m == 4) fwd_block<4>(p, xp, U, gr, t0, nt, y);
  else fwd_block<2>(p, xp, U, gr, t0, nt, y);
}
void wino_fwd_block_f64(const WinoPlan& p, const double* xp, const double* U, int64_t gr, int64_t t0, int64_t nt,
                        double* y) {
  if (p.m == 4) fwd_block<4>(p, xp, U, gr, t0, nt, y);
  else fwd_block<2>(p, xp, U, gr, t0, nt, y);
}
void wino_wgrad_block_f32(const WinoPlan& p, const float* xp, const float* gy, int64_t gr, int64_t t0, int64_t nt,
                          float beta, float* dU) {
  if (p.m == 4) wgrad_block<4>(p, xp, gy, gr, t0, nt, beta, dU);
  else wgrad_block<2>(p, xp, gy, gr, t0, nt, beta, dU);
}
void wino_wgrad_block_f64(const WinoPlan& p, const double* xp, const double* gy, int64_t gr, int64_t t0, int64_t nt,
                          double beta, double* dU) {
  if (p.m == 4) wgrad_block<4>(p, xp, gy, gr, t0, nt, beta, dU);
  else wgrad_block<2>(p, xp, gy, gr, t0, nt, beta, dU);
}

}  // namespace mg::cpu::MG_ISA
