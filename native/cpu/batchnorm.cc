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
#include <functional>
#include <string>
#include <vector>

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

// Channels are processed in chunks of [c0, c1): the chunk's values of one image are contiguous
// (L = (c1 - c0) * S of them), so every pass runs over whole rows, summing into L double
// accumulators (vectorised; each sum still adds its terms in image order), then each channel's S
// accumulators in order. Chunk boundaries depend only on the shape: results do not depend on the
// thread count. Per-channel coefficients are expanded to per-element rows for the same reason.
struct Chunk {
  std::vector<double> acc, acc2, mu, mean, r;  // acc, acc2, mu: L; mean, r: channels of the chunk
};

int64_t chunk_channels(const BnGeom& g) { return std::clamp<int64_t>(2048 / std::max<int64_t>(g.S, 1), 1, g.C); }

// Statistics of the chunk's channels. float64 sums x, then (x - mean)^2 (two passes, exact to a
// few ulps); float32, summed in double, takes one pass over (x - K, (x - K)^2) about the channel's
// first value K: double has 29 bits to spare, so the shifted form loses nothing a float32 input
// can show unless the mean sits 1e4 standard deviations away from K.
template <class T>
void chunk_stats(const BnGeom& g, const T* x, int64_t c0, int64_t c1, double eps, Chunk& ck, std::vector<T>& mexp) {
  const int64_t nc = c1 - c0, L = nc * g.S;
  const double inv = 1.0 / double(g.m());
  ck.mean.resize(size_t(nc));
  ck.r.resize(size_t(nc));
  mexp.resize(size_t(L));
  ck.mu.resize(size_t(L));
  ck.acc.assign(size_t(L), 0.0);
  double* a = ck.acc.data();
  double* mu = ck.mu.data();
  if (sizeof(T) == 4) {
    ck.acc2.assign(size_t(L), 0.0);
    double* a2 = ck.acc2.data();
    for (int64_t c = 0; c < nc; ++c)
      for (int64_t k = 0; k < g.S; ++k) mu[c * g.S + k] = double(x[(c0 + c) * g.S]);  // K
    for (int64_t n = 0; n < g.N; ++n) {
      const T* p = x + (n * g.C + c0) * g.S;
      for (int64_t i = 0; i < L; ++i) {
        const double d = double(p[i]) - mu[i];
        a[i] += d;
        a2[i] += d * d;
      }
    }
    for (int64_t c = 0; c < nc; ++c) {
      double s = 0, s2 = 0;
      for (int64_t k = 0; k < g.S; ++k) s += a[c * g.S + k], s2 += a2[c * g.S + k];
      const double dm = s * inv, mean = mu[c * g.S] + dm;
      ck.mean[size_t(c)] = mean;
      ck.r[size_t(c)] = 1.0 / std::sqrt(std::max(0.0, s2 * inv - dm * dm) + eps);
      for (int64_t k = 0; k < g.S; ++k) mexp[size_t(c * g.S + k)] = T(mean);
    }
    return;
  }
  for (int64_t n = 0; n < g.N; ++n) {
    const T* p = x + (n * g.C + c0) * g.S;
    for (int64_t i = 0; i < L; ++i) a[i] += double(p[i]);
  }
  for (int64_t c = 0; c < nc; ++c) {
    double s = 0;
    for (int64_t k = 0; k < g.S; ++k) s += a[c * g.S + k];
    ck.mean[size_t(c)] = s * inv;
    for (int64_t k = 0; k < g.S; ++k) mexp[size_t(c * g.S + k)] = T(s * inv), mu[c * g.S + k] = s * inv;
  }
  ck.acc.assign(size_t(L), 0.0);
  for (int64_t n = 0; n < g.N; ++n) {
    const T* p = x + (n * g.C + c0) * g.S;
    for (int64_t i = 0; i < L; ++i) {
      const double d = double(p[i]) - mu[i];
      a[i] += d * d;
    }
  }
  for (int64_t c = 0; c < nc; ++c) {
    double v = 0;
    for (int64_t k = 0; k < g.S; ++k) v += a[c * g.S + k];
    ck.r[size_t(c)] = 1.0 / std::sqrt(v * inv + eps);
  }
}

