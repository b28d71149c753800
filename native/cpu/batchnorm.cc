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
#include <type_traits>
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
// One Chunk of scratch per thread, reused across calls.
template <class T>
struct Chunk {
  std::vector<double> acc, mu;           // acc: 4 rows of L accumulators; mu: L (shift or mean)
  std::vector<double> mean, r, su, sux;  // per channel of the chunk
  std::vector<T> mexp, e1, e2, e3;       // per element: the mean, and up to three coefficients
};

int64_t chunk_channels(const BnGeom& g) { return std::clamp<int64_t>(2048 / std::max<int64_t>(g.S, 1), 1, g.C); }

// Fills ck.mean, ck.r and ck.mexp for the chunk's channels and, when u is given, ck.su = sum(u) and
// ck.sux = sum(u * (x - mean)). float32, summed in double, takes one pass over x - K, (x - K)^2
// (and u, u (x - K)) about the channel's first value K: double has 29 bits to spare, so the shifted
// form loses nothing a float32 input can show unless the mean sits 1e4 standard deviations from K;
// sum u (x - mean) = sum u (x - K) - (mean - K) sum u. float64 sums x, then (x - mean)^2 and the
// u terms about the mean (exact to a few ulps).
template <class T>
void moments(const BnGeom& g, const T* u, const T* x, int64_t c0, int64_t c1, double eps, Chunk<T>& ck) {
  const int64_t nc = c1 - c0, L = nc * g.S;
  const double inv = 1.0 / double(g.m());
  for (auto* v : {&ck.mean, &ck.r, &ck.su, &ck.sux}) v->resize(size_t(nc));
  ck.mexp.resize(size_t(L));
  ck.mu.resize(size_t(L));
  ck.acc.assign(size_t(4 * L), 0.0);
  double *a = ck.acc.data(), *a2 = a + L, *au = a + 2 * L, *aux = a + 3 * L, *mu = ck.mu.data();
  // Per channel: the sums of rows a, a2, au, aux over its S accumulators, in order.
  auto reduce = [&](int64_t c, double* s) {
    s[0] = s[1] = s[2] = s[3] = 0;
    for (int64_t k = c * g.S; k < (c + 1) * g.S; ++k) s[0] += a[k], s[1] += a2[k], s[2] += au[k], s[3] += aux[k];
  };
  auto set_mean = [&](int64_t c, double mean) {
    ck.mean[size_t(c)] = mean;
    for (int64_t k = c * g.S; k < (c + 1) * g.S; ++k) ck.mexp[size_t(k)] = T(mean), mu[k] = mean;
  };
  auto rows = [&](auto&& body) {
    for (int64_t n = 0; n < g.N; ++n) body(x + (n * g.C + c0) * g.S, u ? u + (n * g.C + c0) * g.S : nullptr);
  };
  double s[4];
  if (sizeof(T) == 4) {
    for (int64_t c = 0; c < nc; ++c)
      for (int64_t k = c * g.S; k < (c + 1) * g.S; ++k) mu[k] = double(x[(c0 + c) * g.S]);  // K
    rows([&](const T* p, const T* q) {
      for (int64_t i = 0; i < L; ++i) {
        const double d = double(p[i]) - mu[i];
        a[i] += d;
        a2[i] += d * d;
      }
      if (q)
        for (int64_t i = 0; i < L; ++i) {
          const double uq = double(q[i]);
          au[i] += uq;
          aux[i] += uq * (double(p[i]) - mu[i]);
        }
    });
    for (int64_t c = 0; c < nc; ++c) {
      reduce(c, s);
      const double dm = s[0] * inv;
      ck.r[size_t(c)] = 1.0 / std::sqrt(std::max(0.0, s[1] * inv - dm * dm) + eps);
      ck.su[size_t(c)] = s[2];
      ck.sux[size_t(c)] = s[3] - dm * s[2];
      set_mean(c, mu[c * g.S] + dm);
    }
    return;
  }
  rows([&](const T* p, const T*) {
    for (int64_t i = 0; i < L; ++i) a[i] += double(p[i]);
  });
  for (int64_t c = 0; c < nc; ++c) {
    reduce(c, s);
    set_mean(c, s[0] * inv);
  }
  rows([&](const T* p, const T* q) {
    for (int64_t i = 0; i < L; ++i) {
      const double d = double(p[i]) - mu[i];
      a2[i] += d * d;
      if (q) au[i] += double(q[i]), aux[i] += double(q[i]) * d;
    }
  });
  for (int64_t c = 0; c < nc; ++c) {
    reduce(c, s);
    ck.r[size_t(c)] = 1.0 / std::sqrt(s[1] * inv + eps);
    ck.su[size_t(c)] = s[2];
    ck.sux[size_t(c)] = s[3];
  }
}

template <class T, class Body>
void over_chunks(const BnGeom& g, Body&& body) {
  const int64_t cc = chunk_channels(g), nchunks = (g.C + cc - 1) / cc;
  parallel_for(nchunks, 1, [&](int64_t b, int64_t e) {
    thread_local Chunk<T> ck;
    for (int64_t q = b; q < e; ++q) body(q * cc, std::min(g.C, (q + 1) * cc), ck);
  });
}

