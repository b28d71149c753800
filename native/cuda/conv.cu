// CUDA kernels of CONV2D, CONV2D_INPUT_GRAD and CONV2D_WEIGHT_GRAD (NCHW, weight [O, C/groups,
// kh, kw]; attrs [sh, sw, ph, pw, dh, dw, groups]), with the CPU kernels' checks
// (native/cpu/conv.cc). All three are implicit GEMMs on the engine of native/cuda/gemm.cuh, one
// GEMM per group (the group is the GEMM's batch index), the im2col matrix read straight from the
// image by the operand loaders:
//   forward       out_g[Og, N*HoWo]   = W_g[Og, Cg*kh*kw] @ im2col(x_g)[Cg*kh*kw, N*HoWo] (+ bias)
//   input grad    dx_g[Cg, N*H*W]     = W_g^T[Cg, Og*kh*kw] @ taps(gradOut_g)[Og*kh*kw, N*H*W]
//                 (for each input pixel and tap, the output pixel that read it, or 0: a gather,
//                 so no atomics and a deterministic result)
//   weight grad   dW_g[Og, Cg*kh*kw]  = gradOut_g[Og, N*HoWo] @ im2col(x_g)^T (split-K over the
//                 long N*HoWo sum, partials added in order: deterministic)
// float32 uses TF32 tensor cores only when enabled (mg.cuda.setTF32); the default is exact fp32.
#include <string>

#include "cuda/gemm.cuh"

