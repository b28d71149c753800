// Channels-last im2col + GEMM for conv2d and its gradients (see conv_nhwc.h).
// In NHWC each kernel tap of an output pixel reads Cg contiguous channels, so a patch row of the
// im2col matrix [pixels][kh*kw*Cg] (taps outer, channels inner) is kh*kw block copies, and the
// GEMM is [pixels x K] @ [K x Og] with the weight reordered to [K][Og] once per call. Pixels are
// processed in blocks of whole images' rows over the pool (each block's columns stay in L2):
// the forward writes an NHWC result transposed back to NCHW; the input gradient multiplies by the
// transposed weight and scatter-adds the columns per image (images never share a block, so no
// two threads add into one pixel); the weight gradient sums blocks in fixed runs, then the runs
// in order (results do not depend on the thread count).
#include "cpu/conv_nhwc.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "cpu/gemm.h"
#include "cpu/parallel.h"
#include "cpu/scratch.h"
#include "cpu/winograd.h"

namespace mg::cpu {
namespace {

struct NhwcScratch {};  // slots (cpu/scratch.h): 0-2 layouts and partials, 3 a block's columns
template <class T>
T* scratch(int slot, size_t n) {
  return cpu::scratch<NhwcScratch, T>(slot, n);
}

// Output pixels per block: whole images when an image is small, up to about 512 pixels otherwise
// (a block never spans two images, for the input gradient's scatter).
struct Blocks {
  int64_t per_image, nimg;  // blocks per image; images per block (one of the two is 1)
  int64_t rows;             // pixels per block (when per_image > 1)
  int64_t count;            // blocks in all
};
Blocks blocks(const ConvGeom& g) {
  // At least 4 blocks when there are 256+ pixels, so small batches (a task's 5 support images)
  // still spread over the pool (with 4+ groups the groups do); the rule depends only on the shape
  // (results do not depend on the thread count).
  const int64_t hw = g.Ho * g.Wo, target = g.G >= 4 ? 512 : std::clamp<int64_t>(g.N * hw / 4, 64, 512);
  Blocks b;
  if (hw >= target) {
    b.per_image = (hw + target - 1) / target;
    b.rows = (hw + b.per_image - 1) / b.per_image;
    b.nimg = 1;
    b.count = g.N * b.per_image;
  } else {
    b.per_image = 1;
    b.nimg = std::max<int64_t>(1, target / hw);
    b.rows = hw;
    b.count = (g.N + b.nimg - 1) / b.nimg;
  }
  return b;
}

// The pixel range [p0, p1) of block q as global pixel indices n*HWo + p.
void block_range(const ConvGeom& g, const Blocks& b, int64_t q, int64_t* p0, int64_t* p1) {
  const int64_t hw = g.Ho * g.Wo;
  if (b.per_image > 1) {
    const int64_t n = q / b.per_image, r = q % b.per_image;
    *p0 = n * hw + r * b.rows;
    *p1 = n * hw + std::min(hw, (r + 1) * b.rows);
  } else {
    *p0 = q * b.nimg * hw;
    *p1 = std::min(g.N, (q + 1) * b.nimg) * hw;
  }
}

// col[r][(i*kw + j)*Cg + c] = x[n][ih][iw][gr*Cg + c] (zero outside) for pixels [p0, p1).
template <class T>
void im2col(const ConvGeom& g, const T* xt, int64_t gr, int64_t p0, int64_t p1, T* col) {
  const int64_t hw = g.Ho * g.Wo, K = g.kh * g.kw * g.Cg;
  for (int64_t p = p0; p < p1; ++p) {
    const int64_t n = p / hw, oh = (p % hw) / g.Wo, ow = p % g.Wo;
    T* row = col + (p - p0) * K;
    for (int64_t i = 0; i < g.kh; ++i) {
      const int64_t ih = oh * g.sh - g.ph + i * g.dh;
      for (int64_t j = 0; j < g.kw; ++j) {
        const int64_t iw = ow * g.sw - g.pw + j * g.dw;
        T* d = row + (i * g.kw + j) * g.Cg;
        if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W) std::fill(d, d + g.Cg, T(0));
        else std::memcpy(d, xt + ((n * g.H + ih) * g.W + iw) * g.C + gr * g.Cg, size_t(g.Cg) * sizeof(T));
      }
    }
  }
}

// The adjoint: dxt[n][ih][iw][gr*Cg + c] += col[r][(i*kw + j)*Cg + c].
template <class T>
void col2im(const ConvGeom& g, const T* col, int64_t gr, int64_t p0, int64_t p1, T* dxt) {
  const int64_t hw = g.Ho * g.Wo, K = g.kh * g.kw * g.Cg;
  for (int64_t p = p0; p < p1; ++p) {
    const int64_t n = p / hw, oh = (p % hw) / g.Wo, ow = p % g.Wo;
    const T* row = col + (p - p0) * K;
    for (int64_t i = 0; i < g.kh; ++i) {
      const int64_t ih = oh * g.sh - g.ph + i * g.dh;
      if (ih < 0 || ih >= g.H) continue;
      for (int64_t j = 0; j < g.kw; ++j) {
        const int64_t iw = ow * g.sw - g.pw + j * g.dw;
        if (iw < 0 || iw >= g.W) continue;
        const T* s = row + (i * g.kw + j) * g.Cg;
        T* d = dxt + ((n * g.H + ih) * g.W + iw) * g.C + gr * g.Cg;
        for (int64_t c = 0; c < g.Cg; ++c) d[c] += s[c];
      }
    }
  }
}

// wt[gr][(i*kw + j)*Cg + c][o] = w[gr*Og + o][c][i][j]; tasks over (group, channel) write rows of o.
template <class T>
void weight_kxo(const ConvGeom& g, const T* w, T* wt) {
  const int64_t K = g.kh * g.kw * g.Cg, kk = g.kh * g.kw;
  parallel_for(g.G * g.Cg, std::max<int64_t>(1, 4096 / (kk * g.Og)), [&](int64_t b, int64_t e) {
    for (int64_t u = b; u < e; ++u) {
      const int64_t gr = u / g.Cg, c = u % g.Cg;
      for (int64_t t = 0; t < kk; ++t) {
        T* d = wt + (gr * K + t * g.Cg + c) * g.Og;
        const T* s = w + (gr * g.Og * g.Cg + c) * kk + t;
        for (int64_t o = 0; o < g.Og; ++o) d[o] = s[o * g.Cg * kk];
      }
    }
  });
}

// wok[gr][o][(i*kw + j)*Cg + c] = w[gr*Og + o][c][i][j]: the weight as [Og][K] rows, for the input
// gradient's GEMM (an untransposed B needs no packing).
template <class T>
void weight_oxk(const ConvGeom& g, const T* w, T* wok) {
  const int64_t K = g.kh * g.kw * g.Cg, kk = g.kh * g.kw;
  parallel_for(g.G * g.Og, std::max<int64_t>(1, 4096 / K), [&](int64_t b, int64_t e) {
    for (int64_t u = b; u < e; ++u) {
      const T* s = w + u * g.Cg * kk;
      T* d = wok + u * K;
      for (int64_t c = 0; c < g.Cg; ++c)
        for (int64_t t = 0; t < kk; ++t) d[t * g.Cg + c] = s[c * kk + t];
    }
  });
}

}  // namespace

