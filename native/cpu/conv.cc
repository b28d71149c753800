// CPU kernels for 2-D convolution (NCHW, weight [O, C/groups, kh, kw]) and its two gradients.
// Each image (or, for small output maps, a few images) and group is one GEMM on an im2col buffer,
// skipped for 1x1/stride-1/no-pad kernels. Images are split over the pool; each parallel range
// owns one column buffer sized once per call, and the GEMMs inside run single-threaded (nested
// parallel regions run inline).
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "core/dispatch.h"
#include "cpu/gemm.h"
#include "cpu/parallel.h"

namespace mg::cpu {
namespace {

struct ConvGeom {
  int64_t N, C, H, W;      // input
  int64_t O, Cg, Og, G;    // channels per group
  int64_t kh, kw, Ho, Wo;  // kernel and output
  int64_t sh, sw, ph, pw, dh, dw;
  int64_t K() const { return Cg * kh * kw; }
  int64_t HWi() const { return H * W; }
  int64_t HWo() const { return Ho * Wo; }
  bool pointwise() const { return kh == 1 && kw == 1 && sh == 1 && sw == 1 && ph == 0 && pw == 0; }
};

[[noreturn]] void fail(const char* op, const std::string& msg) { throw Error(std::string(op) + ": " + msg); }

void check_float4(const char* op, const char* what, const Tensor& t) {
  if (t.device() != Device::CPU) fail(op, std::string(what) + " is not on the CPU");
  if (t.dtype == DType::I32) fail(op, std::string(what) + " must be float32 or float64");
  if (t.shape.ndim != 4) fail(op, std::string(what) + " " + t.shape.str() + " must be 4-D");
}

int64_t out_size(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d) {
  int64_t span = d * (k - 1) + 1;
  if (in + 2 * p < span) return -1;
  return (in + 2 * p - span) / s + 1;
}

// Fills the geometry from the input shape `xs`, the weight shape `ws` and attrs
// [sh, sw, ph, pw, dh, dw, groups]; checks everything memory safety depends on.
ConvGeom geometry(const char* op, const Shape& xs, const Shape& ws, const double* at) {
  ConvGeom g;
  g.N = xs[0]; g.C = xs[1]; g.H = xs[2]; g.W = xs[3];
  g.O = ws[0]; g.Cg = ws[1]; g.kh = ws[2]; g.kw = ws[3];
  g.sh = int64_t(at[0]); g.sw = int64_t(at[1]); g.ph = int64_t(at[2]); g.pw = int64_t(at[3]);
  g.dh = int64_t(at[4]); g.dw = int64_t(at[5]); g.G = int64_t(at[6]);
  if (g.sh < 1 || g.sw < 1 || g.dh < 1 || g.dw < 1 || g.ph < 0 || g.pw < 0 || g.G < 1)
    fail(op, "bad stride, padding, dilation or groups");
  if (g.kh < 1 || g.kw < 1) fail(op, "weight " + ws.str() + " has an empty kernel");
  if (g.C != g.Cg * g.G || g.O % g.G != 0)
    fail(op, "input " + xs.str() + " and weight " + ws.str() + " do not match with groups " + std::to_string(g.G));
  g.Og = g.O / g.G;
  g.Ho = out_size(g.H, g.kh, g.sh, g.ph, g.dh);
  g.Wo = out_size(g.W, g.kw, g.sw, g.pw, g.dw);
  if (g.Ho < 1 || g.Wo < 1) fail(op, "kernel of weight " + ws.str() + " is larger than the padded input " + xs.str());
  return g;
}

Shape shape4(int64_t a, int64_t b, int64_t c, int64_t d) {
  Shape s;
  s.ndim = 4;
  s.d[0] = a; s.d[1] = b; s.d[2] = c; s.d[3] = d;
  return s;
}

// col[(c*kh + i)*kw + j][oh*Wo + ow] = x[c][oh*sh - ph + i*dh][ow*sw - pw + j*dw] (0 outside);
// `ld` is the row stride of col (larger than Ho*Wo when several images share one GEMM).
template <class T>
void im2col(const ConvGeom& g, const T* x, T* col, int64_t ld) {
  const int64_t HWo = ld;
  for (int64_t c = 0; c < g.Cg; ++c) {
    const T* xc = x + c * g.HWi();
    for (int64_t i = 0; i < g.kh; ++i) {
      for (int64_t j = 0; j < g.kw; ++j) {
        T* row = col + ((c * g.kh + i) * g.kw + j) * HWo;
        const int64_t woff = j * g.dw - g.pw;
        // Output columns whose input column lies inside [0, W): ow in [lo, hi).
        int64_t lo = woff >= 0 ? 0 : (-woff + g.sw - 1) / g.sw;
        int64_t hi = g.W - 1 - woff < 0 ? 0 : (g.W - 1 - woff) / g.sw + 1;
        lo = std::min(lo, g.Wo);
        hi = std::max(lo, std::min(hi, g.Wo));
        for (int64_t oh = 0; oh < g.Ho; ++oh) {
          T* r = row + oh * g.Wo;
          const int64_t ih = oh * g.sh - g.ph + i * g.dh;
          if (ih < 0 || ih >= g.H) {
            std::fill(r, r + g.Wo, T(0));
            continue;
          }
          const T* xr = xc + ih * g.W;
          for (int64_t ow = 0; ow < lo; ++ow) r[ow] = T(0);
          if (g.sw == 1) {
            for (int64_t ow = lo; ow < hi; ++ow) r[ow] = xr[ow + woff];
          } else {
            for (int64_t ow = lo; ow < hi; ++ow) r[ow] = xr[ow * g.sw + woff];
          }
          for (int64_t ow = hi; ow < g.Wo; ++ow) r[ow] = T(0);
        }
      }
    }
  }
}

// The adjoint of im2col: dx[c][ih][iw] += col[...] (dx must be zeroed by the caller).
template <class T>
void col2im(const ConvGeom& g, const T* col, T* dx, int64_t ld) {
  const int64_t HWo = ld;
  for (int64_t c = 0; c < g.Cg; ++c) {
    T* xc = dx + c * g.HWi();
    for (int64_t i = 0; i < g.kh; ++i) {
      for (int64_t j = 0; j < g.kw; ++j) {
        const T* row = col + ((c * g.kh + i) * g.kw + j) * HWo;
        const int64_t woff = j * g.dw - g.pw;
        int64_t lo = woff >= 0 ? 0 : (-woff + g.sw - 1) / g.sw;
        int64_t hi = g.W - 1 - woff < 0 ? 0 : (g.W - 1 - woff) / g.sw + 1;
        lo = std::min(lo, g.Wo);
        hi = std::max(lo, std::min(hi, g.Wo));
        for (int64_t oh = 0; oh < g.Ho; ++oh) {
          const int64_t ih = oh * g.sh - g.ph + i * g.dh;
          if (ih < 0 || ih >= g.H) continue;
          const T* r = row + oh * g.Wo;
          T* xr = xc + ih * g.W;
          for (int64_t ow = lo; ow < hi; ++ow) xr[ow * g.sw + woff] += r[ow];
        }
      }
    }
  }
}

// Small output maps make thin GEMMs (Ho*Wo = 9 for a 3x3 map), so several images share one GEMM:
// their columns sit side by side in one buffer of row stride nb*Ho*Wo.
constexpr int64_t kMinCols = 256;

int64_t images_per_gemm(const ConvGeom& g) {
  if (g.HWo() >= kMinCols) return 1;
  const int64_t want = (kMinCols + g.HWo() - 1) / g.HWo();
  const int64_t per_thread = (g.N + num_threads() - 1) / std::max(1, num_threads());
  return std::max<int64_t>(1, std::min(want, per_thread));
}

// CONV2D(x, w, bias|null): attrs [sh, sw, ph, pw, dh, dw, groups]
template <class T>
void conv2d_t(const ConvGeom& g, const Tensor& x, const Tensor& w, const Tensor* bias, Tensor* o) {
  const T* xp = x.data<T>();
  const T* wp = w.data<T>();
  const T* bp = bias ? bias->data<T>() : nullptr;
  T* op = o->data<T>();
  const int64_t K = g.K(), HWo = g.HWo(), HWi = g.HWi();
  const int64_t B = images_per_gemm(g);
  const bool direct = B == 1 && g.pointwise();  // the input plane is already the column matrix
  const int64_t nbatch = (g.N + B - 1) / B;
  parallel_for(nbatch, 1, [&](int64_t b, int64_t e) {
    std::vector<T> col(direct ? 0 : size_t(K * HWo * B));
    std::vector<T> tmp(B > 1 ? size_t(g.Og * HWo * B) : 0);
    for (int64_t bt = b; bt < e; ++bt) {
      const int64_t n0 = bt * B, nb = std::min(B, g.N - n0), ld = nb * HWo;
      for (int64_t gr = 0; gr < g.G; ++gr) {
        const T* Bm = xp + (n0 * g.C + gr * g.Cg) * HWi;
        if (!direct) {
          for (int64_t i = 0; i < nb; ++i) im2col(g, xp + ((n0 + i) * g.C + gr * g.Cg) * HWi, col.data() + i * HWo, ld);
          Bm = col.data();
        }
        T* og = op + (n0 * g.O + gr * g.Og) * HWo;
        if (nb == 1) {
          gemm<T>(false, false, g.Og, HWo, K, T(1), wp + gr * g.Og * K, K, Bm, HWo, T(0), og, HWo);
          continue;
        }
        gemm<T>(false, false, g.Og, ld, K, T(1), wp + gr * g.Og * K, K, Bm, ld, T(0), tmp.data(), ld);
        for (int64_t i = 0; i < nb; ++i)
          for (int64_t oc = 0; oc < g.Og; ++oc)
            std::memcpy(og + (i * g.O + oc) * HWo, tmp.data() + oc * ld + i * HWo, size_t(HWo) * sizeof(T));
      }
      if (bp) {
        for (int64_t n = n0; n < n0 + nb; ++n)
          for (int64_t oc = 0; oc < g.O; ++oc) {
            T* r = op + (n * g.O + oc) * HWo;
            const T bv = bp[oc];
            for (int64_t p = 0; p < HWo; ++p) r[p] += bv;
          }
      }
    }
  });
}

void conv2d(ExecArgs& a) {
  const char* op = "conv2d";
  Tensor& x = a.tensor(0);
  Tensor& w = a.tensor(1);
  check_float4(op, "input", x);
  check_float4(op, "weight", w);
  if (w.dtype != x.dtype) fail(op, "input and weight dtypes differ");
  ConvGeom g = geometry(op, x.shape, w.shape, a.attrs);
  const Tensor* bias = a.nin > 2 ? a.in[2].t : nullptr;
  if (bias) {
    if (bias->device() != Device::CPU || bias->dtype != x.dtype || bias->shape.ndim != 1 || bias->shape[0] != g.O)
      fail(op, "bias " + bias->shape.str() + " must be a [" + std::to_string(g.O) + "] tensor of the input's dtype");
  }
  Shape os = shape4(g.N, g.O, g.Ho, g.Wo);
  if (!(a.out_shape == os) || a.out_dtype != x.dtype) fail(op, "output header " + a.out_shape.str() + " should be " + os.str());
  Tensor* o = a.alloc_out();
  if (o->numel() == 0) return;
  if (x.dtype == DType::F32) conv2d_t<float>(g, x, w, bias, o);
  else conv2d_t<double>(g, x, w, bias, o);
}

// CONV2D_INPUT_GRAD(gradOut, w): output = the input shape (header). dx = col2im(w^T @ gradOut).
template <class T>
void conv2d_input_grad_t(const ConvGeom& g, const Tensor& go, const Tensor& w, Tensor* o) {
  const T* gp = go.data<T>();
  const T* wp = w.data<T>();
  T* dp = o->data<T>();
  const int64_t K = g.K(), HWo = g.HWo(), HWi = g.HWi();
  const int64_t B = images_per_gemm(g);
  const bool direct = B == 1 && g.pointwise();  // w^T @ gradOut is already dx
  const int64_t nbatch = (g.N + B - 1) / B;
  parallel_for(nbatch, 1, [&](int64_t b, int64_t e) {
    std::vector<T> col(direct ? 0 : size_t(K * HWo * B));
    std::vector<T> gbuf(B > 1 ? size_t(g.Og * HWo * B) : 0);
    for (int64_t bt = b; bt < e; ++bt) {
      const int64_t n0 = bt * B, nb = std::min(B, g.N - n0), ld = nb * HWo;
      T* dn = dp + n0 * g.C * HWi;
      if (!direct) std::fill(dn, dn + nb * g.C * HWi, T(0));
      for (int64_t gr = 0; gr < g.G; ++gr) {
        const T* wg = wp + gr * g.Og * K;
        const T* gg = gp + (n0 * g.O + gr * g.Og) * HWo;
        if (direct) {
          gemm<T>(true, false, K, HWo, g.Og, T(1), wg, K, gg, HWo, T(0), dn + gr * g.Cg * HWi, HWo);
          continue;
        }
        if (nb > 1) {  // gather the images' gradients side by side: [Og, nb*HWo]
          for (int64_t i = 0; i < nb; ++i)
            for (int64_t oc = 0; oc < g.Og; ++oc)
              std::memcpy(gbuf.data() + oc * ld + i * HWo, gg + (i * g.O + oc) * HWo, size_t(HWo) * sizeof(T));
          gg = gbuf.data();
        }
        gemm<T>(true, false, K, ld, g.Og, T(1), wg, K, gg, ld, T(0), col.data(), ld);
        for (int64_t i = 0; i < nb; ++i) col2im(g, col.data() + i * HWo, dn + (i * g.C + gr * g.Cg) * HWi, ld);
      }
    }
  });
}

void conv2d_input_grad(ExecArgs& a) {
  const char* op = "conv2dInputGrad";
  Tensor& go = a.tensor(0);
  Tensor& w = a.tensor(1);
  check_float4(op, "gradOut", go);
  check_float4(op, "weight", w);
  if (w.dtype != go.dtype || a.out_dtype != go.dtype) fail(op, "gradOut, weight and output dtypes differ");
  if (a.out_shape.ndim != 4) fail(op, "input shape " + a.out_shape.str() + " must be 4-D");
  ConvGeom g = geometry(op, a.out_shape, w.shape, a.attrs);
  Shape gs = shape4(g.N, g.O, g.Ho, g.Wo);
  if (!(go.shape == gs)) fail(op, "gradOut " + go.shape.str() + " should be " + gs.str() + " for input " + a.out_shape.str());
  Tensor* o = a.alloc_out();
  if (o->numel() == 0) return;
  if (go.dtype == DType::F32) conv2d_input_grad_t<float>(g, go, w, o);
  else conv2d_input_grad_t<double>(g, go, w, o);
}

// CONV2D_WEIGHT_GRAD(gradOut, x): output = the weight shape (header).
// dW_g = sum_n gradOut_g[n] @ im2col(x_g[n])^T. Images are summed in fixed blocks of kBlock into
// per-block partials (small maps: the whole block in one GEMM), then the partials are added in
// block order: the result depends only on the shapes, not on the threads or the scheduling.
constexpr int64_t kBlock = 8;

template <class T>
void conv2d_weight_grad_t(const ConvGeom& g, const Tensor& go, const Tensor& x, Tensor* o) {
  const T* gp = go.data<T>();
  const T* xp = x.data<T>();
  T* dw = o->data<T>();
  const int64_t K = g.K(), HWo = g.HWo(), HWi = g.HWi();
  const int64_t WN = g.O * K;  // weight numel
  // Images per GEMM inside a block: from the shapes only, so the summation order is fixed.
  const int64_t B = g.HWo() >= kMinCols ? 1 : std::min(kBlock, (kMinCols + HWo - 1) / HWo);
  const bool direct = B == 1 && g.pointwise();
  const int64_t nblocks = (g.N + kBlock - 1) / kBlock;
  // Block 0 accumulates straight into the output; the others into partials.
  std::vector<T> partial(size_t(std::max<int64_t>(nblocks - 1, 0) * WN));
  parallel_for(nblocks, 1, [&](int64_t b, int64_t e) {
    std::vector<T> col(direct ? 0 : size_t(K * HWo * B));
    std::vector<T> gbuf(B > 1 ? size_t(g.Og * HWo * B) : 0);
    for (int64_t blk = b; blk < e; ++blk) {
      T* acc = blk == 0 ? dw : partial.data() + (blk - 1) * WN;
      const int64_t bend = std::min(g.N, (blk + 1) * kBlock);
      for (int64_t n0 = blk * kBlock; n0 < bend; n0 += B) {
        const int64_t nb = std::min(B, bend - n0), ld = nb * HWo;
        const T beta = n0 == blk * kBlock ? T(0) : T(1);
        for (int64_t gr = 0; gr < g.G; ++gr) {
          const T* gg = gp + (n0 * g.O + gr * g.Og) * HWo;
          const T* Bm = xp + (n0 * g.C + gr * g.Cg) * HWi;
          if (!direct) {
            for (int64_t i = 0; i < nb; ++i) im2col(g, xp + ((n0 + i) * g.C + gr * g.Cg) * HWi, col.data() + i * HWo, ld);
            Bm = col.data();
          }
          if (nb > 1) {
            for (int64_t i = 0; i < nb; ++i)
              for (int64_t oc = 0; oc < g.Og; ++oc)
                std::memcpy(gbuf.data() + oc * ld + i * HWo, gg + (i * g.O + oc) * HWo, size_t(HWo) * sizeof(T));
            gg = gbuf.data();
          }
          gemm<T>(false, true, g.Og, K, ld, T(1), gg, ld, Bm, ld, beta, acc + gr * g.Og * K, K);
        }
      }
    }
  });
  if (nblocks == 0) {
    std::fill(dw, dw + WN, T(0));
    return;
  }
  if (nblocks > 1) {
    parallel_for(WN, 1 << 14, [&](int64_t b, int64_t e) {
      for (int64_t blk = 1; blk < nblocks; ++blk) {
        const T* p = partial.data() + (blk - 1) * WN;
        for (int64_t i = b; i < e; ++i) dw[i] += p[i];
      }
    });
  }
}

void conv2d_weight_grad(ExecArgs& a) {
  const char* op = "conv2dWeightGrad";
  Tensor& go = a.tensor(0);
  Tensor& x = a.tensor(1);
  check_float4(op, "gradOut", go);
  check_float4(op, "input", x);
  if (x.dtype != go.dtype || a.out_dtype != go.dtype) fail(op, "gradOut, input and output dtypes differ");
  if (a.out_shape.ndim != 4) fail(op, "weight shape " + a.out_shape.str() + " must be 4-D");
  ConvGeom g = geometry(op, x.shape, a.out_shape, a.attrs);
  Shape gs = shape4(g.N, g.O, g.Ho, g.Wo);
  if (!(go.shape == gs)) fail(op, "gradOut " + go.shape.str() + " should be " + gs.str() + " for input " + x.shape.str());
  Tensor* o = a.alloc_out();
  if (o->numel() == 0) return;
  if (go.dtype == DType::F32) conv2d_weight_grad_t<float>(g, go, x, o);
  else conv2d_weight_grad_t<double>(g, go, x, o);
}

}  // namespace

MG_REGISTER_KERNEL(CONV2D, CPU, conv2d);
MG_REGISTER_KERNEL(CONV2D_INPUT_GRAD, CPU, conv2d_input_grad);
MG_REGISTER_KERNEL(CONV2D_WEIGHT_GRAD, CPU, conv2d_weight_grad);

}  // namespace mg::cpu
