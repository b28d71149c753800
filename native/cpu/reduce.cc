// CPU kernels of the reductions SUM MEAN MAX MIN ARGMAX LOGSUMEXP.
//
// Attributes: [naxes, axis0, axis1, ...] (sorted, unique, in [0, ndim)). The output holds the
// product of the kept dims, in order; whether the header's shape keeps the reduced dims as 1s
// does not matter here. dtypes: SUM/MAX/MIN keep the input dtype; MEAN and LOGSUMEXP write a float
// dtype (float32 for int32 input); ARGMAX writes int32 (an index into the reduced dims, row-major:
// along the axis, or into the flattened tensor for a full reduction).
//
// Layout: size-1 dims are dropped and adjacent dims of the same kind (kept/reduced) merged. A
// trailing kept run becomes `inner` (vectorised across it, in tiles); otherwise the last dim is
// reduced and contiguous, and each output reduces contiguous runs (vectorised across the run).
// The inner loops of SUM/MEAN/MAX/MIN (contiguous runs, rows of a tile) are in
// native/cpu/simd/reduce.cc, compiled per ISA; its header comment documents the summation order.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>

#include "core/dispatch.h"
#include "cpu/parallel.h"
#include "cpu/simd/reduce.cc"  // the per-ISA inner loops' entry points only (MG_ISA is not defined here)