// Per-channel sums of u and of u * (x - mean) over the chunk (one pass), into su and sux.
template <class T>
void chunk_sums(const BnGeom& g, const T* u, const T* x, int64_t c0, int64_t c1, Chunk& ck, double* su, double* sux,
                bool want_su) {
  const int64_t nc = c1 - c0, L = nc * g.S;
  ck.acc.assign(size_t(L), 0.0);
  ck.acc2.assign(size_t(L), 0.0);
  double* a = ck.acc.data();
  double* a2 = ck.acc2.data();
  const double* m = ck.mu.data();
  for (int64_t c = 0; c < nc; ++c)
    for (int64_t k = 0; k < g.S; ++k) ck.mu[size_t(c * g.S + k)] = ck.mean[size_t(c)];
  for (int64_t n = 0; n < g.N; ++n) {
    const T* p = x + (n * g.C + c0) * g.S;
    const T* q = u + (n * g.C + c0) * g.S;
    if (want_su) {
      for (int64_t i = 0; i < L; ++i) {
        const double uq = double(q[i]);
        a[i] += uq;
        a2[i] += uq * (double(p[i]) - m[i]);
      }
    } else {
      for (int64_t i = 0; i < L; ++i) a2[i] += double(q[i]) * (double(p[i]) - m[i]);
    }
  }
  for (int64_t c = 0; c < nc; ++c) {
    double s = 0, s2 = 0;
    for (int64_t k = 0; k < g.S; ++k) s += a[c * g.S + k], s2 += a2[c * g.S + k];
    if (su) su[c] = s;
    sux[c] = s2;
  }
}

// Statistics of x and the sums of u and u * (x - mean), in one pass for float32 (about the
// channel's first value K: sum u (x - mean) = sum u (x - K) - (mean - K) sum u), else as
// chunk_stats then chunk_sums.
template <class T>
void chunk_stats_sums(const BnGeom& g, const T* u, const T* x, int64_t c0, int64_t c1, double eps, Chunk& ck,
                      std::vector<T>& mexp, double* su, double* sux) {
  if (sizeof(T) != 4) {
    chunk_stats(g, x, c0, c1, eps, ck, mexp);
    chunk_sums(g, u, x, c0, c1, ck, su, sux, true);
    return;
  }
  const int64_t nc = c1 - c0, L = nc * g.S;
  const double inv = 1.0 / double(g.m());
  ck.mean.resize(size_t(nc));
  ck.r.resize(size_t(nc));
  mexp.resize(size_t(L));
  ck.mu.resize(size_t(L));
  ck.acc.assign(size_t(4 * L), 0.0);
  double *a = ck.acc.data(), *a2 = a + L, *au = a + 2 * L, *aux = a + 3 * L;
  double* K = ck.mu.data();
  for (int64_t c = 0; c < nc; ++c)
    for (int64_t k = 0; k < g.S; ++k) K[c * g.S + k] = double(x[(c0 + c) * g.S]);
  for (int64_t n = 0; n < g.N; ++n) {
    const T* p = x + (n * g.C + c0) * g.S;
    const T* q = u + (n * g.C + c0) * g.S;
    for (int64_t i = 0; i < L; ++i) {
      const double d = double(p[i]) - K[i], uq = double(q[i]);
      a[i] += d;
      a2[i] += d * d;
      au[i] += uq;
      aux[i] += uq * d;
    }
  }
  for (int64_t c = 0; c < nc; ++c) {
    double s = 0, s2 = 0, s3 = 0, s4 = 0;
    for (int64_t k = 0; k < g.S; ++k) {
      const int64_t i = c * g.S + k;
      s += a[i], s2 += a2[i], s3 += au[i], s4 += aux[i];
    }
    const double dm = s * inv, mean = K[c * g.S] + dm;
    ck.mean[size_t(c)] = mean;
    ck.r[size_t(c)] = 1.0 / std::sqrt(std::max(0.0, s2 * inv - dm * dm) + eps);
    for (int64_t k = 0; k < g.S; ++k) mexp[size_t(c * g.S + k)] = T(mean);
    if (su) su[c] = s3;
    sux[c] = s4 - dm * s3;
  }
}

