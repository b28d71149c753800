// Winograd F(2x2, 3x3) convolution: the fast path of conv2d and its two gradients for 3x3 kernels
// with stride 1 and dilation 1 (every layer of the Omniglot conv4 network but the first).
//
// Each output tile of 2x2 pixels comes from a 4x4 input tile d:  y = A^T [ U (.) V ] A  with
// U = G g G^T (the 3x3 kernel g, transformed once per call) and V = B^T d B. Summed over input
// channels, the 16 element-wise products of the tile become 16 independent GEMMs
// M[xi] = V[xi] @ U[xi]  ([tiles x Cg] @ [Cg x Og]), 2.25x fewer multiply-adds than the direct
// convolution. The weight gradient is the adjoint:  dU[xi] = V[xi]^T @ dM[xi] with dM = A dy A^T,
// then dg = G^T dU G. The input gradient is the forward with the flipped, transposed kernel.
// Transform matrices hold only 0, +-1 and +-1/2, so float64 results stay within a few ulps of
// the direct sum.
//
// The driver (native/cpu/winograd.cc) lays the input out channels-last with the padding
// materialised (every tile read is in bounds and contiguous over channels, so the transforms
// vectorise over channels) and splits tiles into blocks over the thread pool; the per-block work
// (transforms and the 16 GEMMs) is compiled once per ISA in native/cpu/simd/winograd.cc.
#pragma once
#include <cstdint>

#include "cpu/isa.h"

namespace mg::cpu {

/** Geometry of one Winograd problem (one conv2d call, all groups). */
struct WinoPlan {
  int64_t N, C, O, G, Cg, Og;  // batch, input/output channels, groups, channels per group
  int64_t Ho, Wo;              // output size
  int64_t m;                   // output tile m x m: F(2x2, 3x3) or F(4x4, 3x3); alpha = m + 2
  int64_t th, tw;              // tiles per image along rows and columns (ceil(Ho/m), ceil(Wo/m))
  int64_t Hp, Wp;              // padded channels-last input: [N][Hp][Wp][C], Hp = m*th + 2
};

}  // namespace mg::cpu

MG_DECLARE_ISA_FNS(
  /** Rows [r0, r1) of out[n][hp][wp][c] = x[n][c][hp-ph][wp-pw] (zero outside x), Hp x Wp per image. */
  void wino_to_nhwc_f32(const float* x, int64_t C, int64_t H, int64_t W, float* out, int64_t Hp, int64_t Wp,
                        int64_t ph, int64_t pw, int64_t r0, int64_t r1);
  void wino_to_nhwc_f64(const double* x, int64_t C, int64_t H, int64_t W, double* out, int64_t Hp, int64_t Wp,
                        int64_t ph, int64_t pw, int64_t r0, int64_t r1);
  /** Units [u0, u1) (image, block of wino_transpose_tile pixels) of y[n][o][p] = yt[n][p][o] + bias[o]. */
  void wino_from_nhwc_f32(const float* yt, float* y, int64_t O, int64_t HW, const float* bias, int64_t u0, int64_t u1);
  void wino_from_nhwc_f64(const double* yt, double* y, int64_t O, int64_t HW, const double* bias, int64_t u0,
                          int64_t u1);
  /** Pixels per transpose unit for f32 (dtype 0) or f64 (1). */
  int wino_transpose_tile(int dtype);
  /** Forward for tiles [t0, t0+nt) of group gr: xp is the padded NHWC input, U the transformed
   *  weight of the group ([16][Cg][Og]), y the NHWC output [N][Ho][Wo][O]. */
  void wino_fwd_block_f32(const ::mg::cpu::WinoPlan& p, const float* xp, const float* U, int64_t gr, int64_t t0,
                          int64_t nt, float* y);
  void wino_fwd_block_f64(const ::mg::cpu::WinoPlan& p, const double* xp, const double* U, int64_t gr, int64_t t0,
                          int64_t nt, double* y);
  /** Weight gradient of tiles [t0, t0+nt) of group gr: dU = beta*dU + sum over the tiles; gy is
   *  the gradient NHWC, zero-padded to [N][2*th][2*tw][O]. */
  void wino_wgrad_block_f32(const ::mg::cpu::WinoPlan& p, const float* xp, const float* gy, int64_t gr, int64_t t0,
                            int64_t nt, float beta, float* dU);
  void wino_wgrad_block_f64(const ::mg::cpu::WinoPlan& p, const double* xp, const double* gy, int64_t gr,
                            int64_t t0, int64_t nt, double beta, double* dU);
)

namespace mg::cpu {

/** out[n][hp][wp][c] = x[n][c][hp - ph][wp - pw] (zero outside x), Hp x Wp pixels per image. */
template <class T>
void to_nhwc(const T* x, int64_t N, int64_t C, int64_t H, int64_t W, T* out, int64_t Hp, int64_t Wp, int64_t ph,
             int64_t pw);
/** y[n][o][p] = yt[n][p][o] (+ bias[o]): channels-last [N][HW][O] back to NCHW. */
template <class T>
void from_nhwc(const T* yt, T* y, int64_t N, int64_t O, int64_t HW, const T* bias);

/** Whether the Winograd path serves this conv2d geometry (and MG_CONV_WINOGRAD is not 0). */
bool winograd_applies(int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t dh, int64_t dw, int64_t ph, int64_t pw,
                      int64_t Cg, int64_t Og, int64_t Ho, int64_t Wo, bool f64);

/** y[N,O,Ho,Wo] = conv2d(x[N,C,H,W], w[O,Cg,3,3]) (+ bias), stride 1, padding (ph, pw). */
template <class T>
void winograd_conv2d(const T* x, const T* w, const T* bias, T* y, int64_t N, int64_t C, int64_t H, int64_t W,
                     int64_t O, int64_t G, int64_t ph, int64_t pw);
/** dx[N,C,H,W] = the input gradient for gy[N,O,Ho,Wo] and w[O,Cg,3,3] (requires ph, pw <= 2). */
template <class T>
void winograd_conv2d_input_grad(const T* gy, const T* w, T* dx, int64_t N, int64_t C, int64_t H, int64_t W,
                                int64_t O, int64_t G, int64_t ph, int64_t pw);
/** dw[O,Cg,3,3] = the weight gradient for gy[N,O,Ho,Wo] and x[N,C,H,W]. */
template <class T>
void winograd_conv2d_weight_grad(const T* gy, const T* x, T* dw, int64_t N, int64_t C, int64_t H, int64_t W,
                                 int64_t O, int64_t G, int64_t ph, int64_t pw);

}  // namespace mg::cpu