bool nhwc_applies(const ConvGeom& g) {
  if (g.Cg < 16 || g.Og < 16) return false;
  const char* s = std::getenv("MG_CONV_NHWC");  // read on every call: tests compare both paths
  return !(s && s[0] == '0');
}

template <class T>
void nhwc_conv2d(const ConvGeom& g, const T* x, const T* w, const T* bias, T* y) {
  const int64_t K = g.kh * g.kw * g.Cg, hw = g.Ho * g.Wo;
  T* xt = scratch<T>(0, size_t(g.N * g.H * g.W * g.C));
  T* wt = scratch<T>(1, size_t(g.G * K * g.Og));
  T* yt = scratch<T>(2, size_t(g.N * hw * g.O));
  to_nhwc(x, g.N, g.C, g.H, g.W, xt, g.H, g.W, int64_t(0), int64_t(0));
  weight_kxo(g, w, wt);
  const Blocks b = blocks(g);
  const int64_t maxrows = b.per_image > 1 ? b.rows : b.nimg * hw;
  parallel_for(g.G * b.count, 1, [&](int64_t lo, int64_t hi) {
    T* col = scratch<T>(3, size_t(maxrows * K));
    for (int64_t u = lo; u < hi; ++u) {
      const int64_t gr = u / b.count;
      int64_t p0, p1;
      block_range(g, b, u % b.count, &p0, &p1);
      im2col(g, xt, gr, p0, p1, col);
      // K in slices of at most 384: each GEMM then takes the unpacked path (A read in place, the
      // 64-wide B rows as they are), which skips re-packing the columns just written.
      const int64_t ks = (K + 383) / 384, kc = (K + ks - 1) / ks;
      for (int64_t k0 = 0; k0 < K; k0 += kc)
        gemm<T>(false, false, p1 - p0, g.Og, std::min(kc, K - k0), T(1), col + k0, K, wt + (gr * K + k0) * g.Og, g.Og,
                k0 == 0 ? T(0) : T(1), yt + p0 * g.O + gr * g.Og, g.O);
    }
  });
  from_nhwc(yt, y, g.N, g.O, hw, bias);
}