template <class T, class Body>
void over_chunks(const BnGeom& g, Body&& body) {
  const int64_t cc = chunk_channels(g), nchunks = (g.C + cc - 1) / cc;
  parallel_for(nchunks, 1, [&](int64_t b, int64_t e) {
    thread_local Chunk ck;
    thread_local std::vector<T> mexp, e1, e2, e3;
    for (int64_t q = b; q < e; ++q) body(q * cc, std::min(g.C, (q + 1) * cc), ck, mexp, e1, e2, e3);
  });
}

template <class T>
void expand_rows(const BnGeom& g, int64_t nc, std::vector<T>& row, const std::function<T(int64_t)>& per_channel) {
  row.resize(size_t(nc * g.S));
  for (int64_t c = 0; c < nc; ++c) {
    const T v = per_channel(c);
    for (int64_t k = 0; k < g.S; ++k) row[size_t(c * g.S + k)] = v;
  }
}

template <class T>
void forward(const BnGeom& g, const T* x, const T* gamma, const T* beta, double eps, T* y) {
  over_chunks<T>(g, [&](int64_t c0, int64_t c1, Chunk& ck, std::vector<T>& mexp, std::vector<T>& sc, std::vector<T>& sh,
                        std::vector<T>&) {
    chunk_stats(g, x, c0, c1, eps, ck, mexp);
    const int64_t nc = c1 - c0, L = nc * g.S;
    expand_rows<T>(g, nc, sc, [&](int64_t c) { return T(ck.r[size_t(c)]) * (gamma ? gamma[c0 + c] : T(1)); });
    expand_rows<T>(g, nc, sh, [&](int64_t c) { return beta ? beta[c0 + c] : T(0); });
    for (int64_t n = 0; n < g.N; ++n) {
      const T* p = x + (n * g.C + c0) * g.S;
      T* q = y + (n * g.C + c0) * g.S;
      for (int64_t i = 0; i < L; ++i) q[i] = (p[i] - mexp[size_t(i)]) * sc[size_t(i)] + sh[size_t(i)];
    }
  });
}

template <class T>
void backward(const BnGeom& g, const T* u, const T* x, const T* gamma, double eps, T* dx) {
  over_chunks<T>(g, [&](int64_t c0, int64_t c1, Chunk& ck, std::vector<T>& mexp, std::vector<T>& ea, std::vector<T>& eb,
                        std::vector<T>& ec) {
    const int64_t nc = c1 - c0, L = nc * g.S;
    std::vector<double> su(static_cast<size_t>(nc)), sux(static_cast<size_t>(nc));
    chunk_stats_sums(g, u, x, c0, c1, eps, ck, mexp, su.data(), sux.data());
    const double inv = 1.0 / double(g.m());
    // dx = a * (u - b) - c * (x - mean): a = gamma r, b = mean(u), c = gamma r^3 mean(u (x - mean)).
    expand_rows<T>(g, nc, ea, [&](int64_t c) { return T((gamma ? double(gamma[c0 + c]) : 1.0) * ck.r[size_t(c)]); });
    expand_rows<T>(g, nc, eb, [&](int64_t c) { return T(su[size_t(c)] * inv); });
    expand_rows<T>(g, nc, ec, [&](int64_t c) {
      const double r = ck.r[size_t(c)];
      return T((gamma ? double(gamma[c0 + c]) : 1.0) * r * r * r * sux[size_t(c)] * inv);
    });
    for (int64_t n = 0; n < g.N; ++n) {
      const T* p = x + (n * g.C + c0) * g.S;
      const T* q = u + (n * g.C + c0) * g.S;
      T* d = dx + (n * g.C + c0) * g.S;
      for (int64_t i = 0; i < L; ++i)
        d[i] = ea[size_t(i)] * (q[i] - eb[size_t(i)]) - ec[size_t(i)] * (p[i] - mexp[size_t(i)]);
    }
  });
}

template <class T>
void gamma_grad(const BnGeom& g, const T* dy, const T* x, double eps, T* out) {
  over_chunks<T>(g, [&](int64_t c0, int64_t c1, Chunk& ck, std::vector<T>& mexp, std::vector<T>&, std::vector<T>&,
                        std::vector<T>&) {
    std::vector<double> s(static_cast<size_t>(c1 - c0));
    chunk_stats_sums(g, dy, x, c0, c1, eps, ck, mexp, nullptr, s.data());
    for (int64_t c = c0; c < c1; ++c) out[c] = T(s[size_t(c - c0)] * ck.r[size_t(c - c0)]);
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