namespace mg::cpu {
namespace {

constexpr int64_t kGrain = 1 << 15;
constexpr int kTile = 64;     // inner lanes per tile
constexpr int kBlock = 128;   // reduced steps per block (blocked summation in the tiled path)
constexpr int kMaxParts = 64; // partial results when one reduction is split across threads

struct Layout {
  int nk = 0, nr = 0;
  int64_t ks[kMaxDims], kst[kMaxDims];  // kept dims (outer), strides in elements
  int64_t rs[kMaxDims], rst[kMaxDims];  // reduced dims
  int64_t outer = 1, R = 1, inner = 1;
};

// ---- reduction policies ---------------------------------------------------------------------
// Each has a State, init(), step(state, value, reduced index), merge(into, later part),
// contig(state, p, n, idx0) for a contiguous run, rows(blk, xb, offs, nrows, w, r0) for `nrows`
// rows of a tile (row r at xb + offs[r], reduced index r0 + r, blk freshly init()ed), and
// finish(state, R) -> output value.

/** The tile rows of a policy without a vectorised version: step() element by element, in order. */
template <class P, class T>
inline void rows_by_step(typename P::S* blk, const T* xb, const int64_t* offs, int64_t nrows, int w, int64_t r0) {
  for (int64_t r = 0; r < nrows; ++r) {
    const T* row = xb + offs[r];
    for (int j = 0; j < w; ++j) P::step(blk[j], row[j], r0 + r);
  }
}

template <class T, class O>
struct SumR {
  using Acc = std::conditional_t<std::is_integral_v<T>, int64_t, double>;
  struct S { Acc a; };
  bool mean;
  static S init() { return {Acc(0)}; }
  static void step(S& s, T v, int64_t) { s.a += Acc(v); }
  static void merge(S& s, const S& o) { s.a += o.a; }
  // Pairwise over halves, 8 independent lanes at the leaves (native/cpu/simd/reduce.cc).
  static void contig(S& s, const T* p, int64_t n, int64_t) { s.a += MG_ISA_CALL(red_sum_run, p, n); }
  static void rows(S* blk, const T* xb, const int64_t* offs, int64_t nrows, int w, int64_t) {
    Acc t[kTile];
    MG_ISA_CALL(red_sum_rows, xb, offs, nrows, w, t);
    for (int j = 0; j < w; ++j) blk[j].a += t[j];  // blk[j].a is 0: the block sum exactly
  }
  O finish(const S& s, int64_t R) const {
    if (mean) return O(double(s.a) / double(R));  // R == 0 gives NaN, as in torch
    if constexpr (std::is_integral_v<O>) return O(uint32_t(uint64_t(s.a)));  // int32 wraps
    else return O(s.a);
  }
};

// MAX (IsMax) and MIN, NaN-propagating.
template <class T, bool IsMax>
struct ExtR {
  struct S { T v; };
  static S init() {
    if constexpr (std::is_integral_v<T>) return {IsMax ? std::numeric_limits<T>::min() : std::numeric_limits<T>::max()};
    else return {IsMax ? -std::numeric_limits<T>::infinity() : std::numeric_limits<T>::infinity()};
  }
  static T pick(T acc, T v) {
    if constexpr (IsMax) return (v > acc || v != v) ? v : acc;
    else return (v < acc || v != v) ? v : acc;
  }
  static void step(S& s, T v, int64_t) { s.v = pick(s.v, v); }
  static void merge(S& s, const S& o) { s.v = pick(s.v, o.v); }
  static void contig(S& s, const T* p, int64_t n, int64_t) { s.v = MG_ISA_CALL(red_ext_run, p, n, s.v, IsMax); }
  // TODO(perf): max/min axis 0 of [1000,1000] f32 regressed (0.2-0.3 ms before the tile loop took
  // precomputed row offsets, 0.6-1.6 ms after, with red_ext_rows or this loop); not yet understood.
  static void rows(S* blk, const T* xb, const int64_t* offs, int64_t nrows, int w, int64_t r0) {
    rows_by_step<ExtR>(blk, xb, offs, nrows, w, r0);
  }
  T finish(const S& s, int64_t) const { return s.v; }
};

// First index of the maximum; NaN counts as the maximum (its first occurrence wins).
template <class T>
struct ArgmaxR {
  struct S { T v; int64_t i; bool any; };
  static S init() { return {T(0), 0, false}; }
  static void step(S& s, T v, int64_t i) {
    if (!s.any || v > s.v || (v != v && s.v == s.v)) s = {v, i, true};
  }
  static void merge(S& s, const S& o) {
    if (o.any) step(s, o.v, o.i);  // `o` covers later indices, so ties keep `s`
  }
  static void contig(S& s, const T* p, int64_t n, int64_t i0) {
    for (int64_t i = 0; i < n; ++i) step(s, p[i], i0 + i);
  }
  static void rows(S* blk, const T* xb, const int64_t* offs, int64_t nrows, int w, int64_t r0) {
    rows_by_step<ArgmaxR>(blk, xb, offs, nrows, w, r0);
  }
  int32_t finish(const S& s, int64_t) const { return int32_t(s.i); }
};

// Online log-sum-exp: m = running max, s = sum of exp(x - m). Infinite m and NaN are resolved at
// the end, so exp(inf - inf) never reaches the result.
template <class T, class O>
struct LseR {
  struct S { double m, s; bool nan; };
  static S init() { return {-std::numeric_limits<double>::infinity(), 0.0, false}; }
  static void step(S& st, T v, int64_t) {
    double x = double(v);
    if (x != x) { st.nan = true; return; }
    if (x > st.m) {
      st.s = (std::isinf(st.m) ? 0.0 : st.s * std::exp(st.m - x)) + 1.0;
      st.m = x;
    } else if (!std::isinf(x)) {
      st.s += std::exp(x - st.m);
    }
  }
  static void merge(S& a, const S& b) {
    a.nan = a.nan || b.nan;
    if (b.m > a.m) {
      a.s = (std::isinf(a.m) ? 0.0 : a.s * std::exp(a.m - b.m)) + b.s;
      a.m = b.m;
    } else if (!std::isinf(b.m)) {
      a.s += b.s * std::exp(b.m - a.m);
    }
  }
  static void contig(S& s, const T* p, int64_t n, int64_t) {
    for (int64_t i = 0; i < n; ++i) step(s, p[i], 0);
  }
  static void rows(S* blk, const T* xb, const int64_t* offs, int64_t nrows, int w, int64_t r0) {
    rows_by_step<LseR>(blk, xb, offs, nrows, w, r0);
  }
  O finish(const S& s, int64_t) const {
    if (s.nan) return O(std::numeric_limits<double>::quiet_NaN());
    if (std::isinf(s.m)) return O(s.m);  // all -inf gives -inf; any +inf gives +inf
    return O(s.m + std::log(s.s));
  }
};

// ---- driver ---------------------------------------------------------------------------------

Layout make_layout(const Shape& x, const bool* red) {
  Layout L;
  int n = 0;
  int64_t sz[kMaxDims];
  bool rd[kMaxDims];
  for (int d = 0; d < x.ndim; ++d) {
    if (x.d[d] == 1) continue;
    if (n > 0 && rd[n - 1] == red[d]) sz[n - 1] *= x.d[d];
    else { sz[n] = x.d[d]; rd[n] = red[d]; ++n; }
  }
  int64_t st[kMaxDims];
  int64_t acc = 1;
  for (int d = n - 1; d >= 0; --d) { st[d] = acc; acc *= sz[d]; }
  if (n > 0 && !rd[n - 1]) { L.inner = sz[n - 1]; --n; }
  for (int d = 0; d < n; ++d) {
    if (rd[d]) { L.rs[L.nr] = sz[d]; L.rst[L.nr] = st[d]; L.R *= sz[d]; ++L.nr; }
    else { L.ks[L.nk] = sz[d]; L.kst[L.nk] = st[d]; L.outer *= sz[d]; ++L.nk; }
  }
  if (L.nr == 0) { L.rs[0] = 1; L.rst[0] = 1; L.nr = 1; }  // nothing reduced: runs of one
  return L;
}

inline int64_t kept_offset(const Layout& L, int64_t o) {
  int64_t off = 0;
  for (int d = L.nk - 1; d >= 0; --d) { off += (o % L.ks[d]) * L.kst[d]; o /= L.ks[d]; }
  return off;
}

// inner == 1: the last reduced dim is contiguous. Reduces reduced positions [r0, r1) (in runs of
// the last dim) of the output element whose input base offset is `base`.
template <class T, class P>
void reduce_runs(const P& pol, typename P::S& s, const T* x, const Layout& L, int64_t r0, int64_t r1) {
  const int last = L.nr - 1;
  const int64_t run = L.rs[last];
  // offset of reduced position r: odometer over the dims before the last
  int64_t r = r0;
  while (r < r1) {
    int64_t q = r / run, c = r % run, off = 0;
    for (int d = last - 1; d >= 0; --d) { off += (q % L.rs[d]) * L.rst[d]; q /= L.rs[d]; }
    const int64_t len = std::min(run - c, r1 - r);
    pol.contig(s, x + off + c, len, r);
    r += len;
  }
}

template <class T, class O, class P>
void reduce_impl(const P& pol, const Tensor& xt, Tensor* ot, const Layout& L) {
  const T* x = xt.data<T>();
  O* out = ot->data<O>();
  const int64_t R = L.R, inner = L.inner, outer = L.outer;
  const int64_t total = outer * R * inner;
  const int nth = num_threads();
  if (inner == 1) {
    if (total >= 2 * kGrain && outer < 2 * nth) {
      // Few outputs: split each reduction in fixed chunks (repeatable), merge in order.
      const int64_t parts = std::min<int64_t>(kMaxParts, std::max<int64_t>(1, R / kGrain));
      for (int64_t o = 0; o < outer; ++o) {
        const T* xb = x + kept_offset(L, o);
        typename P::S ps[kMaxParts];
        parallel_for(parts, 1, [&](int64_t b, int64_t e) {
          for (int64_t k = b; k < e; ++k) {
            ps[k] = P::init();
            reduce_runs(pol, ps[k], xb, L, R * k / parts, R * (k + 1) / parts);
          }
        });
        for (int64_t k = 1; k < parts; ++k) P::merge(ps[0], ps[k]);
        out[o] = pol.finish(ps[0], R);
      }
      return;
    }
    auto body = [&](int64_t b, int64_t e) {
      for (int64_t o = b; o < e; ++o) {
        typename P::S s = P::init();
        reduce_runs(pol, s, x + kept_offset(L, o), L, 0, R);
        out[o] = pol.finish(s, R);
      }
    };
    const int64_t g = std::max<int64_t>(1, kGrain / std::max<int64_t>(R, 1));
    if (total < 2 * kGrain) body(0, outer);
    else parallel_for(outer, g, body);
    return;
  }
  // inner > 1: tiles of kTile lanes; every reduced position adds one row of the tile.
  const int64_t ntiles = (inner + kTile - 1) / kTile;
  auto body = [&](int64_t b, int64_t e) {
    typename P::S acc[kTile], blk[kTile];
    int64_t idx[kMaxDims], offs[kBlock];
    for (int64_t u = b; u < e; ++u) {
      const int64_t o = u / ntiles, j0 = (u % ntiles) * kTile, w = std::min<int64_t>(kTile, inner - j0);
      const T* xb = x + kept_offset(L, o) + j0;  // strides already count the inner run
      for (int j = 0; j < w; ++j) acc[j] = P::init();
      for (int d = 0; d < L.nr; ++d) idx[d] = 0;
      int64_t off = 0;
      for (int64_t r = 0; r < R;) {
        const int64_t rend = std::min(R, r + kBlock);
        for (int j = 0; j < w; ++j) blk[j] = P::init();
        const int64_t r0 = r;
        for (; r < rend; ++r) {
          offs[r - r0] = off;
          for (int d = L.nr - 1; d >= 0; --d) {  // odometer over the reduced dims
            off += L.rst[d];
            if (++idx[d] < L.rs[d]) break;
            off -= idx[d] * L.rst[d];
            idx[d] = 0;
          }
        }
        P::rows(blk, xb, offs, rend - r0, w, r0);
        for (int j = 0; j < w; ++j) P::merge(acc[j], blk[j]);
      }
      for (int j = 0; j < w; ++j) out[o * inner + j0 + j] = pol.finish(acc[j], R);
    }
  };
  const int64_t units = outer * ntiles;
  const int64_t g = std::max<int64_t>(1, kGrain / std::max<int64_t>(R * std::min<int64_t>(inner, kTile), 1));
  if (total < 2 * kGrain) body(0, units);
  else parallel_for(units, g, body);
}

template <class T>
void dispatch_in(ExecArgs& a, const Tensor& x, Tensor* o, const Layout& L) {
  const char* nm = op_name(a.op);
  auto bad_out = [&]() { return Error(std::string(nm) + ": output dtype " + dtype_name(o->dtype) + " does not fit input " + dtype_name(x.dtype)); };
  switch (a.op) {
    case Op::SUM:
      if (o->dtype != x.dtype) throw bad_out();
      return reduce_impl<T, T>(SumR<T, T>{false}, x, o, L);
    case Op::MEAN:
    case Op::LOGSUMEXP:
      if (o->dtype == DType::F32) {
        if (a.op == Op::MEAN) return reduce_impl<T, float>(SumR<T, float>{true}, x, o, L);
        return reduce_impl<T, float>(LseR<T, float>{}, x, o, L);
      }
      if (o->dtype == DType::F64) {
        if (a.op == Op::MEAN) return reduce_impl<T, double>(SumR<T, double>{true}, x, o, L);
        return reduce_impl<T, double>(LseR<T, double>{}, x, o, L);
      }
      throw bad_out();
    case Op::MAX:
      if (o->dtype != x.dtype) throw bad_out();
      return reduce_impl<T, T>(ExtR<T, true>{}, x, o, L);
    case Op::MIN:
      if (o->dtype != x.dtype) throw bad_out();
      return reduce_impl<T, T>(ExtR<T, false>{}, x, o, L);
    case Op::ARGMAX:
      if (o->dtype != DType::I32) throw bad_out();
      return reduce_impl<T, int32_t>(ArgmaxR<T>{}, x, o, L);
    default: throw Error(std::string(nm) + ": not a reduction");
  }
}

void reduce_kernel(ExecArgs& a) {
  const Tensor& x = a.tensor(0);
  const char* nm = op_name(a.op);
  const Shape& s = x.shape;
  const int64_t naxes = a.iattr(0);
  if (naxes < 0 || naxes > s.ndim || naxes + 1 > a.nattrs) throw Error(std::string(nm) + ": bad axis count " + std::to_string(naxes) + " for shape " + s.str());
  bool red[kMaxDims] = {};
  int64_t prev = -1, R = 1, kept = 1;
  for (int64_t i = 0; i < naxes; ++i) {
    const double v = a.attrs[1 + i];
    if (!(v > double(prev) && v < double(s.ndim)) || v != std::floor(v))
      throw Error(std::string(nm) + ": bad axis list for shape " + s.str());
    prev = int64_t(v);
    red[prev] = true;
  }
  for (int d = 0; d < s.ndim; ++d) (red[d] ? R : kept) *= s.d[d];
  if (a.out_shape.numel() != kept)
    throw Error(std::string(nm) + ": output shape " + a.out_shape.str() + " does not hold the kept dims of " + s.str());
  if (a.op == Op::ARGMAX && naxes != 1 && naxes != s.ndim) throw Error(std::string(nm) + ": reduces one axis or all of them");
  if (R == 0 && kept > 0 && (a.op == Op::MAX || a.op == Op::MIN || a.op == Op::ARGMAX))
    throw Error(std::string(nm) + ": cannot reduce over zero elements (shape " + s.str() + ")");
  Tensor* o = a.alloc_out();
  if (kept == 0) return;
  if (x.numel() == 0) {  // R == 0: sum 0, mean NaN, logsumexp -inf
    Shape one;
    one.ndim = 0;
    Layout L = make_layout(one, red);
    L.R = 0;
    L.outer = kept;
    // Every output is the finish of an empty state; run the policies on a zero-length reduction.
    L.nr = 1;
    L.rs[0] = 0;
    L.rst[0] = 1;
    switch (x.dtype) {
      case DType::F32: return dispatch_in<float>(a, x, o, L);
      case DType::F64: return dispatch_in<double>(a, x, o, L);
      case DType::I32: return dispatch_in<int32_t>(a, x, o, L);
    }
    return;
  }
  Layout L = make_layout(s, red);
  switch (x.dtype) {
    case DType::F32: return dispatch_in<float>(a, x, o, L);
    case DType::F64: return dispatch_in<double>(a, x, o, L);
    case DType::I32: return dispatch_in<int32_t>(a, x, o, L);
  }
}

}  // namespace

MG_REGISTER_KERNEL(SUM, CPU, reduce_kernel);
MG_REGISTER_KERNEL(MEAN, CPU, reduce_kernel);
MG_REGISTER_KERNEL(MAX, CPU, reduce_kernel);
MG_REGISTER_KERNEL(MIN, CPU, reduce_kernel);
MG_REGISTER_KERNEL(ARGMAX, CPU, reduce_kernel);
MG_REGISTER_KERNEL(LOGSUMEXP, CPU, reduce_kernel);

}  // namespace mg::cpu