// row[c * S + k] = per_channel(c) for the chunk's nc channels.
template <class T, class F>
void expand_rows(const BnGeom& g, int64_t nc, std::vector<T>& row, F&& per_channel) {
  row.resize(size_t(nc * g.S));
  for (int64_t c = 0; c < nc; ++c) std::fill(row.begin() + c * g.S, row.begin() + (c + 1) * g.S, T(per_channel(c)));
}

template <class T>
void forward(const BnGeom& g, const T* x, const T* gamma, const T* beta, double eps, T* y) {
  over_chunks<T>(g, [&](int64_t c0, int64_t c1, Chunk<T>& ck) {
    moments<T>(g, nullptr, x, c0, c1, eps, ck);
    const int64_t nc = c1 - c0, L = nc * g.S;
    expand_rows(g, nc, ck.e1, [&](int64_t c) { return T(ck.r[size_t(c)]) * (gamma ? gamma[c0 + c] : T(1)); });
    expand_rows(g, nc, ck.e2, [&](int64_t c) { return beta ? beta[c0 + c] : T(0); });
    const T *m = ck.mexp.data(), *sc = ck.e1.data(), *sh = ck.e2.data();
    for (int64_t n = 0; n < g.N; ++n) {
      const T* p = x + (n * g.C + c0) * g.S;
      T* q = y + (n * g.C + c0) * g.S;
      for (int64_t i = 0; i < L; ++i) q[i] = (p[i] - m[i]) * sc[i] + sh[i];
    }
  });
}

template <class T>
void backward(const BnGeom& g, const T* u, const T* x, const T* gamma, double eps, T* dx) {
  over_chunks<T>(g, [&](int64_t c0, int64_t c1, Chunk<T>& ck) {
    moments(g, u, x, c0, c1, eps, ck);
    const int64_t nc = c1 - c0, L = nc * g.S;
    const double inv = 1.0 / double(g.m());
    // dx = a * (u - b) - c * (x - mean): a = gamma r, b = mean(u), c = gamma r^3 mean(u (x - mean)).
    const auto gm = [&](int64_t c) { return gamma ? double(gamma[c0 + c]) : 1.0; };
    expand_rows(g, nc, ck.e1, [&](int64_t c) { return gm(c) * ck.r[size_t(c)]; });
    expand_rows(g, nc, ck.e2, [&](int64_t c) { return ck.su[size_t(c)] * inv; });
    expand_rows(g, nc, ck.e3, [&](int64_t c) {
      const double r = ck.r[size_t(c)];
      return gm(c) * r * r * r * ck.sux[size_t(c)] * inv;
    });
    const T *m = ck.mexp.data(), *ea = ck.e1.data(), *eb = ck.e2.data(), *ec = ck.e3.data();
    for (int64_t n = 0; n < g.N; ++n) {
      const T* p = x + (n * g.C + c0) * g.S;
      const T* q = u + (n * g.C + c0) * g.S;
      T* d = dx + (n * g.C + c0) * g.S;
      for (int64_t i = 0; i < L; ++i) d[i] = ea[i] * (q[i] - eb[i]) - ec[i] * (p[i] - m[i]);
    }
  });
}

template <class T>
void gamma_grad(const BnGeom& g, const T* dy, const T* x, double eps, T* out) {
  over_chunks<T>(g, [&](int64_t c0, int64_t c1, Chunk<T>& ck) {
    moments(g, dy, x, c0, c1, eps, ck);
    for (int64_t c = c0; c < c1; ++c) out[c] = T(ck.sux[size_t(c - c0)] * ck.r[size_t(c - c0)]);
  });
}

template <class T>
const T* ptr(const Tensor* t) { return t ? t->data<T>() : nullptr; }


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
  for_dtype(x.dtype, [&](auto z) {
    using T = decltype(z);
    if constexpr (!std::is_integral_v<T>) {
      forward<T>(g, x.data<T>(), ptr<T>(gm), ptr<T>(bt), eps, o->data<T>());
    }
  });
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
  for_dtype(x.dtype, [&](auto z) {
    using T = decltype(z);
    if constexpr (!std::is_integral_v<T>) {
      backward<T>(g, u.data<T>(), x.data<T>(), ptr<T>(gm), eps, o->data<T>());
    }
  });
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
  for_dtype(x.dtype, [&](auto z) {
    using T = decltype(z);
    if constexpr (!std::is_integral_v<T>) {
      if (g.m() == 0) std::fill(o->data<T>(), o->data<T>() + g.C, T(0));
      else gamma_grad<T>(g, dy.data<T>(), x.data<T>(), eps, o->data<T>());
    }
  });
}

}  // namespace

MG_REGISTER_KERNEL(BATCH_NORM, CPU, batch_norm);
MG_REGISTER_KERNEL(BATCH_NORM_BACKWARD, CPU, batch_norm_backward);
MG_REGISTER_KERNEL(BATCH_NORM_GAMMA_GRAD, CPU, batch_norm_gamma_grad);

}  // namespace mg::cpu
