// CPU kernels for 2-D max and average pooling over NCHW tensors and their backward passes.
// Window and divisor rules follow PyTorch's CPU kernels so results (and argmax ties) match.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "core/dispatch.h"
#include "cpu/parallel.h"

namespace mg::cpu {
namespace {

[[noreturn]] void fail(const char* op, const std::string& msg) { throw Error(std::string(op) + ": " + msg); }

struct PoolGeom {
  int64_t planes, H, W, Ho, Wo;
  int64_t kh, kw, sh, sw, ph, pw, dh = 1, dw = 1;
  bool ceil = false, include_pad = true;
};

// PyTorch's pooling_output_shape: with ceil_mode the last window must start inside the input or
// the left padding.
int64_t pool_out(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d, bool ceil) {
  int64_t num = in + 2 * p - d * (k - 1) - 1 + (ceil ? s - 1 : 0);
  if (num < 0) return 0;
  int64_t o = num / s + 1;
  if (ceil && (o - 1) * s >= in + p) --o;
  return o;
}

Shape shape4(int64_t a, int64_t b, int64_t c, int64_t d) {
  Shape s;
  s.ndim = 4;
  s.d[0] = a; s.d[1] = b; s.d[2] = c; s.d[3] = d;
  return s;
}

// Checks the pooling parameters and that `in` (the input shape) gives `out` (N, C, Ho, Wo).
PoolGeom geometry(const char* op, const Shape& in, const Shape& out, int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                  int64_t ph, int64_t pw, int64_t dh, int64_t dw, bool ceil) {
  if (in.ndim != 4) fail(op, "input " + in.str() + " must be 4-D");
  if (kh < 1 || kw < 1 || sh < 1 || sw < 1 || dh < 1 || dw < 1 || ph < 0 || pw < 0 || ph > kh / 2 || pw > kw / 2)
    fail(op, "bad kernel size, stride, padding or dilation");
  PoolGeom g;
  g.planes = in[0] * in[1];
  g.H = in[2]; g.W = in[3];
  g.kh = kh; g.kw = kw; g.sh = sh; g.sw = sw; g.ph = ph; g.pw = pw; g.dh = dh; g.dw = dw; g.ceil = ceil;
  g.Ho = pool_out(g.H, kh, sh, ph, dh, ceil);
  g.Wo = pool_out(g.W, kw, sw, pw, dw, ceil);
  if (g.Ho < 1 || g.Wo < 1) fail(op, "input " + in.str() + " is too small for the kernel");
  Shape os = shape4(in[0], in[1], g.Ho, g.Wo);
  if (!(out == os)) fail(op, "output " + out.str() + " should be " + os.str() + " for input " + in.str());
  return g;
}

void check_float(const char* op, const char* what, const Tensor& t) {
  if (t.device() != Device::CPU) fail(op, std::string(what) + " is not on the CPU");
  if (t.dtype == DType::I32) fail(op, std::string(what) + " must be float32 or float64");
}

int64_t plane_grain(const PoolGeom& g, int64_t per_out) {
  return std::max<int64_t>(1, (int64_t(1) << 15) / std::max<int64_t>(1, g.Ho * g.Wo * per_out));
}

// MAXPOOL2D(x): attrs [kh, kw, sh, sw, ph, pw, dh, dw, ceilMode]; outputs values and int32 indices
// (flat h*W+w within each plane). Padding acts as -inf; NaN propagates; ties keep the first.
// The 2x2, stride 2 window without padding, dilation or ceil mode (conv4's pooling): every window
// is full, so the four reads have fixed offsets; same visiting order and comparison as below.
template <class T>
void maxpool_2x2_t(const PoolGeom& g, const T* x, T* y, int32_t* idx) {
  parallel_for(g.planes, plane_grain(g, 4), [&](int64_t b, int64_t e) {
    const int64_t W = g.W;
    for (int64_t p = b; p < e; ++p) {
      const T* xp = x + p * g.H * W;
      T* yp = y + p * g.Ho * g.Wo;
      int32_t* ip = idx + p * g.Ho * g.Wo;
      for (int64_t oh = 0; oh < g.Ho; ++oh) {
        const T* r0 = xp + 2 * oh * W;
        const T* r1 = r0 + W;
        const int32_t i0 = int32_t(2 * oh * W);
        for (int64_t ow = 0; ow < g.Wo; ++ow) {
          const int64_t c = 2 * ow;
          T best = r0[c];
          int32_t bi = i0 + int32_t(c);
          const T v1 = r0[c + 1], v2 = r1[c], v3 = r1[c + 1];
          if (v1 > best || std::isnan(v1)) { best = v1; bi = i0 + int32_t(c + 1); }
          if (v2 > best || std::isnan(v2)) { best = v2; bi = i0 + int32_t(W + c); }
          if (v3 > best || std::isnan(v3)) { best = v3; bi = i0 + int32_t(W + c + 1); }
          yp[oh * g.Wo + ow] = best;
          ip[oh * g.Wo + ow] = bi;
        }
      }
    }
  });
}

template <class T>
void maxpool_t(const PoolGeom& g, const T* x, T* y, int32_t* idx) {
  if (g.kh == 2 && g.kw == 2 && g.sh == 2 && g.sw == 2 && g.ph == 0 && g.pw == 0 && g.dh == 1 && g.dw == 1 && !g.ceil) {
    maxpool_2x2_t(g, x, y, idx);
    return;
  }
  parallel_for(g.planes, plane_grain(g, g.kh * g.kw), [&](int64_t b, int64_t e) {
    for (int64_t p = b; p < e; ++p) {
      const T* xp = x + p * g.H * g.W;
      T* yp = y + p * g.Ho * g.Wo;
      int32_t* ip = idx + p * g.Ho * g.Wo;
      for (int64_t oh = 0; oh < g.Ho; ++oh) {
        int64_t h0 = oh * g.sh - g.ph;
        const int64_t h1 = std::min(h0 + (g.kh - 1) * g.dh + 1, g.H);
        while (h0 < 0) h0 += g.dh;
        for (int64_t ow = 0; ow < g.Wo; ++ow) {
          int64_t w0 = ow * g.sw - g.pw;
          const int64_t w1 = std::min(w0 + (g.kw - 1) * g.dw + 1, g.W);
          while (w0 < 0) w0 += g.dw;
          T best = -std::numeric_limits<T>::infinity();
          int64_t bi = (h0 < h1 && w0 < w1) ? h0 * g.W + w0 : -1;  // -1: an empty window
          for (int64_t ih = h0; ih < h1; ih += g.dh) {
            for (int64_t iw = w0; iw < w1; iw += g.dw) {
              const T v = xp[ih * g.W + iw];
              if (v > best || std::isnan(v)) {
                best = v;
                bi = ih * g.W + iw;
              }
            }
          }
          yp[oh * g.Wo + ow] = best;
          ip[oh * g.Wo + ow] = int32_t(bi);
        }
      }
    }
  });
}

void maxpool2d(ExecArgs& a) {
  const char* op = "maxPool2d";
  Tensor& x = a.tensor(0);
  check_float(op, "input", x);
  if (a.out_dtype != x.dtype) fail(op, "output dtype differs from the input's");
  const double* t = a.attrs;
  PoolGeom g = geometry(op, x.shape, a.out_shape, int64_t(t[0]), int64_t(t[1]), int64_t(t[2]), int64_t(t[3]),
                        int64_t(t[4]), int64_t(t[5]), int64_t(t[6]), int64_t(t[7]), t[8] != 0);
  if (g.H * g.W > int64_t(std::numeric_limits<int32_t>::max())) fail(op, "input planes are too large for int32 indices");
  Tensor* y = a.alloc_out();
  Tensor* ix = a.alloc_out(DType::I32, a.out_shape);
  if (y->numel() == 0) return;
  if (x.dtype == DType::F32) maxpool_t<float>(g, x.data<float>(), y->data<float>(), ix->data<int32_t>());
  else maxpool_t<double>(g, x.data<double>(), y->data<double>(), ix->data<int32_t>());
}

// MAXPOOL2D_BACKWARD(gradOut, indices): output = the input shape; scatter-adds gradOut to indices.
template <class T>
void maxpool_bwd_t(int64_t planes, int64_t HW, int64_t HWo, const T* go, const int32_t* idx, T* dx) {
  parallel_for(planes, std::max<int64_t>(1, (int64_t(1) << 15) / std::max<int64_t>(1, HW + HWo)), [&](int64_t b, int64_t e) {
    for (int64_t p = b; p < e; ++p) {
      T* d = dx + p * HW;
      std::fill(d, d + HW, T(0));
      const T* gp = go + p * HWo;
      const int32_t* ip = idx + p * HWo;
      for (int64_t i = 0; i < HWo; ++i) {
        const int64_t k = ip[i];
        if (k < 0) continue;  // an empty window (no input element)
        if (k >= HW) throw Error("maxPool2dBackward: index " + std::to_string(k) + " is out of range for planes of " + std::to_string(HW) + " elements");
        d[k] += gp[i];
      }
    }
  });
}

void maxpool2d_backward(ExecArgs& a) {
  const char* op = "maxPool2dBackward";
  Tensor& go = a.tensor(0);
  Tensor& ix = a.tensor(1);
  check_float(op, "gradOut", go);
  if (ix.device() != Device::CPU || ix.dtype != DType::I32) fail(op, "indices must be an int32 CPU tensor");
  if (a.out_dtype != go.dtype) fail(op, "output dtype differs from gradOut's");
  if (go.shape.ndim != 4 || !(go.shape == ix.shape)) fail(op, "gradOut " + go.shape.str() + " and indices " + ix.shape.str() + " must be the same 4-D shape");
  const Shape& s = a.out_shape;
  if (s.ndim != 4 || s[0] != go.shape[0] || s[1] != go.shape[1]) fail(op, "input shape " + s.str() + " does not match gradOut " + go.shape.str());
  Tensor* o = a.alloc_out();
  if (o->numel() == 0) return;
  const int64_t planes = s[0] * s[1], HW = s[2] * s[3], HWo = go.shape[2] * go.shape[3];
  if (go.dtype == DType::F32) maxpool_bwd_t<float>(planes, HW, HWo, go.data<float>(), ix.data<int32_t>(), o->data<float>());
  else maxpool_bwd_t<double>(planes, HW, HWo, go.data<double>(), ix.data<int32_t>(), o->data<double>());
}

// The clipped window of output (oh, ow) and its divisor, as PyTorch's avg_pool2d computes them.
struct AvgWin {
  int64_t h0, h1, w0, w1, div;
};
inline AvgWin avg_window(const PoolGeom& g, int64_t oh, int64_t ow) {
  AvgWin r;
  r.h0 = oh * g.sh - g.ph;
  r.w0 = ow * g.sw - g.pw;
  r.h1 = std::min(r.h0 + g.kh, g.H + g.ph);
  r.w1 = std::min(r.w0 + g.kw, g.W + g.pw);
  const int64_t padded = (r.h1 - r.h0) * (r.w1 - r.w0);
  r.h0 = std::max<int64_t>(r.h0, 0);
  r.w0 = std::max<int64_t>(r.w0, 0);
  r.h1 = std::min(r.h1, g.H);
  r.w1 = std::min(r.w1, g.W);
  r.div = g.include_pad ? padded : (r.h1 - r.h0) * (r.w1 - r.w0);
  return r;
}

PoolGeom avg_geometry(const char* op, const Shape& in, const Shape& out, const double* t) {
  PoolGeom g = geometry(op, in, out, int64_t(t[0]), int64_t(t[1]), int64_t(t[2]), int64_t(t[3]), int64_t(t[4]),
                        int64_t(t[5]), 1, 1, t[6] != 0);
  g.include_pad = t[7] != 0;
  return g;
}

// AVGPOOL2D(x): attrs [kh, kw, sh, sw, ph, pw, ceilMode, countIncludePad]
template <class T>
void avgpool_t(const PoolGeom& g, const T* x, T* y) {
  parallel_for(g.planes, plane_grain(g, g.kh * g.kw), [&](int64_t b, int64_t e) {
    for (int64_t p = b; p < e; ++p) {
      const T* xp = x + p * g.H * g.W;
      T* yp = y + p * g.Ho * g.Wo;
      for (int64_t oh = 0; oh < g.Ho; ++oh) {
        for (int64_t ow = 0; ow < g.Wo; ++ow) {
          const AvgWin w = avg_window(g, oh, ow);
          if (w.h0 >= w.h1 || w.w0 >= w.w1) {
            yp[oh * g.Wo + ow] = T(0);
            continue;
          }
          T s = 0;
          for (int64_t ih = w.h0; ih < w.h1; ++ih)
            for (int64_t iw = w.w0; iw < w.w1; ++iw) s += xp[ih * g.W + iw];
          yp[oh * g.Wo + ow] = s / T(w.div);
        }
      }
    }
  });
}

void avgpool2d(ExecArgs& a) {
  const char* op = "avgPool2d";
  Tensor& x = a.tensor(0);
  check_float(op, "input", x);
  if (a.out_dtype != x.dtype) fail(op, "output dtype differs from the input's");
  PoolGeom g = avg_geometry(op, x.shape, a.out_shape, a.attrs);
  Tensor* y = a.alloc_out();
  if (y->numel() == 0) return;
  if (x.dtype == DType::F32) avgpool_t<float>(g, x.data<float>(), y->data<float>());
  else avgpool_t<double>(g, x.data<double>(), y->data<double>());
}

// AVGPOOL2D_BACKWARD(gradOut): same attrs; output = the input shape.
template <class T>
void avgpool_bwd_t(const PoolGeom& g, const T* go, T* dx) {
  parallel_for(g.planes, plane_grain(g, g.kh * g.kw), [&](int64_t b, int64_t e) {
    for (int64_t p = b; p < e; ++p) {
      T* dp = dx + p * g.H * g.W;
      const T* gp = go + p * g.Ho * g.Wo;
      std::fill(dp, dp + g.H * g.W, T(0));
      for (int64_t oh = 0; oh < g.Ho; ++oh) {
        for (int64_t ow = 0; ow < g.Wo; ++ow) {
          const AvgWin w = avg_window(g, oh, ow);
          if (w.h0 >= w.h1 || w.w0 >= w.w1) continue;
          const T v = gp[oh * g.Wo + ow] / T(w.div);
          for (int64_t ih = w.h0; ih < w.h1; ++ih)
            for (int64_t iw = w.w0; iw < w.w1; ++iw) dp[ih * g.W + iw] += v;
        }
      }
    }
  });
}

void avgpool2d_backward(ExecArgs& a) {
  const char* op = "avgPool2dBackward";
  Tensor& go = a.tensor(0);
  check_float(op, "gradOut", go);
  if (a.out_dtype != go.dtype) fail(op, "output dtype differs from gradOut's");
  PoolGeom g = avg_geometry(op, a.out_shape, go.shape, a.attrs);
  Tensor* o = a.alloc_out();
  if (o->numel() == 0) return;
  if (go.dtype == DType::F32) avgpool_bwd_t<float>(g, go.data<float>(), o->data<float>());
  else avgpool_bwd_t<double>(g, go.data<double>(), o->data<double>());
}

}  // namespace

MG_REGISTER_KERNEL(MAXPOOL2D, CPU, maxpool2d);
MG_REGISTER_KERNEL(MAXPOOL2D_BACKWARD, CPU, maxpool2d_backward);
MG_REGISTER_KERNEL(AVGPOOL2D, CPU, avgpool2d);
MG_REGISTER_KERNEL(AVGPOOL2D_BACKWARD, CPU, avgpool2d_backward);

}  // namespace mg::cpu
