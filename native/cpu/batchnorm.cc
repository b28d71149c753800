// CPU kernels of batch normalisation on batch statistics, one pass per channel instead of a chain
// of a dozen elementwise ops (src/ops/batchnorm.ts has the derivative rules). x is [N, C, ...],
// viewed as [N, C, S]; each channel's statistics run over its N*S values, accumulated in double:
//   mean = sum(x) / m,  var = sum((x - mean)^2) / m (biased),  r = 1 / sqrt(var + eps),
//   xhat = (x - mean) * r.
// BATCH_NORM(x, gamma|null, beta|null)         attrs [eps]: y = xhat * gamma + beta
// BATCH_NORM_BACKWARD(u, x, gamma|null)        attrs [eps]: gamma * r * (u - mean(u) - xhat * mean(u * xhat))
//   (the vjp of BATCH_NORM in x; the map u -> result is symmetric, so it is also the jvp)
// BATCH_NORM_GAMMA_GRAD(dy, x)                 attrs [eps]: [C] sum(dy * xhat)
#include <algorithm>
#include <cmath>
#include <string>

#include "core/dispatch.h"
#include "cpu/parallel.h"

namespace mg::cpu {
namespace {

struct BnGeom {
  int64_t N, C, S;
  int64_t m() const { return N * S; }
};

[[noreturn]] void fail(const char* op, const std::string& msg) { throw Error(std::string(op) + ": " + msg); }

BnGeom geom(const char* op, const Tensor& x) {
  if (x.device() != Device::CPU) fail(op, "input is not on the CPU");
  if (x.dtype == DType::I32) fail(op, "input must be float32 or float64");
  if (x.shape.ndim < 2) fail(op, "input " + x.shape.str() + " must be [N, C, ...]");
  BnGeom g{x.shape[0], x.shape[1], 1};
  for (int i = 2; i < x.shape.ndim; ++i) g.S *= x.shape[i];
  return g;
}

void check_like(const char* op, const char* what, const Tensor& t, const Tensor& x) {
  if (t.device() != Device::CPU || t.dtype != x.dtype || !(t.shape == x.shape))
    fail(op, std::string(what) + " " + t.shape.str() + " must match input " + x.shape.str() + " (dtype and device too)");
}

const Tensor* channel_param(const char* op, const char* what, const ExecArgs& a, int i, const Tensor& x, int64_t C) {
  if (a.nin <= i || !a.in[i].t) return nullptr;
  const Tensor* t = a.in[i].t;
  if (t->device() != Device::CPU || t->dtype != x.dtype || t->shape.ndim != 1 || t->shape[0] != C)
    fail(op, std::string(what) + " " + t->shape.str() + " must be a [" + std::to_string(C) + "] tensor of the input's dtype");
  return t;
}

// Sums over one channel's N segments of S values of f(k) for the segment pointers, in kLanes
// independent double accumulators (so the loop vectorises without reassociating any one sum),
// added in a fixed order at the end.
constexpr int kLanes = 8;
template <class F>
double channel_sum(const BnGeom& g, F&& f) {
  double acc[kLanes] = {};
  double tail = 0;
  for (int64_t n = 0; n < g.N; ++n) {
    const int64_t base = n * g.C * g.S;
    int64_t k = 0;
    for (; k + kLanes <= g.S; k += kLanes)
      for (int j = 0; j < kLanes; ++j) acc[j] += f(base, k + j);
    for (; k < g.S; ++k) tail += f(base, k);
  }
  double s = tail;
  for (int j = 0; j < kLanes; ++j) s += acc[j];
  return s;
}

// Mean and r of channel c.
template <class T>
void stats(const BnGeom& g, const T* x, int64_t c, double eps, double* mean, double* r) {
  const T* xc = x + c * g.S;
  const double mu = channel_sum(g, [&](int64_t b, int64_t k) { return double(xc[b + k]); }) / double(g.m());
  const double v = channel_sum(g, [&](int64_t b, int64_t k) {
    const double d = double(xc[b + k]) - mu;
    return d * d;
  });
  *mean = mu;
  *r = 1.0 / std::sqrt(v / double(g.m()) + eps);
}

int64_t grain(const BnGeom& g) { return std::max<int64_t>(1, (int64_t(1) << 14) / std::max<int64_t>(1, g.m())); }

template <class T>
void forward(const BnGeom& g, const T* x, const T* gamma, const T* beta, double eps, T* y) {
  parallel_for(g.C, grain(g), [&](int64_t b, int64_t e) {
    for (int64_t c = b; c < e; ++c) {
      double mu, r;
      stats(g, x, c, eps, &mu, &r);
      const T rr = T(r), m = T(mu), gm = gamma ? gamma[c] : T(1), bt = beta ? beta[c] : T(0);
      for (int64_t n = 0; n < g.N; ++n) {
        const T* p = x + (n * g.C + c) * g.S;
        T* q = y + (n * g.C + c) * g.S;
        for (int64_t k = 0; k < g.S; ++k) q[k] = (p[k] - m) * rr * gm + bt;
      }
    }
  });
}

template <class T>
void backward(const BnGeom& g, const T* u, const T* x, const T* gamma, double eps, T* dx) {
  parallel_for(g.C, grain(g), [&](int64_t b, int64_t e) {
    for (int64_t c = b; c < e; ++c) {
      double mu, r;
      stats(g, x, c, eps, &mu, &r);
      const T* xc = x + c * g.S;
      const T* uc = u + c * g.S;
      const double su = channel_sum(g, [&](int64_t b, int64_t k) { return double(uc[b + k]); });
      const double sux = channel_sum(g, [&](int64_t b, int64_t k) { return double(uc[b + k]) * (double(xc[b + k]) - mu); });
      const double inv = 1.0 / double(g.m());
      const T m1 = T(su * inv), m2 = T(sux * r * inv), rr = T(r), m = T(mu);
      const T scale = (gamma ? gamma[c] : T(1)) * rr;
      for (int64_t n = 0; n < g.N; ++n) {
        const T* p = x + (n * g.C + c) * g.S;
        const T* q = u + (n * g.C + c) * g.S;
        T* d = dx + (n * g.C + c) * g.S;
        for (int64_t k = 0; k < g.S; ++k) d[k] = scale * (q[k] - m1 - (p[k] - m) * rr * m2);
      }
    }
  });
}

template <class T>
void gamma_grad(const BnGeom& g, const T* dy, const T* x, double eps, T* out) {
  parallel_for(g.C, grain(g), [&](int64_t b, int64_t e) {
    for (int64_t c = b; c < e; ++c) {
      double mu, r;
      stats(g, x, c, eps, &mu, &r);
      const T* xc = x + c * g.S;
      const T* dc = dy + c * g.S;
      const double s = channel_sum(g, [&](int64_t b, int64_t k) { return double(dc[b + k]) * (double(xc[b + k]) - mu); });
      out[c] = T(s * r);
    }
  });
}

double eps_attr(const char* op, const ExecArgs& a) {
  const double eps = a.nattrs > 0 ? a.attrs[0] : -1;
  if (!(eps >= 0) || !std::isfinite(eps)) fail(op, "eps must be a finite number >= 0");
  return eps;
}

void batch_norm(ExecArgs& a) {
  const char* op = "batchNorm";
  const Tensor& x = a.tensor(0);
  const BnGeom g = geom(op, x);
  const Tensor* gm = channel_param(op, "weight", a, 1, x, g.C);
  const Tensor* bt = channel_param(op, "bias", a, 2, x, g.C);
  const double eps = eps_attr(op, a);
  if (a.out_dtype != x.dtype || !(a.out_shape == x.shape)) fail(op, "output header does not match input " + x.shape.str());
  Tensor* o = a.alloc_out();
  if (o->numel() == 0) return;
  if (x.dtype == DType::F32)
    forward<float>(g, x.data<float>(), gm ? gm->data<float>() : nullptr, bt ? bt->data<float>() : nullptr, eps, o->data<float>());
  else
    forward<double>(g, x.data<double>(), gm ? gm->data<double>() : nullptr, bt ? bt->data<double>() : nullptr, eps, o->data<double>());
}

void batch_norm_backward(ExecArgs& a) {
  const char* op = "batchNormBackward";
  const Tensor& u = a.tensor(0);
  const Tensor& x = a.tensor(1);
  const BnGeom g = geom(op, x);
  check_like(op, "gradOut", u, x);
  const Tensor* gm = channel_param(op, "weight", a, 2, x, g.C);
  const double eps = eps_attr(op, a);
  if (a.out_dtype != x.dtype || !(a.out_shape == x.shape)) fail(op, "output header does not match input " + x.shape.str());
  Tensor* o = a.alloc_out();
  if (o->numel() == 0) return;
  if (x.dtype == DType::F32)
    backward<float>(g, u.data<float>(), x.data<float>(), gm ? gm->data<float>() : nullptr, eps, o->data<float>());
  else
    backward<double>(g, u.data<double>(), x.data<double>(), gm ? gm->data<double>() : nullptr, eps, o->data<double>());
}

void batch_norm_gamma_grad(ExecArgs& a) {
  const char* op = "batchNormWeightGrad";
  const Tensor& dy = a.tensor(0);
  const Tensor& x = a.tensor(1);
  const BnGeom g = geom(op, x);
  check_like(op, "gradOut", dy, x);
  const double eps = eps_attr(op, a);
  if (a.out_dtype != x.dtype || a.out_shape.ndim != 1 || a.out_shape[0] != g.C) fail(op, "output header must be [C]");
  Tensor* o = a.alloc_out();
  if (o->numel() == 0) return;
  if (g.m() == 0) {
    if (x.dtype == DType::F32) std::fill(o->data<float>(), o->data<float>() + g.C, 0.0f);
    else std::fill(o->data<double>(), o->data<double>() + g.C, 0.0);
    return;
  }
  if (x.dtype == DType::F32) gamma_grad<float>(g, dy.data<float>(), x.data<float>(), eps, o->data<float>());
  else gamma_grad<double>(g, dy.data<double>(), x.data<double>(), eps, o->data<double>());
}

}  // namespace

MG_REGISTER_KERNEL(BATCH_NORM, CPU, batch_norm);
MG_REGISTER_KERNEL(BATCH_NORM_BACKWARD, CPU, batch_norm_backward);
MG_REGISTER_KERNEL(BATCH_NORM_GAMMA_GRAD, CPU, batch_norm_gamma_grad);

}  // namespace mg::cpu
