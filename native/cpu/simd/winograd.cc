// Winograd F(2x2, 3x3) per-block work, compiled once per ISA (Note [ISA variants]): the input,
// output and gradient transforms (plain loops over channels that the compiler vectorises with
// the ISA's widest registers) and the 16 GEMMs of a block of tiles. See cpu/winograd.h.
#include <algorithm>
#include <cstring>
#include <vector>

#include "cpu/gemm_isa.h"
#include "cpu/winograd.h"

namespace mg::cpu::MG_ISA {
namespace {

template <class T>
T* tl_buf(int slot, size_t n) {
  thread_local std::vector<T> buf[3];
  if (buf[slot].size() < n) buf[slot].resize(n);
  return buf[slot].data();
}

inline void gemm_s(bool ta, int64_t m, int64_t n, int64_t k, const float* A, int64_t lda, const float* B, int64_t ldb,
                   float beta, float* C, int64_t ldc) {
  gemm_serial_f32(ta, false, m, n, k, 1.0f, A, lda, B, ldb, beta, C, ldc);
}
inline void gemm_s(bool ta, int64_t m, int64_t n, int64_t k, const double* A, int64_t lda, const double* B,
                   int64_t ldb, double beta, double* C, int64_t ldc) {
  gemm_serial_f64(ta, false, m, n, k, 1.0, A, lda, B, ldb, beta, C, ldc);
}

// Offset of tile tt's top-left element in a channels-last map of `cols` columns and `rows` rows
// per image, `ch` channels per pixel.
inline int64_t tile_offset(const WinoPlan& p, int64_t tt, int64_t rows, int64_t cols, int64_t ch) {
  const int64_t ti = p.th * p.tw, n = tt / ti, r = tt % ti, ty = r / p.tw, tx = r % p.tw;
  return ((n * rows + 2 * ty) * cols + 2 * tx) * ch;
}

// V[xi][t][c] = (B^T d B)[xi] of the 4x4 input tile of each tile t, channels c0 .. c0+Cg.
// B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1].
template <class T>
void input_tf(const WinoPlan& p, const T* xp, int64_t c0, int64_t t0, int64_t nt, T* __restrict V) {
  const int64_t Cg = p.Cg, C = p.C, S = nt * Cg, rs = p.Wp * C;
  for (int64_t t = 0; t < nt; ++t) {
    const T* __restrict b = xp + tile_offset(p, t0 + t, p.Hp, p.Wp, C) + c0;
    T* __restrict v = V + t * Cg;
#pragma GCC ivdep
    for (int64_t c = 0; c < Cg; ++c) {
      T r[4][4];
#pragma GCC unroll 4
      for (int j = 0; j < 4; ++j) {
        const T d0 = b[0 * rs + j * C + c], d1 = b[1 * rs + j * C + c], d2 = b[2 * rs + j * C + c],
                d3 = b[3 * rs + j * C + c];
        r[0][j] = d0 - d2;
        r[1][j] = d1 + d2;
        r[2][j] = d2 - d1;
        r[3][j] = d1 - d3;
      }
#pragma GCC unroll 4
      for (int i = 0; i < 4; ++i) {
        v[(i * 4 + 0) * S + c] = r[i][0] - r[i][2];
        v[(i * 4 + 1) * S + c] = r[i][1] + r[i][2];
        v[(i * 4 + 2) * S + c] = r[i][2] - r[i][1];
        v[(i * 4 + 3) * S + c] = r[i][1] - r[i][3];
      }
    }
  }
}

// y tile = A^T M A with A^T = [1 1 1 0; 0 1 -1 -1], written to the NHWC output (edge tiles clip).
template <class T>
void output_tf(const WinoPlan& p, const T* __restrict M, int64_t o0, int64_t t0, int64_t nt, T* y) {
  const int64_t Og = p.Og, O = p.O, S = nt * Og;
  T* st = tl_buf<T>(2, size_t(4 * Og));  // one tile's 2x2 outputs, for the clipped edges
  const int64_t ti = p.th * p.tw;
  for (int64_t t = 0; t < nt; ++t) {
    const int64_t tt = t0 + t, n = tt / ti, r = tt % ti, h0 = 2 * (r / p.tw), w0 = 2 * (r % p.tw);
    const bool full = h0 + 2 <= p.Ho && w0 + 2 <= p.Wo;
    T* base = y + ((n * p.Ho + h0) * p.Wo + w0) * O + o0;
    T* __restrict y00 = full ? base : st;
    T* __restrict y01 = full ? base + O : st + Og;
    T* __restrict y10 = full ? base + p.Wo * O : st + 2 * Og;
    T* __restrict y11 = full ? base + (p.Wo + 1) * O : st + 3 * Og;
    const T* __restrict m = M + t * Og;
#pragma GCC ivdep
    for (int64_t o = 0; o < Og; ++o) {
      T s[2][4];
#pragma GCC unroll 4
      for (int j = 0; j < 4; ++j) {
        const T m0 = m[(0 + j) * S + o], m1 = m[(4 + j) * S + o], m2 = m[(8 + j) * S + o], m3 = m[(12 + j) * S + o];
        s[0][j] = m0 + m1 + m2;
        s[1][j] = m1 - m2 - m3;
      }
      y00[o] = s[0][0] + s[0][1] + s[0][2];
      y01[o] = s[0][1] - s[0][2] - s[0][3];
      y10[o] = s[1][0] + s[1][1] + s[1][2];
      y11[o] = s[1][1] - s[1][2] - s[1][3];
    }
    if (!full) {
      const size_t bytes = size_t(Og) * sizeof(T);
      std::memcpy(base, st, bytes);
      if (w0 + 1 < p.Wo) std::memcpy(base + O, st + Og, bytes);
      if (h0 + 1 < p.Ho) {
        std::memcpy(base + p.Wo * O, st + 2 * Og, bytes);
        if (w0 + 1 < p.Wo) std::memcpy(base + (p.Wo + 1) * O, st + 3 * Og, bytes);
      }
    }
  }
}

// dM[xi][t][o] = (A dy A^T)[xi] of each tile's 2x2 gradient (zero-padded NHWC [N][2th][2tw][O]).
template <class T>
void grad_tf(const WinoPlan& p, const T* gy, int64_t o0, int64_t t0, int64_t nt, T* __restrict dM) {
  const int64_t Og = p.Og, O = p.O, S = nt * Og, rs = 2 * p.tw * O;
  for (int64_t t = 0; t < nt; ++t) {
    const T* __restrict b = gy + tile_offset(p, t0 + t, 2 * p.th, 2 * p.tw, O) + o0;
    T* __restrict d = dM + t * Og;
#pragma GCC ivdep
    for (int64_t o = 0; o < Og; ++o) {
      const T g00 = b[o], g01 = b[O + o], g10 = b[rs + o], g11 = b[rs + O + o];
      const T q[2][4] = {{g00, g00 + g01, g00 - g01, -g01}, {g10, g10 + g11, g10 - g11, -g11}};
#pragma GCC unroll 4
      for (int j = 0; j < 4; ++j) {
        d[(0 + j) * S + o] = q[0][j];
        d[(4 + j) * S + o] = q[0][j] + q[1][j];
        d[(8 + j) * S + o] = q[0][j] - q[1][j];
        d[(12 + j) * S + o] = -q[1][j];
      }
    }
  }
}

template <class T>
void fwd_block(const WinoPlan& p, const T* xp, const T* U, int64_t gr, int64_t t0, int64_t nt, T* y) {
  const int64_t Cg = p.Cg, Og = p.Og;
  T* V = tl_buf<T>(0, size_t(16 * nt * Cg));
  T* M = tl_buf<T>(1, size_t(16 * nt * Og));
  input_tf(p, xp, gr * Cg, t0, nt, V);
  for (int xi = 0; xi < 16; ++xi)
    gemm_s(false, nt, Og, Cg, V + xi * nt * Cg, Cg, U + xi * Cg * Og, Og, T(0), M + xi * nt * Og, Og);
  output_tf(p, M, gr * Og, t0, nt, y);
}

template <class T>
void wgrad_block(const WinoPlan& p, const T* xp, const T* gy, int64_t gr, int64_t t0, int64_t nt, T beta, T* dU) {
  const int64_t Cg = p.Cg, Og = p.Og;
  T* V = tl_buf<T>(0, size_t(16 * nt * Cg));
  T* dM = tl_buf<T>(1, size_t(16 * nt * Og));
  input_tf(p, xp, gr * Cg, t0, nt, V);
  grad_tf(p, gy, gr * Og, t0, nt, dM);
  for (int xi = 0; xi < 16; ++xi)
    gemm_s(true, Cg, Og, nt, V + xi * nt * Cg, Cg, dM + xi * nt * Og, Og, beta, dU + xi * Cg * Og, Og);
}

}  // namespace

void wino_fwd_block_f32(const WinoPlan& p, const float* xp, const float* U, int64_t gr, int64_t t0, int64_t nt,
                        float* y) {
  fwd_block(p, xp, U, gr, t0, nt, y);
}
void wino_fwd_block_f64(const WinoPlan& p, const double* xp, const double* U, int64_t gr, int64_t t0, int64_t nt,
                        double* y) {
  fwd_block(p, xp, U, gr, t0, nt, y);
}
void wino_wgrad_block_f32(const WinoPlan& p, const float* xp, const float* gy, int64_t gr, int64_t t0, int64_t nt,
                          float beta, float* dU) {
  wgrad_block(p, xp, gy, gr, t0, nt, beta, dU);
}
void wino_wgrad_block_f64(const WinoPlan& p, const double* xp, const double* gy, int64_t gr, int64_t t0, int64_t nt,
                          double beta, double* dU) {
  wgrad_block(p, xp, gy, gr, t0, nt, beta, dU);
}

}  // namespace mg::cpu::MG_ISA
