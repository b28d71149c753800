// CUDA kernels of BATCH_NORM, BATCH_NORM_BACKWARD and BATCH_NORM_GAMMA_GRAD (attrs [eps]) with the
// CPU kernels' arithmetic (native/cpu/batchnorm.cc): per-channel statistics over N * S values
// accumulated in double, r = 1 / sqrt(var + eps). One block of 256 threads per channel; the sums
// reduce through warp shuffles and shared memory, in a fixed order (repeatable run to run).
#include <cmath>
#include <string>
#include <type_traits>

#include "cuda/common.cuh"

namespace mg::cuda {
namespace {

constexpr int kThreads = 256;

__device__ __forceinline__ double block_sum(double v, double* sh) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  const int lane = threadIdx.x % 32, w = threadIdx.x / 32;
  __syncthreads();  // sh may still be read by the previous call
  if (lane == 0) sh[w] = v;
  __syncthreads();
  double s = 0;
  for (int i = 0; i < kThreads / 32; ++i) s += sh[i];
  return s;
}

// Element k of channel c (k in [0, N*S)).
__device__ __forceinline__ int64_t at(int64_t c, int64_t k, int64_t C, int64_t S) { return ((k / S) * C + c) * S + k % S; }

template <class T>
__device__ void channel_stats(const T* x, int64_t c, int64_t C, int64_t S, int64_t m, double eps, double* sh, double* mean,
                              double* r) {
  double s = 0;
  for (int64_t k = threadIdx.x; k < m; k += kThreads) s += double(x[at(c, k, C, S)]);
  const double mu = block_sum(s, sh) / double(m);
  double v = 0;
  for (int64_t k = threadIdx.x; k < m; k += kThreads) {
    const double d = double(x[at(c, k, C, S)]) - mu;
    v += d * d;
  }
  *mean = mu;
  *r = 1.0 / sqrt(block_sum(v, sh) / double(m) + eps);
}

template <class T>
__global__ void bn_forward(const T* x, const T* gamma, const T* beta, T* y, int64_t C, int64_t S, int64_t m, double eps) {
  __shared__ double sh[kThreads / 32];
  const int64_t c = blockIdx.x;
  double mu, r;
  channel_stats(x, c, C, S, m, eps, sh, &mu, &r);
  const T mm = T(mu), sc = T(r) * (gamma ? gamma[c] : T(1)), sf = beta ? beta[c] : T(0);
  for (int64_t k = threadIdx.x; k < m; k += kThreads) {
    const int64_t i = at(c, k, C, S);
    y[i] = (x[i] - mm) * sc + sf;
  }
}

template <class T>
__global__ void bn_backward(const T* u, const T* x, const T* gamma, T* dx, int64_t C, int64_t S, int64_t m, double eps) {
  __shared__ double sh[kThreads / 32];
  const int64_t c = blockIdx.x;
  double mu, r;
  channel_stats(x, c, C, S, m, eps, sh, &mu, &r);
  double su = 0, sux = 0;
  for (int64_t k = threadIdx.x; k < m; k += kThreads) {
    const int64_t i = at(c, k, C, S);
    su += double(u[i]);
    sux += double(u[i]) * (double(x[i]) - mu);
  }
  su = block_sum(su, sh);
  sux = block_sum(sux, sh);
  const double g = gamma ? double(gamma[c]) : 1.0, inv = 1.0 / double(m);
  const T a = T(g * r), b = T(su * inv), cc = T(g * r * r * r * sux * inv), mm = T(mu);
  for (int64_t k = threadIdx.x; k < m; k += kThreads) {
    const int64_t i = at(c, k, C, S);
    dx[i] = a * (u[i] - b) - cc * (x[i] - mm);
  }
}

template <class T>
__global__ void bn_gamma_grad(const T* dy, const T* x, T* out, int64_t C, int64_t S, int64_t m, double eps) {
  __shared__ double sh[kThreads / 32];
  const int64_t c = blockIdx.x;
  double mu, r;
  channel_stats(x, c, C, S, m, eps, sh, &mu, &r);
  double s = 0;
  for (int64_t k = threadIdx.x; k < m; k += kThreads) {
    const int64_t i = at(c, k, C, S);
    s += double(dy[i]) * (double(x[i]) - mu);
  }
  s = block_sum(s, sh);
  if (threadIdx.x == 0) out[c] = T(s * r);
}

[[noreturn]] void fail(const char* op, const std::string& msg) { throw Error(std::string(op) + ": " + msg); }

struct Geo {
  int64_t N, C, S;
};

Geo geo(const char* op, const Tensor& x) {
  if (x.device() != Device::CUDA) fail(op, "input is not on cuda");
  if (x.dtype == DType::I32) fail(op, "input must be float32 or float64");
  if (x.shape.ndim < 2) fail(op, "input " + x.shape.str() + " must be [N, C, ...]");
  Geo g{x.shape[0], x.shape[1], 1};
  for (int i = 2; i < x.shape.ndim; ++i) g.S *= x.shape[i];
  if (g.C > 2147483647) fail(op, "too many channels");
  return g;
}

void check_like(const char* op, const Tensor& t, const Tensor& x) {
  if (t.device() != Device::CUDA || t.dtype != x.dtype || !(t.shape == x.shape))
    fail(op, "gradOut " + t.shape.str() + " must match input " + x.shape.str() + " (dtype and device too)");
}

const Tensor* param(const char* op, const char* what, const ExecArgs& a, int i, const Tensor& x, int64_t C) {
  if (a.nin <= i || !a.in[i].t) return nullptr;
  const Tensor* t = a.in[i].t;
  if (t->device() != Device::CUDA || t->dtype != x.dtype || t->shape.ndim != 1 || t->shape[0] != C)
    fail(op, std::string(what) + " " + t->shape.str() + " must be a [" + std::to_string(C) + "] tensor of the input's dtype");
  return t;
}

double eps_of(const char* op, const ExecArgs& a) {
  const double eps = a.nattrs > 0 ? a.attrs[0] : -1;
  if (!(eps >= 0) || !std::isfinite(eps)) fail(op, "eps must be a finite number >= 0");
  return eps;
}

template <class T>
const T* ptr(const Tensor* t) { return t ? t->data<T>() : nullptr; }


void batch_norm(ExecArgs& a) {
  const char* op = "batchNorm";
  const Tensor& x = a.tensor(0);
  const Geo g = geo(op, x);
  const Tensor* gm = param(op, "weight", a, 1, x, g.C);
  const Tensor* bt = param(op, "bias", a, 2, x, g.C);
  const double eps = eps_of(op, a);
  if (a.out_dtype != x.dtype || !(a.out_shape == x.shape)) fail(op, "output header does not match input " + x.shape.str());
  Tensor* o = a.alloc_out();
  if (o->numel() == 0) return;
  for_dtype(x.dtype, [&](auto z) {
    using T = decltype(z);
    if constexpr (!std::is_integral_v<T>) {
      bn_forward<T><<<unsigned(g.C), kThreads, 0, stream()>>>(x.data<T>(), ptr<T>(gm), ptr<T>(bt), o->data<T>(), g.C, g.S, g.N * g.S, eps);
    }
  });
  check_launch(op);
}

void batch_norm_backward(ExecArgs& a) {
  const char* op = "batchNormBackward";
  const Tensor& u = a.tensor(0);
  const Tensor& x = a.tensor(1);
  const Geo g = geo(op, x);
  check_like(op, u, x);
  const Tensor* gm = param(op, "weight", a, 2, x, g.C);
  const double eps = eps_of(op, a);
  if (a.out_dtype != x.dtype || !(a.out_shape == x.shape)) fail(op, "output header does not match input " + x.shape.str());
  Tensor* o = a.alloc_out();
  if (o->numel() == 0) return;
  for_dtype(x.dtype, [&](auto z) {
    using T = decltype(z);
    if constexpr (!std::is_integral_v<T>) {
      bn_backward<T><<<unsigned(g.C), kThreads, 0, stream()>>>(u.data<T>(), x.data<T>(), ptr<T>(gm), o->data<T>(), g.C, g.S, g.N * g.S, eps);
    }
  });
  check_launch(op);
}

void batch_norm_gamma_grad(ExecArgs& a) {
  const char* op = "batchNormWeightGrad";
  const Tensor& dy = a.tensor(0);
  const Tensor& x = a.tensor(1);
  const Geo g = geo(op, x);
  check_like(op, dy, x);
  const double eps = eps_of(op, a);
  if (a.out_dtype != x.dtype || a.out_shape.ndim != 1 || a.out_shape[0] != g.C) fail(op, "output header must be [C]");
  Tensor* o = a.alloc_out();
  if (o->numel() == 0) return;
  for_dtype(x.dtype, [&](auto z) {
    using T = decltype(z);
    if constexpr (!std::is_integral_v<T>) {
      bn_gamma_grad<T><<<unsigned(g.C), kThreads, 0, stream()>>>(dy.data<T>(), x.data<T>(), o->data<T>(), g.C, g.S, g.N * g.S, eps);
    }
  });
  check_launch(op);
}

}  // namespace

MG_REGISTER_KERNEL(BATCH_NORM, CUDA, batch_norm);
MG_REGISTER_KERNEL(BATCH_NORM_BACKWARD, CUDA, batch_norm_backward);
MG_REGISTER_KERNEL(BATCH_NORM_GAMMA_GRAD, CUDA, batch_norm_gamma_grad);

}  // namespace mg::cuda