namespace mg::cuda {
namespace {

struct Geom {
  int64_t N, C, H, W, O, Cg, Og, G, kh, kw, Ho, Wo, sh, sw, ph, pw, dh, dw;
  int64_t K() const { return Cg * kh * kw; }
};

[[noreturn]] void fail(const char* op, const std::string& msg) { throw Error(std::string(op) + ": " + msg); }

void check_float4(const char* op, const char* what, const Tensor& t) {
  if (t.device() != Device::CUDA) fail(op, std::string(what) + " is not on cuda");
  if (t.dtype == DType::I32) fail(op, std::string(what) + " must be float32 or float64");
  if (t.shape.ndim != 4) fail(op, std::string(what) + " " + t.shape.str() + " must be 4-D");
}

int64_t out_size(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d) {
  int64_t span = d * (k - 1) + 1;
  if (in + 2 * p < span) return -1;
  return (in + 2 * p - span) / s + 1;
}

Geom geometry(const char* op, const Shape& xs, const Shape& ws, const double* at) {
  Geom g;
  g.N = xs[0]; g.C = xs[1]; g.H = xs[2]; g.W = xs[3];
  g.O = ws[0]; g.Cg = ws[1]; g.kh = ws[2]; g.kw = ws[3];
  g.sh = int64_t(at[0]); g.sw = int64_t(at[1]); g.ph = int64_t(at[2]); g.pw = int64_t(at[3]);
  g.dh = int64_t(at[4]); g.dw = int64_t(at[5]); g.G = int64_t(at[6]);
  if (g.sh < 1 || g.sw < 1 || g.dh < 1 || g.dw < 1 || g.ph < 0 || g.pw < 0 || g.G < 1) fail(op, "bad stride, padding, dilation or groups");
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

/** The geometry in 32-bit fields for the loaders (sizes are checked to fit). */
struct G32 {
  int C, H, W, O, Cg, Og, kh, kw, Ho, Wo, sh, sw, ph, pw, dh, dw;
};
G32 g32(const char* op, const Geom& g) {
  const int64_t big = int64_t(1) << 31;
  if (g.N * g.C * g.H * g.W >= big || g.N * g.O * g.Ho * g.Wo >= big) fail(op, "tensors of 2^31 or more elements are not supported on cuda");
  return G32{int(g.C), int(g.H), int(g.W), int(g.O), int(g.Cg), int(g.Og), int(g.kh), int(g.kw), int(g.Ho), int(g.Wo),
             int(g.sh), int(g.sw), int(g.ph), int(g.pw), int(g.dh), int(g.dw)};
}

// ---- forward ---------------------------------------------------------------------------------
template <class T>
struct WRows {  // A(m, k) = W_g[m][k] (row-major [Og, K])
  const T* p;
  int K;
  __device__ bool contig_k() const { return true; }
  __device__ T load(int m, int k) const { return p[int64_t(m) * K + k]; }
};
template <class T>
struct FwdA {
  const T* w;
  int Og, K;
  __device__ WRows<T> bound(int64_t g) const { return {w + g * Og * int64_t(K), K}; }
};

template <class T>
struct Im2colB {  // B(k, n) = x_g[img][c][oh*sh-ph+i*dh][ow*sw-pw+j*dw] (0 outside)
  const T* x;  // at channel g*Cg of image 0
  G32 g;
  __device__ bool contig_n() const { return true; }
  __device__ T load(int k, int n) const {
    const int kk = g.kh * g.kw, HWo = g.Ho * g.Wo;
    const int c = k / kk, r = k - c * kk, i = r / g.kw, j = r - i * g.kw;
    const int img = n / HWo, p = n - img * HWo, oh = p / g.Wo, ow = p - oh * g.Wo;
    const int ih = oh * g.sh - g.ph + i * g.dh, iw = ow * g.sw - g.pw + j * g.dw;
    if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W) return T(0);
    return x[((int64_t(img) * g.C + c) * g.H + ih) * g.W + iw];
  }
};
template <class T>
struct FwdB {
  const T* x;
  G32 g;
  __device__ Im2colB<T> bound(int64_t gr) const { return {x + gr * g.Cg * int64_t(g.H) * g.W, g}; }
};
template <class T>
struct FwdC {
  T* out;
  const T* bias;
  G32 g;
  __device__ void operator()(int64_t gr, int64_t m, int64_t n, T v) const {
    const int64_t HWo = int64_t(g.Ho) * g.Wo;
    const int64_t img = n / HWo, p = n - img * HWo, oc = gr * g.Og + m;
    out[(img * g.O + oc) * HWo + p] = bias ? v + bias[oc] : v;
  }
};

template <class T>
void conv2d_t(const Geom& g, const G32& s, const Tensor& x, const Tensor& w, const Tensor* bias, Tensor* o) {
  const int K = int(g.K());
  FwdA<T> A{w.data<T>(), s.Og, K};
  FwdB<T> B{x.data<T>(), s};
  FwdC<T> C{o->data<T>(), bias ? bias->data<T>() : nullptr, s};
  launch_gemm<T>(g.Og, g.N * g.Ho * g.Wo, K, g.G, A, B, C, tf32_enabled(), "conv2d");
}

void conv2d(ExecArgs& a) {
  const char* op = "conv2d";
  Tensor& x = a.tensor(0);
  Tensor& w = a.tensor(1);
  check_float4(op, "input", x);
  check_float4(op, "weight", w);
  if (w.dtype != x.dtype) fail(op, "input and weight dtypes differ");
  Geom g = geometry(op, x.shape, w.shape, a.attrs);
  const Tensor* bias = a.nin > 2 ? a.in[2].t : nullptr;
  if (bias && (bias->device() != Device::CUDA || bias->dtype != x.dtype || bias->shape.ndim != 1 || bias->shape[0] != g.O))
    fail(op, "bias " + bias->shape.str() + " must be a [" + std::to_string(g.O) + "] cuda tensor of the input's dtype");
  Shape os = shape4(g.N, g.O, g.Ho, g.Wo);
  if (!(a.out_shape == os) || a.out_dtype != x.dtype) fail(op, "output header " + a.out_shape.str() + " should be " + os.str());
  const G32 s = g32(op, g);
  Tensor* o = a.alloc_out();
  if (o->numel() == 0) return;
  if (x.dtype == DType::F32) conv2d_t<float>(g, s, x, w, bias, o);
  else conv2d_t<double>(g, s, x, w, bias, o);
}

// ---- input gradient --------------------------------------------------------------------------
template <class T>
struct WCols {  // A(m = c, k = (o, i, j)) = W_g[o][c][i][j]
  const T* p;
  int Cg, kk;
  __device__ bool contig_k() const { return true; }
  __device__ T load(int m, int k) const {
    const int o = k / kk, r = k - o * kk;
    return p[(int64_t(o) * Cg + m) * kk + r];
  }
};
template <class T>
struct DxA {
  const T* w;
  int Og, Cg, kk;
  __device__ WCols<T> bound(int64_t gr) const { return {w + gr * Og * int64_t(Cg) * kk, Cg, kk}; }
};
template <class T>
struct TapsB {  // B(k = (o, i, j), n = (img, ih, iw)) = gradOut_g[img][o][oh][ow] where the tap (i, j) of (oh, ow) reads (ih, iw)
  const T* go;  // at channel g*Og of image 0
  G32 g;
  __device__ bool contig_n() const { return true; }
  __device__ T load(int k, int n) const {
    const int kk = g.kh * g.kw, HW = g.H * g.W;
    const int o = k / kk, r = k - o * kk, i = r / g.kw, j = r - i * g.kw;
    const int img = n / HW, p = n - img * HW, ih = p / g.W, iw = p - ih * g.W;
    const int th = ih + g.ph - i * g.dh, tw = iw + g.pw - j * g.dw;
    if (th < 0 || tw < 0) return T(0);
    const int oh = th / g.sh, ow = tw / g.sw;
    if (oh * g.sh != th || ow * g.sw != tw || oh >= g.Ho || ow >= g.Wo) return T(0);
    return go[((int64_t(img) * g.O + o) * g.Ho + oh) * g.Wo + ow];
  }
};
template <class T>
struct DxB {
  const T* go;
  G32 g;
  __device__ TapsB<T> bound(int64_t gr) const { return {go + gr * g.Og * int64_t(g.Ho) * g.Wo, g}; }
};
template <class T>
struct DxC {
  T* dx;
  G32 g;
  __device__ void operator()(int64_t gr, int64_t m, int64_t n, T v) const {
    const int64_t HW = int64_t(g.H) * g.W;
    const int64_t img = n / HW, p = n - img * HW;
    dx[(img * g.C + gr * g.Cg + m) * HW + p] = v;
  }
};

void conv2d_input_grad(ExecArgs& a) {
  const char* op = "conv2dInputGrad";
  Tensor& go = a.tensor(0);
  Tensor& w = a.tensor(1);
  check_float4(op, "gradOut", go);
  check_float4(op, "weight", w);
  if (w.dtype != go.dtype || a.out_dtype != go.dtype) fail(op, "gradOut, weight and output dtypes differ");
  if (a.out_shape.ndim != 4) fail(op, "input shape " + a.out_shape.str() + " must be 4-D");
  Geom g = geometry(op, a.out_shape, w.shape, a.attrs);
  Shape gs = shape4(g.N, g.O, g.Ho, g.Wo);
  if (!(go.shape == gs)) fail(op, "gradOut " + go.shape.str() + " should be " + gs.str() + " for input " + a.out_shape.str());
  const G32 s = g32(op, g);
  Tensor* o = a.alloc_out();
  if (o->numel() == 0) return;
  const int kk = int(g.kh * g.kw);
  for_dtype(go.dtype, [&](auto z) {
    using T = decltype(z);
    if constexpr (!std::is_integral_v<T>) {
      DxA<T> A{w.data<T>(), s.Og, s.Cg, kk};
      DxB<T> B{go.data<T>(), s};
      DxC<T> C{o->data<T>(), s};
      launch_gemm<T>(g.Cg, g.N * g.H * g.W, g.Og * kk, g.G, A, B, C, tf32_enabled(), op);
    }
  });
}

// ---- weight gradient -------------------------------------------------------------------------
template <class T>
struct GoRows {  // A(m = o, k = (img, p)) = gradOut_g[img][o][p]
  const T* p;
  int O, HWo;
  __device__ bool contig_k() const { return true; }
  __device__ T load(int m, int k) const {
    const int img = k / HWo, q = k - img * HWo;
    return p[(int64_t(img) * O + m) * HWo + q];
  }
};
template <class T>
struct DwA {
  const T* go;
  int O, Og, HWo;
  __device__ GoRows<T> bound(int64_t gr) const { return {go + gr * Og * int64_t(HWo), O, HWo}; }
};
template <class T>
struct Im2colT {  // B(k = (img, p), n = (c, i, j)) = im2col(x_g)[n][k]
  const T* x;
  G32 g;
  __device__ bool contig_n() const { return false; }
  __device__ T load(int k, int n) const {
    const int kk = g.kh * g.kw, HWo = g.Ho * g.Wo;
    const int c = n / kk, r = n - c * kk, i = r / g.kw, j = r - i * g.kw;
    const int img = k / HWo, p = k - img * HWo, oh = p / g.Wo, ow = p - oh * g.Wo;
    const int ih = oh * g.sh - g.ph + i * g.dh, iw = ow * g.sw - g.pw + j * g.dw;
    if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W) return T(0);
    return x[((int64_t(img) * g.C + c) * g.H + ih) * g.W + iw];
  }
};
template <class T>
struct DwB {
  const T* x;
  G32 g;
  __device__ Im2colT<T> bound(int64_t gr) const { return {x + gr * g.Cg * int64_t(g.H) * g.W, g}; }
};
template <class T>
struct DwC {
  T* dw;
  int64_t Og, K;
  __device__ void operator()(int64_t gr, int64_t m, int64_t n, T v) const { dw[(gr * Og + m) * K + n] = v; }
};

void conv2d_weight_grad(ExecArgs& a) {
  const char* op = "conv2dWeightGrad";
  Tensor& go = a.tensor(0);
  Tensor& x = a.tensor(1);
  check_float4(op, "gradOut", go);
  check_float4(op, "input", x);
  if (x.dtype != go.dtype || a.out_dtype != go.dtype) fail(op, "gradOut, input and output dtypes differ");
  if (a.out_shape.ndim != 4) fail(op, "weight shape " + a.out_shape.str() + " must be 4-D");
  Geom g = geometry(op, x.shape, a.out_shape, a.attrs);
  Shape gs = shape4(g.N, g.O, g.Ho, g.Wo);
  if (!(go.shape == gs)) fail(op, "gradOut " + go.shape.str() + " should be " + gs.str() + " for input " + x.shape.str());
  const G32 s = g32(op, g);
  Tensor* o = a.alloc_out();
  if (o->numel() == 0) return;
  const int64_t K = g.K(), HWo = g.Ho * g.Wo;
  for_dtype(go.dtype, [&](auto z) {
    using T = decltype(z);
    if constexpr (!std::is_integral_v<T>) {
      if (g.N == 0) {
        check(cudaMemsetAsync(o->raw(), 0, o->nbytes(), stream()), op);
        return;
      }
      DwA<T> A{go.data<T>(), s.O, s.Og, int(HWo)};
      DwB<T> B{x.data<T>(), s};
      DwC<T> C{o->data<T>(), g.Og, K};
      launch_gemm<T>(g.Og, K, g.N * HWo, g.G, A, B, C, tf32_enabled(), op);
    }
  });
}

}  // namespace

MG_REGISTER_KERNEL(CONV2D, CUDA, conv2d);
MG_REGISTER_KERNEL(CONV2D_INPUT_GRAD, CUDA, conv2d_input_grad);
MG_REGISTER_KERNEL(CONV2D_WEIGHT_GRAD, CUDA, conv2d_weight_grad);

}  // namespace mg::cuda
