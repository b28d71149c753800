// CPU kernels for 2-D convolution (NCHW, weight [O, C/groups, kh, kw]) and its two gradients.
// Small maps (Ho*Wo < 256): per group, the whole batch (in chunks of images when large) is one
// im2col matrix and one GEMM that threads itself. Big maps: per-image GEMMs over the pool, which
// write NCHW directly; 1x1/stride-1/no-pad kernels there skip im2col.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include "core/dispatch.h"
#include "cpu/gemm.h"
#include "cpu/parallel.h"
#include "cpu/scratch.h"
#include "cpu/conv_nhwc.h"
#include "cpu/winograd.h"

namespace mg::cpu {
namespace {

[[noreturn]] void fail(const char* op, const std::string& msg) { throw Error(std::string(op) + ": " + msg); }

void check_float4(const char* op, const char* what, const Tensor& t) {
  if (t.device() != Device::CPU) fail(op, std::string(what) + " is not on the CPU");
  if (t.dtype == DType::I32) fail(op, std::string(what) + " must be float32 or float64");
  if (t.shape.ndim != 4) fail(op, std::string(what) + " " + t.shape.str() + " must be 4-D");
}

// Runs a kernel body; the scratch and table allocations report running out of memory as an Error.
template <class F>
void run(const char* op, F&& body) {
  try {
    body();
  } catch (const std::bad_alloc&) {
    fail(op, "out of memory for im2col buffers");
  }
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

// Both transforms go through a zero-padded copy of one input plane (thread-local scratch), so the
// tap loops have no bounds tests: tiny maps (3x3) spend most of their im2col time on them.
template <class T>
T* pad_plane(const ConvGeom& g) {
  thread_local std::vector<T> buf;
  const size_t n = size_t((g.H + 2 * g.ph) * (g.W + 2 * g.pw)) + 8;  // + slack for block copies
  if (buf.size() < n) buf.resize(n);
  return buf.data();
}

// col[i*kw + j][oh*Wo + ow] = x[oh*sh - ph + i*dh][ow*sw - pw + j*dw] (0 outside) for one input
// plane x; `ld` is the row stride of col (the columns of several images sit side by side).
template <class T>
void im2col_plane(const ConvGeom& g, const T* x, T* col, int64_t ld) {
  const int64_t Wp = g.W + 2 * g.pw, Hp = g.H + 2 * g.ph;
  T* pad = pad_plane<T>(g);
  std::fill(pad, pad + g.ph * Wp, T(0));
  for (int64_t h = 0; h < g.H; ++h) {
    T* r = pad + (h + g.ph) * Wp;
    for (int64_t w = 0; w < g.pw; ++w) r[w] = T(0), r[g.pw + g.W + w] = T(0);
    std::memcpy(r + g.pw, x + h * g.W, size_t(g.W) * sizeof(T));
  }
  std::fill(pad + (g.ph + g.H) * Wp, pad + Hp * Wp, T(0));
  for (int64_t i = 0; i < g.kh; ++i)
    for (int64_t j = 0; j < g.kw; ++j) {
      T* row = col + (i * g.kw + j) * ld;
      for (int64_t oh = 0; oh < g.Ho; ++oh) {
        const T* s = pad + (oh * g.sh + i * g.dh) * Wp + j * g.dw;
        T* r = row + oh * g.Wo;
        if (g.sw == 1 && g.Wo >= 8 && oh + 1 < g.Ho) {
          // Whole blocks of 8 (vectorised, no remainder loop): the overshoot lands in the next
          // output row, written next; the source may overread into the pad's slack.
          for (int64_t ow = 0; ow < g.Wo; ow += 8)
            for (int k = 0; k < 8; ++k) r[ow + k] = s[ow + k];
        } else if (g.sw == 1) {
          for (int64_t ow = 0; ow < g.Wo; ++ow) r[ow] = s[ow];
        } else {
          for (int64_t ow = 0; ow < g.Wo; ++ow) r[ow] = s[ow * g.sw];
        }
      }
    }
}

// The adjoint of im2col_plane: dx = sum of col's taps (dx is overwritten).
template <class T>
void col2im_plane(const ConvGeom& g, const T* col, T* dx, int64_t ld) {
  const int64_t Wp = g.W + 2 * g.pw, Hp = g.H + 2 * g.ph;
  T* pad = pad_plane<T>(g);
  std::fill(pad, pad + Hp * Wp, T(0));
  // j outermost: taps i, i+1 at the same j hit the same addresses row-aligned, so stores
  // forward to the next loads (j, j+1 overlap shifted by one element, which stalls).
  for (int64_t j = 0; j < g.kw; ++j)
    for (int64_t i = 0; i < g.kh; ++i) {
      const T* row = col + (i * g.kw + j) * ld;
      for (int64_t oh = 0; oh < g.Ho; ++oh) {
        T* d = pad + (oh * g.sh + i * g.dh) * Wp + j * g.dw;
        const T* r = row + oh * g.Wo;
        if (g.sw == 1) {
          for (int64_t ow = 0; ow < g.Wo; ++ow) d[ow] += r[ow];
        } else {
          for (int64_t ow = 0; ow < g.Wo; ++ow) d[ow * g.sw] += r[ow];
        }
      }
    }
  for (int64_t h = 0; h < g.H; ++h) std::memcpy(dx + h * g.W, pad + (h + g.ph) * Wp + g.pw, size_t(g.W) * sizeof(T));
}

// The whole batch (or a chunk of it) shares one GEMM per group: im2col lays the images' columns
// side by side in a [K, nb*HWo] matrix, and one GEMM at the top level threads itself over the
// output; the im2col/col2im and NCHW permutes around it run over the pool. The GEMM splits only
// M and N across threads, so results do not depend on the thread count.

// Column buffers above this size are split into chunks of images: bounds memory and keeps the
// operands nearer the caches. MG_CONV_CHUNK_BYTES overrides it (tests force the chunked path).
constexpr int64_t kChunkBytes = int64_t(4) << 20;

int64_t chunk_images(const ConvGeom& g, int64_t rows, size_t elt) {
  int64_t limit = kChunkBytes;
  if (const char* s = std::getenv("MG_CONV_CHUNK_BYTES")) {
    const long long v = std::atoll(s);
    if (v > 0) limit = v;
  }
  const int64_t per_image = std::max<int64_t>(1, rows * g.HWo() * int64_t(elt));
  const int64_t most = std::clamp<int64_t>(limit / per_image, 1, std::max<int64_t>(g.N, 1));
  const int64_t chunks = (g.N + most - 1) / most;  // evenly sized chunks: no small GEMM at the end
  return std::max<int64_t>(1, (g.N + chunks - 1) / std::max<int64_t>(chunks, 1));
}

// Scratch slots of the im2col paths (cpu/scratch.h): 0 columns, 1 the permuted gradient/output.
struct ConvScratch {};
template <class T>
T* scratch(int slot, int64_t n) {
  return cpu::scratch<ConvScratch, T, 2>(slot, size_t(n));
}

// Narrow maps: each tap's HWo column entries are one gather through an index table (short rows
// make the row loops branch-bound: a 3x3 map has 3-element rows). The table indexes a copy of the
// plane with a zero appended at HWi, which stands for the padding.
constexpr int64_t kTableMax = 8192;

struct TapTable {
  std::vector<int32_t> src;  // [kh*kw][HWo]: index into the plane copy (HWi = the zero)
  int64_t ld;                // col row stride
  // The inverse, for col2im: input pixel k sums col entries off[start[k] .. start[k+1]) (in tap
  // order) in a register; a scatter-add would chain every tap through the same few addresses.
  std::vector<int64_t> start, off;
};

// Rows of 8+ outputs copy faster through the vectorised row loops of im2col_plane.
bool use_table(const ConvGeom& g) { return g.Wo < 8 && g.kh * g.kw * g.HWo() <= kTableMax && g.HWi() < (int64_t(1) << 30); }

TapTable tap_table(const ConvGeom& g, int64_t ld, bool inverse = false) {
  TapTable t;
  t.ld = ld;
  t.src.resize(size_t(g.kh * g.kw * g.HWo()));
  int64_t q = 0;
  for (int64_t i = 0; i < g.kh; ++i)
    for (int64_t j = 0; j < g.kw; ++j)
      for (int64_t oh = 0; oh < g.Ho; ++oh)
        for (int64_t ow = 0; ow < g.Wo; ++ow, ++q) {
          const int64_t ih = oh * g.sh - g.ph + i * g.dh, iw = ow * g.sw - g.pw + j * g.dw;
          t.src[size_t(q)] = int32_t(ih >= 0 && ih < g.H && iw >= 0 && iw < g.W ? ih * g.W + iw : g.HWi());
        }
  if (inverse) {
    const int64_t HWi = g.HWi(), HWo = g.HWo();
    t.start.assign(size_t(HWi + 2), 0);
    for (int32_t k : t.src)
      if (k < HWi) ++t.start[size_t(k) + 2];
    for (int64_t k = 2; k < HWi + 2; ++k) t.start[size_t(k)] += t.start[size_t(k - 1)];
    t.off.resize(size_t(t.start[size_t(HWi + 1)]));
    for (int64_t q2 = 0; q2 < int64_t(t.src.size()); ++q2) {
      const int32_t k = t.src[size_t(q2)];
      if (k < HWi) t.off[size_t(t.start[size_t(k) + 1]++)] = (q2 / HWo) * ld + q2 % HWo;
    }
  }
  return t;
}

template <class T>
T* plane_buf(int64_t n) {
  thread_local std::vector<T> buf;
  if (int64_t(buf.size()) < n) buf.resize(size_t(n));
  return buf.data();
}

template <class T>
void im2col_table(const ConvGeom& g, const TapTable& t, const T* x, T* col) {
  const int64_t HWi = g.HWi(), HWo = g.HWo(), taps = g.kh * g.kw;
  T* buf = plane_buf<T>(HWi + 1);
  for (int64_t k = 0; k < HWi; ++k) buf[k] = x[k];  // tiny planes: cheaper than a memcpy call
  buf[HWi] = T(0);
  const int32_t* s = t.src.data();
  for (int64_t tp = 0; tp < taps; ++tp, s += HWo) {
    T* r = col + tp * t.ld;
    for (int64_t p = 0; p < HWo; ++p) r[p] = buf[s[p]];
  }
}

template <class T>
void col2im_table(const ConvGeom& g, const TapTable& t, const T* col, T* dx) {
  const int64_t* st = t.start.data();
  const int64_t* off = t.off.data();
  for (int64_t k = 0; k < g.HWi(); ++k) {
    T s = T(0);
    for (int64_t e = st[k]; e < st[k + 1]; ++e) s += col[off[e]];
    dx[k] = s;
  }
}

// Images per partial sum of the big-map weight gradient.
constexpr int64_t kBlock = 8;

// From this many output pixels per image, per-image GEMMs (over the pool) are wide enough.
constexpr int64_t kWideMap = 256;

// im2col of images [n0, n0+nb) of group gr into col [K, nb*HWo], split over (image, channel).
template <class T>
void im2col_batch(const ConvGeom& g, const T* xp, int64_t n0, int64_t nb, int64_t gr, T* col) {
  const int64_t HWo = g.HWo(), ld = nb * HWo, kk = g.kh * g.kw;
  const bool tab = use_table(g);
  const TapTable t = tab ? tap_table(g, ld) : TapTable{};
  parallel_for(nb * g.Cg, grain_for(kk * HWo), [&](int64_t b, int64_t e) {
    for (int64_t u = b; u < e; ++u) {
      const int64_t c = u / nb, i = u % nb;  // channel-major: neighbours write adjacent columns
      const T* x = xp + ((n0 + i) * g.C + gr * g.Cg + c) * g.HWi();
      T* cu = col + c * kk * ld + i * HWo;
      if (tab) im2col_table(g, t, x, cu);
      else im2col_plane(g, x, cu, ld);
    }
  });
}

// dst[oc][i*HWo + p] = src[n0+i][gr*Og + oc][p]: gradOut of group gr as [Og, nb*HWo].
template <class T>
void gather_out(const ConvGeom& g, const T* src, int64_t n0, int64_t nb, int64_t gr, T* dst) {
  const int64_t HWo = g.HWo(), ld = nb * HWo;
  parallel_for(nb * g.Og, grain_for(HWo), [&](int64_t b, int64_t e) {
    for (int64_t u = b; u < e; ++u) {
      const int64_t i = u / g.Og, oc = u % g.Og;
      std::memcpy(dst + oc * ld + i * HWo, src + ((n0 + i) * g.O + gr * g.Og + oc) * HWo, size_t(HWo) * sizeof(T));
    }
  });
}

// CONV2D(x, w, bias|null): attrs [sh, sw, ph, pw, dh, dw, groups]
template <class T>
void conv2d_t(const ConvGeom& g, const Tensor& x, const Tensor& w, const Tensor* bias, Tensor* o) {
  const T* xp = x.data<T>();
  const T* wp = w.data<T>();
  const T* bp = bias ? bias->data<T>() : nullptr;
  T* op = o->data<T>();
  if (winograd_applies(g.kh, g.kw, g.sh, g.sw, g.dh, g.dw, g.ph, g.pw, g.Cg, g.Og, g.Ho, g.Wo, sizeof(T) == 8)) {
    winograd_conv2d<T>(xp, wp, bp, op, g.N, g.C, g.H, g.W, g.O, g.G, g.ph, g.pw);
    return;
  }
  if (nhwc_applies(g)) {
    nhwc_conv2d<T>(g, xp, wp, bp, op);
    return;
  }
  const int64_t K = g.K(), HWo = g.HWo(), HWi = g.HWi();
  auto add_bias = [&](int64_t n0, int64_t nb) {
    if (!bp) return;
    parallel_for(nb * g.O, grain_for(HWo), [&](int64_t b, int64_t e) {
      for (int64_t u = b; u < e; ++u) {
        T* r = op + (n0 * g.O + u) * HWo;
        const T bv = bp[u % g.O];
        for (int64_t p = 0; p < HWo; ++p) r[p] += bv;
      }
    });
  };
  if (HWo >= kWideMap) {
    // Big maps: per-image GEMMs over the pool are wide enough, write NCHW directly (no scatter)
    // and keep each image's columns in the thread's cache; 1x1 kernels skip im2col.
    parallel_for(g.N, 1, [&](int64_t b, int64_t e) {
      T* col = g.pointwise() ? nullptr : scratch<T>(0, K * HWo);
      for (int64_t n = b; n < e; ++n)
        for (int64_t gr = 0; gr < g.G; ++gr) {
          const T* xg = xp + (n * g.C + gr * g.Cg) * HWi;
          if (col) {
            for (int64_t c = 0; c < g.Cg; ++c) im2col_plane(g, xg + c * HWi, col + c * g.kh * g.kw * HWo, HWo);
          }
          gemm<T>(false, false, g.Og, HWo, K, T(1), wp + gr * g.Og * K, K, col ? col : xg, HWo, T(0),
                  op + (n * g.O + gr * g.Og) * HWo, HWo);
        }
    });
    add_bias(0, g.N);
    return;
  }
  const int64_t B = chunk_images(g, std::max(K, g.Og), sizeof(T));
  T* col = scratch<T>(0, K * B * HWo);
  T* tmp = scratch<T>(1, g.Og * B * HWo);
  for (int64_t n0 = 0; n0 < g.N; n0 += B) {
    const int64_t nb = std::min(B, g.N - n0), ld = nb * HWo;
    for (int64_t gr = 0; gr < g.G; ++gr) {
      im2col_batch(g, xp, n0, nb, gr, col);
      T* og = op + (n0 * g.O + gr * g.Og) * HWo;
      if (nb == 1) {
        gemm<T>(false, false, g.Og, HWo, K, T(1), wp + gr * g.Og * K, K, col, HWo, T(0), og, HWo);
        continue;
      }
      gemm<T>(false, false, g.Og, ld, K, T(1), wp + gr * g.Og * K, K, col, ld, T(0), tmp, ld);
      parallel_for(nb * g.Og, grain_for(HWo), [&](int64_t b, int64_t e) {
        for (int64_t u = b; u < e; ++u) {
          const int64_t i = u / g.Og, oc = u % g.Og;
          std::memcpy(og + (i * g.O + oc) * HWo, tmp + oc * ld + i * HWo, size_t(HWo) * sizeof(T));
        }
      });
    }
    add_bias(n0, nb);
  }
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
  run(op, [&] {
    if (x.dtype == DType::F32) conv2d_t<float>(g, x, w, bias, o);
    else conv2d_t<double>(g, x, w, bias, o);
  });
}

// CONV2D_INPUT_GRAD(gradOut, w): output = the input shape (header). dx = col2im(w^T @ gradOut).
template <class T>
void conv2d_input_grad_t(const ConvGeom& g, const Tensor& go, const Tensor& w, Tensor* o) {
  const T* gp = go.data<T>();
  const T* wp = w.data<T>();
  T* dp = o->data<T>();
  if (winograd_applies(g.kh, g.kw, g.sh, g.sw, g.dh, g.dw, g.ph, g.pw, g.Og, g.Cg, g.H, g.W, sizeof(T) == 8)) {
    winograd_conv2d_input_grad<T>(gp, wp, dp, g.N, g.C, g.H, g.W, g.O, g.G, g.ph, g.pw);
    return;
  }
  if (nhwc_applies(g)) {
    nhwc_conv2d_input_grad<T>(g, gp, wp, dp);
    return;
  }
  const int64_t K = g.K(), HWo = g.HWo(), HWi = g.HWi();
  if (HWo >= kWideMap) {  // per-image GEMMs as in the forward; 1x1: w^T @ gradOut is already dx
    parallel_for(g.N, 1, [&](int64_t b, int64_t e) {
      T* col = g.pointwise() ? nullptr : scratch<T>(0, K * HWo);
      for (int64_t n = b; n < e; ++n)
        for (int64_t gr = 0; gr < g.G; ++gr) {
          T* dx = dp + (n * g.C + gr * g.Cg) * HWi;
          gemm<T>(true, false, K, HWo, g.Og, T(1), wp + gr * g.Og * K, K, gp + (n * g.O + gr * g.Og) * HWo, HWo, T(0),
                  col ? col : dx, HWo);
          if (col) {
            for (int64_t c = 0; c < g.Cg; ++c) col2im_plane(g, col + c * g.kh * g.kw * HWo, dx + c * HWi, HWo);
          }
        }
    });
    return;
  }
  const int64_t B = chunk_images(g, std::max(K, g.Og), sizeof(T));
  T* col = scratch<T>(0, K * B * HWo);
  T* gbuf = scratch<T>(1, g.Og * B * HWo);
  for (int64_t n0 = 0; n0 < g.N; n0 += B) {
    const int64_t nb = std::min(B, g.N - n0), ld = nb * HWo;
    const bool tab = use_table(g);
    const TapTable t = tab ? tap_table(g, ld, true) : TapTable{};
    for (int64_t gr = 0; gr < g.G; ++gr) {
      gather_out(g, gp, n0, nb, gr, gbuf);
      gemm<T>(true, false, K, ld, g.Og, T(1), wp + gr * g.Og * K, K, gbuf, ld, T(0), col, ld);
      // Each (image, channel) plane gathers only its own rows of col: independent tasks.
      const int64_t kk = g.kh * g.kw;
      parallel_for(nb * g.Cg, grain_for(kk * HWo), [&](int64_t b, int64_t e) {
        for (int64_t u = b; u < e; ++u) {
          const int64_t c = u / nb, i = u % nb;  // channel-major: neighbours read adjacent columns
          const T* cu = col + c * kk * ld + i * HWo;
          T* dx = dp + ((n0 + i) * g.C + gr * g.Cg + c) * HWi;
          if (tab) col2im_table(g, t, cu, dx);
          else col2im_plane(g, cu, dx, ld);
        }
      });
    }
  }
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
  run(op, [&] {
    if (go.dtype == DType::F32) conv2d_input_grad_t<float>(g, go, w, o);
    else conv2d_input_grad_t<double>(g, go, w, o);
  });
}

// CONV2D_WEIGHT_GRAD(gradOut, x): output = the weight shape (header).
// dW_g = gradOut_g[Og, N*HWo] @ im2col(x_g)[K, N*HWo]^T: one GEMM per chunk of images, chunks
// accumulated in order (beta = 1). The chunking depends only on the shapes, and the GEMM splits
// only M and N over threads, so the sum order is fixed: bit-identical across runs and threads.
template <class T>
void conv2d_weight_grad_t(const ConvGeom& g, const Tensor& go, const Tensor& x, Tensor* o) {
  const T* gp = go.data<T>();
  const T* xp = x.data<T>();
  T* dw = o->data<T>();
  const int64_t K = g.K(), HWo = g.HWo();
  if (g.N == 0) {
    std::fill(dw, dw + g.O * K, T(0));
    return;
  }
  if (winograd_applies(g.kh, g.kw, g.sh, g.sw, g.dh, g.dw, g.ph, g.pw, g.Cg, g.Og, g.Ho, g.Wo, sizeof(T) == 8)) {
    winograd_conv2d_weight_grad<T>(gp, xp, dw, g.N, g.C, g.H, g.W, g.O, g.G, g.ph, g.pw);
    return;
  }
  if (nhwc_applies(g)) {
    nhwc_conv2d_weight_grad<T>(g, gp, xp, dw);
    return;
  }
  if (HWo >= kWideMap) {
    // Big maps: each image's gradOut rows are already a [Og, HWo] matrix (no gather). Images are
    // summed in fixed blocks of kBlock into per-block partials, added in block order, so the
    // result depends only on the shapes, not on the threads.
    const int64_t HWi = g.HWi(), WN = g.O * K, nblocks = (g.N + kBlock - 1) / kBlock;
    std::vector<T> partial(size_t((nblocks - 1) * WN));
    parallel_for(nblocks, 1, [&](int64_t b, int64_t e) {
      T* col = g.pointwise() ? nullptr : scratch<T>(0, K * HWo);
      for (int64_t blk = b; blk < e; ++blk) {
        T* acc = blk == 0 ? dw : partial.data() + (blk - 1) * WN;
        for (int64_t n = blk * kBlock; n < std::min(g.N, (blk + 1) * kBlock); ++n)
          for (int64_t gr = 0; gr < g.G; ++gr) {
            const T* xg = xp + (n * g.C + gr * g.Cg) * HWi;
            if (col) {
              for (int64_t c = 0; c < g.Cg; ++c) im2col_plane(g, xg + c * HWi, col + c * g.kh * g.kw * HWo, HWo);
            }
            gemm<T>(false, true, g.Og, K, HWo, T(1), gp + (n * g.O + gr * g.Og) * HWo, HWo, col ? col : xg, HWo,
                    n == blk * kBlock ? T(0) : T(1), acc + gr * g.Og * K, K);
          }
      }
    });
    parallel_for(WN, 1 << 14, [&](int64_t b, int64_t e) {
      for (int64_t blk = 1; blk < nblocks; ++blk) {
        const T* p = partial.data() + (blk - 1) * WN;
        for (int64_t i = b; i < e; ++i) dw[i] += p[i];
      }
    });
    return;
  }
  const int64_t B = chunk_images(g, std::max(K, g.Og), sizeof(T));
  T* col = scratch<T>(0, K * B * HWo);
  T* gbuf = scratch<T>(1, g.Og * B * HWo);
  for (int64_t n0 = 0; n0 < g.N; n0 += B) {
    const int64_t nb = std::min(B, g.N - n0), ld = nb * HWo;
    for (int64_t gr = 0; gr < g.G; ++gr) {
      im2col_batch(g, xp, n0, nb, gr, col);
      gather_out(g, gp, n0, nb, gr, gbuf);
      // One column slab of dW per thread: the gemm's own split would pack the long gbuf panel once
      // per task; here each thread packs it once. Slabs change no sums, only who computes them.
      const T beta = n0 == 0 ? T(0) : T(1);
      const int64_t nt = K >= 64 * num_threads() ? num_threads() : 1;  // narrow dW: the gemm splits M
      const int64_t slab = ((K + nt - 1) / nt + 15) / 16 * 16;
      if (nt == 1) {
        gemm<T>(false, true, g.Og, K, ld, T(1), gbuf, ld, col, ld, beta, dw + gr * g.Og * K, K);
      } else {
        parallel_for(nt, 1, [&](int64_t b, int64_t e) {
          for (int64_t s = b; s < e; ++s) {
            const int64_t k0 = s * slab, kn = std::min(slab, K - k0);
            if (kn > 0)
              gemm<T>(false, true, g.Og, kn, ld, T(1), gbuf, ld, col + k0 * ld, ld, beta, dw + gr * g.Og * K + k0, K);
          }
        });
      }
    }
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
  run(op, [&] {
    if (go.dtype == DType::F32) conv2d_weight_grad_t<float>(g, go, x, o);
    else conv2d_weight_grad_t<double>(g, go, x, o);
  });
}

}  // namespace

MG_REGISTER_KERNEL(CONV2D, CPU, conv2d);
MG_REGISTER_KERNEL(CONV2D_INPUT_GRAD, CPU, conv2d_input_grad);
MG_REGISTER_KERNEL(CONV2D_WEIGHT_GRAD, CPU, conv2d_weight_grad);

}  // namespace mg::cpu