template <class T>
void nhwc_conv2d_input_grad(const ConvGeom& g, const T* gy, const T* w, T* dx) {
  const int64_t K = g.kh * g.kw * g.Cg, hw = g.Ho * g.Wo;
  T* gt = scratch<T>(0, size_t(g.N * hw * g.O));
  T* wok = scratch<T>(1, size_t(g.G * K * g.Og));
  T* dxt = scratch<T>(2, size_t(g.N * g.H * g.W * g.C));
  to_nhwc(gy, g.N, g.O, g.Ho, g.Wo, gt, g.Ho, g.Wo, int64_t(0), int64_t(0));
  weight_oxk(g, w, wok);
  std::memset(dxt, 0, size_t(g.N * g.H * g.W * g.C) * sizeof(T));
  const Blocks b = blocks(g);
  const int64_t maxrows = b.per_image > 1 ? b.rows : b.nimg * hw;
  // Blocks of one image run on one thread in order (their columns overlap in dx).
  const int64_t units = b.per_image > 1 ? g.N : b.count;
  parallel_for(g.G * units, 1, [&](int64_t lo, int64_t hi) {
    T* col = scratch<T>(3, size_t(maxrows * K));
    for (int64_t u = lo; u < hi; ++u) {
      const int64_t gr = u / units, v = u % units;
      const int64_t q0 = b.per_image > 1 ? v * b.per_image : v, q1 = b.per_image > 1 ? q0 + b.per_image : v + 1;
      for (int64_t q = q0; q < q1; ++q) {
        int64_t p0, p1;
        block_range(g, b, q, &p0, &p1);
        gemm<T>(false, false, p1 - p0, K, g.Og, T(1), gt + p0 * g.O + gr * g.Og, g.O, wok + gr * g.Og * K, K, T(0), col, K);
        col2im(g, col, gr, p0, p1, dxt);
      }
    }
  });
  from_nhwc(dxt, dx, g.N, g.C, g.H * g.W, static_cast<const T*>(nullptr));
}

template <class T>
void nhwc_conv2d_weight_grad(const ConvGeom& g, const T* gy, const T* x, T* dw) {
  const int64_t K = g.kh * g.kw * g.Cg, hw = g.Ho * g.Wo, WS = K * g.Og, kk = g.kh * g.kw;
  T* xt = scratch<T>(0, size_t(g.N * g.H * g.W * g.C));
  T* gt = scratch<T>(1, size_t(g.N * hw * g.O));
  to_nhwc(x, g.N, g.C, g.H, g.W, xt, g.H, g.W, int64_t(0), int64_t(0));
  to_nhwc(gy, g.N, g.O, g.Ho, g.Wo, gt, g.Ho, g.Wo, int64_t(0), int64_t(0));
  const Blocks b = blocks(g);
  const int64_t maxrows = b.per_image > 1 ? b.rows : b.nimg * hw;
  int64_t P = g.G >= 4 ? 1 : std::min<int64_t>(b.count, 4);  // 4+ groups: the groups are the parallel work
  while (P > 1 && double(g.G * P * WS) * sizeof(T) > double(64 << 20)) --P;
  T* part = scratch<T>(2, size_t(g.G * P * WS));  // [gr][run][K][o]
  parallel_for(g.G * P, 1, [&](int64_t lo, int64_t hi) {
    T* col = scratch<T>(3, size_t(maxrows * K));
    for (int64_t u = lo; u < hi; ++u) {
      const int64_t gr = u / P, r = u % P, q0 = r * b.count / P, q1 = (r + 1) * b.count / P;
      T* acc = part + u * WS;
      for (int64_t q = q0; q < q1; ++q) {
        int64_t p0, p1;
        block_range(g, b, q, &p0, &p1);
        im2col(g, xt, gr, p0, p1, col);
        // acc[K][Og] += col^T @ gy, pixels in slices of at most 384 (the unpacked GEMM path: the
        // result is only 64 wide).
        const int64_t rows = p1 - p0, rs = (rows + 383) / 384, rc = (rows + rs - 1) / rs;
        for (int64_t r0 = 0; r0 < rows; r0 += rc)
          gemm<T>(true, false, K, g.Og, std::min(rc, rows - r0), T(1), col + r0 * K, K, gt + (p0 + r0) * g.O + gr * g.Og,
                  g.O, q == q0 && r0 == 0 ? T(0) : T(1), acc, g.Og);
      }
    }
  });
  // dw[gr*Og + o][c][t] = sum over runs (in order) of part[gr][run][t*Cg + c][o]
  parallel_for(g.G * g.Og, 16, [&](int64_t lo, int64_t hi) {
    for (int64_t u = lo; u < hi; ++u) {
      const int64_t gr = u / g.Og, o = u % g.Og;
      for (int64_t t = 0; t < kk; ++t)
        for (int64_t c = 0; c < g.Cg; ++c) {
          T s = T(0);
          for (int64_t r = 0; r < P; ++r) s += part[(gr * P + r) * WS + (t * g.Cg + c) * g.Og + o];
          dw[(u * g.Cg + c) * kk + t] = s;
        }
    }
  });
}

template void nhwc_conv2d<float>(const ConvGeom&, const float*, const float*, const float*, float*);
template void nhwc_conv2d<double>(const ConvGeom&, const double*, const double*, const double*, double*);
template void nhwc_conv2d_input_grad<float>(const ConvGeom&, const float*, const float*, float*);
template void nhwc_conv2d_input_grad<double>(const ConvGeom&, const double*, const double*, double*);
template void nhwc_conv2d_weight_grad<float>(const ConvGeom&, const float*, const float*, float*);
template void nhwc_conv2d_weight_grad<double>(const ConvGeom&, const double*, const double*, double*);

}  // namespace mg::cpu
