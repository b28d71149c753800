// CUDA kernels of 2-D max and average pooling (NCHW) and their backward passes, with the CPU
// kernels' attributes, window rules and divisors (native/cpu/pool.cc, after PyTorch's):
//   MAXPOOL2D           attrs [kh, kw, sh, sw, ph, pw, dh, dw, ceilMode]; values and int32 indices
//                       (h*W + w in the plane); padding is -inf, NaN propagates, ties keep the first
//   MAXPOOL2D_BACKWARD  (gradOut, indices) -> input shape: one thread per plane adds its outputs in
//                       order, exactly as the CPU does (deterministic, bit-identical); an index
//                       outside the plane is skipped and reported (Note [Deferred index errors])
//   AVGPOOL2D           attrs [kh, kw, sh, sw, ph, pw, ceilMode, countIncludePad]
//   AVGPOOL2D_BACKWARD  one thread per input element gathers the windows that cover it (no atomics)
#include <cmath>
#include <limits>
#include <string>

#include "cuda/common.cuh"

namespace mg::cuda {
namespace {

[[noreturn]] void fail(const char* op, const std::string& msg) { throw Error(std::string(op) + ": " + msg); }

struct PoolGeom {
  int64_t planes, H, W, Ho, Wo;
  int64_t kh, kw, sh, sw, ph, pw, dh = 1, dw = 1;
  bool ceil = false, include_pad = true;
};

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
  if (t.device() != Device::CUDA) fail(op, std::string(what) + " is not on cuda");
  if (t.dtype == DType::I32) fail(op, std::string(what) + " must be float32 or float64");
}

template <class T>
__global__ void maxpool_kernel(PoolGeom g, const T* __restrict__ x, T* __restrict__ y, int32_t* __restrict__ idx, int64_t n) {
  MG_GRID_STRIDE(u, n) {
    const int64_t ow = u % g.Wo, oh = (u / g.Wo) % g.Ho, p = u / (g.Wo * g.Ho);
    const T* xp = x + p * g.H * g.W;
    int64_t h0 = oh * g.sh - g.ph;
    const int64_t h1 = min(h0 + (g.kh - 1) * g.dh + 1, g.H);
    while (h0 < 0) h0 += g.dh;
    int64_t w0 = ow * g.sw - g.pw;
    const int64_t w1 = min(w0 + (g.kw - 1) * g.dw + 1, g.W);
    while (w0 < 0) w0 += g.dw;
    T best = -T(INFINITY);
    int64_t bi = (h0 < h1 && w0 < w1) ? h0 * g.W + w0 : -1;
    for (int64_t ih = h0; ih < h1; ih += g.dh)
      for (int64_t iw = w0; iw < w1; iw += g.dw) {
        const T v = xp[ih * g.W + iw];
        if (v > best || isnan(v)) {
          best = v;
          bi = ih * g.W + iw;
        }
      }
    y[u] = best;
    idx[u] = int32_t(bi);
  }
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
  const int64_t n = y->numel();
  if (n == 0) return;
  for_dtype(x.dtype, [&](auto z) {
    using T = decltype(z);
    if constexpr (!std::is_integral_v<T>)
      maxpool_kernel<T><<<grid_for(n), kBlock, 0, stream()>>>(g, x.data<T>(), y->data<T>(), ix->data<int32_t>(), n);
  });
  check_launch(op);
}

template <class T>
__global__ void maxpool_bwd_kernel(int64_t planes, int64_t HW, int64_t HWo, const T* __restrict__ go, const int32_t* __restrict__ idx,
                                   T* __restrict__ dx, long long* err) {
  MG_GRID_STRIDE(p, planes) {
    T* d = dx + p * HW;
    for (int64_t i = 0; i < HW; ++i) d[i] = T(0);
    const T* gp = go + p * HWo;
    const int32_t* ip = idx + p * HWo;
    for (int64_t i = 0; i < HWo; ++i) {
      const int64_t k = ip[i];
      if (k < 0) continue;  // an empty window
      if (k >= HW) {
        report_bad_index(err, int(Op::MAXPOOL2D_BACKWARD), k, HW, 0);
        continue;
      }
      d[k] += gp[i];
    }
  }
}

void maxpool2d_backward(ExecArgs& a) {
  const char* op = "maxPool2dBackward";
  Tensor& go = a.tensor(0);
  Tensor& ix = a.tensor(1);
  check_float(op, "gradOut", go);
  if (ix.device() != Device::CUDA || ix.dtype != DType::I32) fail(op, "indices must be an int32 cuda tensor");
  if (a.out_dtype != go.dtype) fail(op, "output dtype differs from gradOut's");
  if (go.shape.ndim != 4 || !(go.shape == ix.shape)) fail(op, "gradOut " + go.shape.str() + " and indices " + ix.shape.str() + " must be the same 4-D shape");
  const Shape& s = a.out_shape;
  if (s.ndim != 4 || s[0] != go.shape[0] || s[1] != go.shape[1]) fail(op, "input shape " + s.str() + " does not match gradOut " + go.shape.str());
  Tensor* o = a.alloc_out();
  if (o->numel() == 0) return;
  const int64_t planes = s[0] * s[1], HW = s[2] * s[3], HWo = go.shape[2] * go.shape[3];
  long long* err = err_record();
  for_dtype(go.dtype, [&](auto z) {
    using T = decltype(z);
    if constexpr (!std::is_integral_v<T>)
      maxpool_bwd_kernel<T><<<grid_for(planes, 128), 128, 0, stream()>>>(planes, HW, HWo, go.data<T>(), ix.data<int32_t>(), o->data<T>(), err);
  });
  check_launch(op);
  after_indexing_kernel();
}

struct AvgWin {
  int64_t h0, h1, w0, w1, div;
};
__device__ __forceinline__ AvgWin avg_window(const PoolGeom& g, int64_t oh, int64_t ow) {
  AvgWin r;
  r.h0 = oh * g.sh - g.ph;
  r.w0 = ow * g.sw - g.pw;
  r.h1 = min(r.h0 + g.kh, g.H + g.ph);
  r.w1 = min(r.w0 + g.kw, g.W + g.pw);
  const int64_t padded = (r.h1 - r.h0) * (r.w1 - r.w0);
  r.h0 = max(r.h0, int64_t(0));
  r.w0 = max(r.w0, int64_t(0));
  r.h1 = min(r.h1, g.H);
  r.w1 = min(r.w1, g.W);
  r.div = g.include_pad ? padded : (r.h1 - r.h0) * (r.w1 - r.w0);
  return r;
}

PoolGeom avg_geometry(const char* op, const Shape& in, const Shape& out, const double* t) {
  PoolGeom g = geometry(op, in, out, int64_t(t[0]), int64_t(t[1]), int64_t(t[2]), int64_t(t[3]), int64_t(t[4]),
                        int64_t(t[5]), 1, 1, t[6] != 0);
  g.include_pad = t[7] != 0;
  return g;
}

template <class T>
__global__ void avgpool_kernel(PoolGeom g, const T* __restrict__ x, T* __restrict__ y, int64_t n) {
  MG_GRID_STRIDE(u, n) {
    const int64_t ow = u % g.Wo, oh = (u / g.Wo) % g.Ho, p = u / (g.Wo * g.Ho);
    const AvgWin w = avg_window(g, oh, ow);
    if (w.h0 >= w.h1 || w.w0 >= w.w1) {
      y[u] = T(0);
      continue;
    }
    const T* xp = x + p * g.H * g.W;
    T s = 0;
    for (int64_t ih = w.h0; ih < w.h1; ++ih)
      for (int64_t iw = w.w0; iw < w.w1; ++iw) s += xp[ih * g.W + iw];
    y[u] = s / T(w.div);
  }
}

// Input (ih, iw) lies in the windows of outputs oh with oh*sh - ph <= ih < oh*sh - ph + kh.
template <class T>
__global__ void avgpool_bwd_kernel(PoolGeom g, const T* __restrict__ go, T* __restrict__ dx, int64_t n) {
  MG_GRID_STRIDE(u, n) {
    const int64_t iw = u % g.W, ih = (u / g.W) % g.H, p = u / (g.W * g.H);
    const T* gp = go + p * g.Ho * g.Wo;
    const int64_t ohl = max(int64_t(0), (ih + g.ph - g.kh + g.sh) / g.sh), ohh = min(g.Ho - 1, (ih + g.ph) / g.sh);
    const int64_t owl = max(int64_t(0), (iw + g.pw - g.kw + g.sw) / g.sw), owh = min(g.Wo - 1, (iw + g.pw) / g.sw);
    T s = 0;
    for (int64_t oh = ohl; oh <= ohh; ++oh)
      for (int64_t ow = owl; ow <= owh; ++ow) {
        const AvgWin w = avg_window(g, oh, ow);
        if (ih >= w.h0 && ih < w.h1 && iw >= w.w0 && iw < w.w1) s += gp[oh * g.Wo + ow] / T(w.div);
      }
    dx[u] = s;
  }
}

void avgpool2d(ExecArgs& a) {
  const char* op = "avgPool2d";
  Tensor& x = a.tensor(0);
  check_float(op, "input", x);
  if (a.out_dtype != x.dtype) fail(op, "output dtype differs from the input's");
  PoolGeom g = avg_geometry(op, x.shape, a.out_shape, a.attrs);
  Tensor* y = a.alloc_out();
  const int64_t n = y->numel();
  if (n == 0) return;
  for_dtype(x.dtype, [&](auto z) {
    using T = decltype(z);
    if constexpr (!std::is_integral_v<T>) avgpool_kernel<T><<<grid_for(n), kBlock, 0, stream()>>>(g, x.data<T>(), y->data<T>(), n);
  });
  check_launch(op);
}

void avgpool2d_backward(ExecArgs& a) {
  const char* op = "avgPool2dBackward";
  Tensor& go = a.tensor(0);
  check_float(op, "gradOut", go);
  if (a.out_dtype != go.dtype) fail(op, "output dtype differs from gradOut's");
  PoolGeom g = avg_geometry(op, a.out_shape, go.shape, a.attrs);
  Tensor* o = a.alloc_out();
  const int64_t n = o->numel();
  if (n == 0) return;
  for_dtype(go.dtype, [&](auto z) {
    using T = decltype(z);
    if constexpr (!std::is_integral_v<T>) avgpool_bwd_kernel<T><<<grid_for(n), kBlock, 0, stream()>>>(g, go.data<T>(), o->data<T>(), n);
  });
  check_launch(op);
}

}  // namespace

MG_REGISTER_KERNEL(MAXPOOL2D, CUDA, maxpool2d);
MG_REGISTER_KERNEL(MAXPOOL2D_BACKWARD, CUDA, maxpool2d_backward);
MG_REGISTER_KERNEL(AVGPOOL2D, CUDA, avgpool2d);
MG_REGISTER_KERNEL(AVGPOOL2D_BACKWARD, CUDA, avgpool2d_backward);

}  // namespace mg::cuda
