// Winograd F(2x2, 3x3) driver: layouts, weight transforms and the split of tiles over threads.
// The per-block transforms and GEMMs are in native/cpu/simd/winograd.cc; see cpu/winograd.h.
#include "cpu/winograd.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "cpu/parallel.h"
#include "cpu/scratch.h"

namespace mg::cpu {
namespace {

struct WinoScratch {};  // slots (cpu/scratch.h): 0 padded input, 1 U or gradient, 2 output or partials, 3 flipped weight
template <class T>
T* scratch(int slot, size_t n) {
  return cpu::scratch<WinoScratch, T>(slot, n);
}

// out[n][hp][wp][c] = x[n][c][hp - ph][wp - pw], zero outside x: the channels-last copy with its
// padding materialised, Hp x Wp pixels per image.
inline void nhwc_rows(const float* x, int64_t C, int64_t H, int64_t W, float* out, int64_t Hp, int64_t Wp, int64_t ph,
                      int64_t pw, int64_t r0, int64_t r1) {
  MG_ISA_CALL(wino_to_nhwc_f32, x, C, H, W, out, Hp, Wp, ph, pw, r0, r1);
}
inline void nhwc_rows(const double* x, int64_t C, int64_t H, int64_t W, double* out, int64_t Hp, int64_t Wp,
                      int64_t ph, int64_t pw, int64_t r0, int64_t r1) {
  MG_ISA_CALL(wino_to_nhwc_f64, x, C, H, W, out, Hp, Wp, ph, pw, r0, r1);
}
// The 1-D kernel transform G (3 -> alpha) and its adjoint G^T (alpha -> 3).
// F(2,3): G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1].
// F(4,3): G = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6; 1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1].
template <class T>
inline void g1d(int m, const T* g, T* u) {
  if (m == 2) {
    u[0] = g[0];
    u[1] = T(0.5) * (g[0] + g[1] + g[2]);
    u[2] = T(0.5) * (g[0] - g[1] + g[2]);
    u[3] = g[2];
  } else {
    constexpr T k4 = T(1) / T(4), k6 = T(1) / T(6), k12 = T(1) / T(12), k24 = T(1) / T(24);
    u[0] = g[0] * k4;
    u[1] = -(g[0] + g[1] + g[2]) * k6;
    u[2] = -(g[0] - g[1] + g[2]) * k6;
    u[3] = g[0] * k24 + g[1] * k12 + g[2] * k6;
    u[4] = g[0] * k24 - g[1] * k12 + g[2] * k6;
    u[5] = g[2];
  }
}
template <class T>
inline void gt1d(int m, const T* u, T* g) {
  if (m == 2) {
    g[0] = u[0] + T(0.5) * (u[1] + u[2]);
    g[1] = T(0.5) * (u[1] - u[2]);
    g[2] = T(0.5) * (u[1] + u[2]) + u[3];
  } else {
    constexpr T k4 = T(1) / T(4), k6 = T(1) / T(6), k12 = T(1) / T(12), k24 = T(1) / T(24);
    g[0] = u[0] * k4 - (u[1] + u[2]) * k6 + (u[3] + u[4]) * k24;
    g[1] = (u[2] - u[1]) * k6 + (u[3] - u[4]) * k12;
    g[2] = (u[3] + u[4] - u[1] - u[2]) * k6 + u[5];
  }
}

// U[gr][xi][c][o] = (G g G^T)[xi] for g = w[gr*Og + o][c]. Tasks over (group, channel): the
// channel's kernels are gathered to [tap][o] rows, then every step of the transform is a loop over
// o (vectorised), writing each xi plane's row contiguously.
template <int M, class T>
void weight_tf_rows(const T* w, int64_t gr, int64_t c, int64_t Cg, int64_t Og, T* U, std::vector<T>& tmp) {
  constexpr int A = M + 2;
  tmp.resize(size_t((9 + 3 * A + A * A) * Og));
  T* g = tmp.data();          // [9][Og]
  T* r = g + 9 * Og;          // [A][3][Og]: G g
  for (int64_t o = 0; o < Og; ++o)
    for (int k = 0; k < 9; ++k) g[k * Og + o] = w[((gr * Og + o) * Cg + c) * 9 + k];
  T* dst = U + gr * A * A * Cg * Og + c * Og;
  for (int j = 0; j < 3; ++j) {
    T col[3], out[A];
    for (int64_t o = 0; o < Og; ++o) {
      for (int i = 0; i < 3; ++i) col[i] = g[(i * 3 + j) * Og + o];
      g1d(M, col, out);
      for (int i = 0; i < A; ++i) r[(i * 3 + j) * Og + o] = out[i];
    }
  }
  for (int i = 0; i < A; ++i) {
    T row[3], out[A];
    for (int64_t o = 0; o < Og; ++o) {
      for (int j = 0; j < 3; ++j) row[j] = r[(i * 3 + j) * Og + o];
      g1d(M, row, out);
      for (int j = 0; j < A; ++j) dst[(i * A + j) * Cg * Og + o] = out[j];
    }
  }
}

// dw[gr*Og + o][c][3x3] = G^T m G for the transformed gradient m = dU[gr] ([xi][c][o]), one c.
template <int M, class T>
void weight_grad_rows(const T* dU, int64_t gr, int64_t c, int64_t Cg, int64_t Og, T* dw, std::vector<T>& tmp) {
  constexpr int A = M + 2;
  tmp.resize(size_t((3 * A + 9) * Og));
  T* q = tmp.data();        // [3][A][Og]: G^T m
  T* d = q + 3 * A * Og;    // [9][Og]
  const T* m = dU + c * Og;
  for (int j = 0; j < A; ++j) {
    T col[A], out[3];
    for (int64_t o = 0; o < Og; ++o) {
      for (int i = 0; i < A; ++i) col[i] = m[(i * A + j) * Cg * Og + o];
      gt1d(M, col, out);
      for (int a = 0; a < 3; ++a) q[(a * A + j) * Og + o] = out[a];
    }
  }
  for (int a = 0; a < 3; ++a) {
    T row[A], out[3];
    for (int64_t o = 0; o < Og; ++o) {
      for (int j = 0; j < A; ++j) row[j] = q[(a * A + j) * Og + o];
      gt1d(M, row, out);
      for (int bb = 0; bb < 3; ++bb) d[(a * 3 + bb) * Og + o] = out[bb];
    }
  }
  for (int64_t o = 0; o < Og; ++o)
    for (int k = 0; k < 9; ++k) dw[((gr * Og + o) * Cg + c) * 9 + k] = d[k * Og + o];
}

template <class T>
void weight_tf(int m, const T* w, int64_t G, int64_t Cg, int64_t Og, T* U) {
  parallel_for(G * Cg, grain_for(Og * (m + 2) * (m + 2)), [&](int64_t b, int64_t e) {
    thread_local std::vector<T> tmp;
    for (int64_t u = b; u < e; ++u) {
      if (m == 4) weight_tf_rows<4>(w, u / Cg, u % Cg, Cg, Og, U, tmp);
      else weight_tf_rows<2>(w, u / Cg, u % Cg, Cg, Og, U, tmp);
    }
  });
}

// F(4x4, 3x3) needs fewer products on maps of 6+ (2.25 per output against F(2x2)'s 4, less the
// waste of clipped edge tiles) but rounds more (its transforms hold 1/6, 1/24, 4, 8: float32
// results within about 1e-5 of the largest output instead of 1e-6). float32 takes the tile size
// with the fewest products, F(2x2) on ties; float64, kept for checking to full precision, takes
// F(2x2) (errors of a few ulps). MG_CONV_WINOGRAD=2 or 4 forces one (tests).
int choose_m(int64_t Ho, int64_t Wo, bool f64) {
  if (const char* s = std::getenv("MG_CONV_WINOGRAD")) {
    if (s[0] == '2') return 2;
    if (s[0] == '4') return 4;
  }
  if (f64) return 2;
  const int64_t p2 = ((Ho + 1) / 2) * ((Wo + 1) / 2) * 16, p4 = ((Ho + 3) / 4) * ((Wo + 3) / 4) * 36;
  return p4 < p2 ? 4 : 2;
}

WinoPlan plan(int64_t N, int64_t C, int64_t H, int64_t W, int64_t O, int64_t G, int64_t ph, int64_t pw, bool f64) {
  WinoPlan p;
  p.N = N; p.C = C; p.O = O; p.G = G; p.Cg = C / G; p.Og = O / G;
  p.Ho = H + 2 * ph - 2; p.Wo = W + 2 * pw - 2;
  p.m = choose_m(p.Ho, p.Wo, f64);
  p.th = (p.Ho + p.m - 1) / p.m; p.tw = (p.Wo + p.m - 1) / p.m;
  p.Hp = p.m * p.th + 2; p.Wp = p.m * p.tw + 2;
  return p;
}

// Tiles per block: the block's transformed tiles ([16][tiles][Cg] and [16][tiles][Og]) stay in
// L2; a multiple of the GEMM row tiles (14 with AVX-512, 6 with AVX2). Blocks are evened out.
template <class T>
void blocks(int m, int64_t tiles, int64_t groups, int64_t* nblk, int64_t* tb) {
  const int64_t target = (sizeof(T) == 4 ? 126 : 84) * 16 / ((m + 2) * (m + 2)) / 14 * 14 + 14;
  *nblk = std::max<int64_t>(1, (tiles + target - 1) / target);
  // A multiple of 4 blocks (of at least 14 tiles), so 2 or 4 threads get equal shares (with 4+
  // groups the groups spread the work); the count depends only on the shape (the weight
  // gradient's sums do not depend on the thread count).
  if (groups < 4 && (*nblk > 1 || tiles >= 4 * 14)) *nblk = std::min<int64_t>((*nblk + 3) / 4 * 4, std::max<int64_t>(1, tiles / 14));
  *tb = (tiles + *nblk - 1) / *nblk;
}

inline void fwd_block(const WinoPlan& p, const float* xp, const float* U, int64_t gr, int64_t t0, int64_t nt, float* y) {
  MG_ISA_CALL(wino_fwd_block_f32, p, xp, U, gr, t0, nt, y);
}
inline void fwd_block(const WinoPlan& p, const double* xp, const double* U, int64_t gr, int64_t t0, int64_t nt,
                      double* y) {
  MG_ISA_CALL(wino_fwd_block_f64, p, xp, U, gr, t0, nt, y);
}
inline void wgrad_block(const WinoPlan& p, const float* xp, const float* gy, int64_t gr, int64_t t0, int64_t nt,
                        float beta, float* dU) {
  MG_ISA_CALL(wino_wgrad_block_f32, p, xp, gy, gr, t0, nt, beta, dU);
}
inline void wgrad_block(const WinoPlan& p, const double* xp, const double* gy, int64_t gr, int64_t t0, int64_t nt,
                        double beta, double* dU) {
  MG_ISA_CALL(wino_wgrad_block_f64, p, xp, gy, gr, t0, nt, beta, dU);
}

}  // namespace

template <class T>
void to_nhwc(const T* x, int64_t N, int64_t C, int64_t H, int64_t W, T* out, int64_t Hp, int64_t Wp, int64_t ph,
             int64_t pw) {
  parallel_for(N * Hp, grain_for(Wp * C), [&](int64_t b, int64_t e) { nhwc_rows(x, C, H, W, out, Hp, Wp, ph, pw, b, e); });
}

// y[n][o][p] = yt[n][p][o] (+ bias[o]): the NHWC result back to NCHW.
inline void nchw_units(const float* yt, float* y, int64_t O, int64_t HW, const float* bias, int64_t u0, int64_t u1) {
  MG_ISA_CALL(wino_from_nhwc_f32, yt, y, O, HW, bias, u0, u1);
}
inline void nchw_units(const double* yt, double* y, int64_t O, int64_t HW, const double* bias, int64_t u0, int64_t u1) {
  MG_ISA_CALL(wino_from_nhwc_f64, yt, y, O, HW, bias, u0, u1);
}
template <class T>
void from_nhwc(const T* yt, T* y, int64_t N, int64_t O, int64_t HW, const T* bias) {
  const int64_t K = MG_ISA_CALL(wino_transpose_tile, sizeof(T) == 4 ? 0 : 1), units = N * ((HW + K - 1) / K);
  parallel_for(units, grain_for(K * O), [&](int64_t b, int64_t e) { nchw_units(yt, y, O, HW, bias, b, e); });
}

bool winograd_applies(int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t dh, int64_t dw, int64_t ph, int64_t pw,
                      int64_t Cg, int64_t Og, int64_t Ho, int64_t Wo, bool f64) {
  if (kh != 3 || kw != 3 || sh != 1 || sw != 1 || dh != 1 || dw != 1) return false;
  if (ph > 2 || pw > 2 || Cg < 16 || Og < 16 || Ho < 3 || Wo < 3) return false;
  const char* s = std::getenv("MG_CONV_WINOGRAD");  // read on every call: tests compare both paths
  if (s && s[0] == '0') return false;
  // Maps under 4x4 waste most of F(2x2)'s tiles (a 3x3 map computes 16 outputs for 9): there the
  // channels-last GEMM path wins, but one F(4x4) tile (36 products against the direct 81) beats
  // both, so 3x3 maps take Winograd only when F(4x4) is chosen (measured on conv4's 3x3 layer).
  return (Ho >= 4 && Wo >= 4) || choose_m(Ho, Wo, f64) == 4;
}

template <class T>
void winograd_conv2d(const T* x, const T* w, const T* bias, T* y, int64_t N, int64_t C, int64_t H, int64_t W,
                     int64_t O, int64_t G, int64_t ph, int64_t pw) {
  const WinoPlan p = plan(N, C, H, W, O, G, ph, pw, sizeof(T) == 8);
  T* xp = scratch<T>(0, size_t(N * p.Hp * p.Wp * C));
  const int64_t AA = (p.m + 2) * (p.m + 2);
  T* U = scratch<T>(1, size_t(G * AA * p.Cg * p.Og));
  T* yt = scratch<T>(2, size_t(N * p.Ho * p.Wo * O));
  to_nhwc(x, N, C, H, W, xp, p.Hp, p.Wp, ph, pw);
  weight_tf(p.m, w, G, p.Cg, p.Og, U);
  int64_t nblk, tb;
  const int64_t tiles = N * p.th * p.tw;
  blocks<T>(p.m, tiles, G, &nblk, &tb);
  parallel_for(G * nblk, 1, [&](int64_t b, int64_t e) {
    for (int64_t u = b; u < e; ++u) {
      const int64_t gr = u / nblk, t0 = (u % nblk) * tb, nt = std::min(tb, tiles - t0);
      if (nt > 0) fwd_block(p, xp, U + gr * AA * p.Cg * p.Og, gr, t0, nt, yt);
    }
  });
  from_nhwc(yt, y, N, O, p.Ho * p.Wo, bias);
}

template <class T>
void winograd_conv2d_input_grad(const T* gy, const T* w, T* dx, int64_t N, int64_t C, int64_t H, int64_t W,
                                int64_t O, int64_t G, int64_t ph, int64_t pw) {
  // dx = conv2d(gy, w') with w'[gr*Cg + c][o] = w[gr*Og + o][c] rotated by 180 degrees, padding 2 - p.
  const int64_t Cg = C / G, Og = O / G;
  T* wt = scratch<T>(3, size_t(C * Og * 9));
  for (int64_t gr = 0; gr < G; ++gr)
    for (int64_t o = 0; o < Og; ++o)
      for (int64_t c = 0; c < Cg; ++c) {
        const T* s = w + ((gr * Og + o) * Cg + c) * 9;
        T* d = wt + ((gr * Cg + c) * Og + o) * 9;
        for (int k = 0; k < 9; ++k) d[k] = s[8 - k];
      }
  const int64_t Ho = H + 2 * ph - 2, Wo = W + 2 * pw - 2;
  winograd_conv2d<T>(gy, wt, nullptr, dx, N, O, Ho, Wo, C, G, 2 - ph, 2 - pw);
}

template <class T>
void winograd_conv2d_weight_grad(const T* gy, const T* x, T* dw, int64_t N, int64_t C, int64_t H, int64_t W,
                                 int64_t O, int64_t G, int64_t ph, int64_t pw) {
  const WinoPlan p = plan(N, C, H, W, O, G, ph, pw, sizeof(T) == 8);
  const int A = p.m + 2;
  const int64_t Cg = p.Cg, Og = p.Og, US = A * A * Cg * Og;
  T* xp = scratch<T>(0, size_t(N * p.Hp * p.Wp * C));
  T* gp = scratch<T>(1, size_t(N * p.m * p.m * p.th * p.tw * O));
  to_nhwc(x, N, C, H, W, xp, p.Hp, p.Wp, ph, pw);
  to_nhwc(gy, N, O, p.Ho, p.Wo, gp, p.m * p.th, p.m * p.tw, int64_t(0), int64_t(0));
  int64_t nblk, tb;
  const int64_t tiles = N * p.th * p.tw;
  blocks<T>(p.m, tiles, G, &nblk, &tb);
  // Blocks are summed in P fixed runs, each into its own partial, and the partials in order: the
  // result depends only on the shapes, not on the thread count. P is capped by memory.
  int64_t P = G >= 4 ? 1 : std::min<int64_t>(nblk, 4);  // 4+ groups: the groups are the parallel work
  while (P > 1 && double(G * P * US) * sizeof(T) > double(64 << 20)) --P;
  T* part = scratch<T>(2, size_t(G * P * US));
  parallel_for(G * P, 1, [&](int64_t b, int64_t e) {
    for (int64_t u = b; u < e; ++u) {
      const int64_t gr = u / P, r = u % P, b0 = r * nblk / P, b1 = (r + 1) * nblk / P;
      T* acc = part + u * US;
      for (int64_t blk = b0; blk < b1; ++blk) {
        const int64_t t0 = blk * tb, nt = std::min(tb, tiles - t0);
        wgrad_block(p, xp, gp, gr, t0, nt, blk == b0 ? T(0) : T(1), acc);
      }
    }
  });
  // Partials summed in order into the first of each group (contiguous, vectorised), then
  // dw[gr*Og + o][c] = G^T m G for each (c, o), G^T = [1 .5 .5 0; 0 .5 -.5 0; 0 .5 .5 1].
  if (P > 1) {
    constexpr int64_t kRun = 4096;  // contiguous runs of one group's partials
    const int64_t runs = (US + kRun - 1) / kRun;
    parallel_for(G * runs, 1, [&](int64_t b, int64_t e) {
      for (int64_t u = b; u < e; ++u) {
        const int64_t gr = u / runs, k0 = (u % runs) * kRun, k1 = std::min(US, k0 + kRun);
        T* d = part + gr * P * US;
        for (int64_t r = 1; r < P; ++r) {
          const T* src = d + r * US;
          for (int64_t k = k0; k < k1; ++k) d[k] += src[k];
        }
      }
    });
  }
  // dw[gr*Og + o][c] = G^T m G for each (c, o), as loops over o (vectorised).
  parallel_for(G * Cg, grain_for(Og * A * A), [&](int64_t b, int64_t e) {
    thread_local std::vector<T> tmp;
    for (int64_t u = b; u < e; ++u) {
      if (p.m == 4) weight_grad_rows<4>(part + (u / Cg) * P * US, u / Cg, u % Cg, Cg, Og, dw, tmp);
      else weight_grad_rows<2>(part + (u / Cg) * P * US, u / Cg, u % Cg, Cg, Og, dw, tmp);
    }
  });
}

template void to_nhwc<float>(const float*, int64_t, int64_t, int64_t, int64_t, float*, int64_t, int64_t, int64_t, int64_t);
template void to_nhwc<double>(const double*, int64_t, int64_t, int64_t, int64_t, double*, int64_t, int64_t, int64_t, int64_t);
template void from_nhwc<float>(const float*, float*, int64_t, int64_t, int64_t, const float*);
template void from_nhwc<double>(const double*, double*, int64_t, int64_t, int64_t, const double*);
template void winograd_conv2d<float>(const float*, const float*, const float*, float*, int64_t, int64_t, int64_t,
                                     int64_t, int64_t, int64_t, int64_t, int64_t);
template void winograd_conv2d<double>(const double*, const double*, const double*, double*, int64_t, int64_t, int64_t,
                                      int64_t, int64_t, int64_t, int64_t, int64_t);
template void winograd_conv2d_input_grad<float>(const float*, const float*, float*, int64_t, int64_t, int64_t, int64_t,
                                                int64_t, int64_t, int64_t, int64_t);
template void winograd_conv2d_input_grad<double>(const double*, const double*, double*, int64_t, int64_t, int64_t,
                                                 int64_t, int64_t, int64_t, int64_t, int64_t);
template void winograd_conv2d_weight_grad<float>(const float*, const float*, float*, int64_t, int64_t, int64_t, int64_t,
                                                 int64_t, int64_t, int64_t, int64_t);
template void winograd_conv2d_weight_grad<double>(const double*, const double*, double*, int64_t, int64_t, int64_t,
                                                  int64_t, int64_t, int64_t, int64_t, int64_t);

}  // namespace mg::cpu
