// CUDA kernels of the reductions SUM MEAN MAX MIN ARGMAX LOGSUMEXP, with the CPU kernels'
// attributes and semantics (native/cpu/reduce.cc): attrs [naxes, axis0, ...]; SUM/MAX/MIN keep
// the dtype, MEAN and LOGSUMEXP write a float dtype, ARGMAX int32 (the index among the reduced
// positions, row-major); sums accumulate in double (int64 for int32, which wraps at the end);
// MAX/MIN propagate NaN; ARGMAX takes the first maximum, a NaN counting as the maximum;
// LOGSUMEXP is the online max-shifted sum. A reduction over zero elements gives 0 (sum), NaN
// (mean), -inf (logsumexp) and is an error for MAX/MIN/ARGMAX.
//
// Layout (as on the CPU): size-1 dims dropped, adjacent kept/reduced dims merged; `inner` is a
// trailing kept run. Two kernels: one thread per output walking the reduced positions with an
// odometer (inner > 1, where neighbouring threads read neighbouring columns, or short rows), and
// one block per output row (inner == 1, long rows) with a shared-memory tree. When there are too
// few outputs to fill the GPU, the reduced range is split over blockIdx.y into partial states
// that a second kernel merges in order, so results depend only on the shapes and the GPU model.
#include <algorithm>
#include <cmath>
#include <string>
#include <type_traits>

#include "cuda/common.cuh"

namespace mg::cuda {
namespace {

struct Layout {
  int nk = 0, nr = 0;
  int64_t ks[kMaxDims], kst[kMaxDims];
  int64_t rs[kMaxDims], rst[kMaxDims];
  int64_t outer = 1, R = 1, inner = 1;
};

__device__ __forceinline__ int64_t kept_offset(const Layout& L, int64_t o) {
  int64_t off = 0;
  for (int d = L.nk - 1; d >= 0; --d) {
    const int64_t q = o / L.ks[d];
    off += (o - q * L.ks[d]) * L.kst[d];
    o = q;
  }
  return off;
}
__device__ __forceinline__ int64_t red_offset(const Layout& L, int64_t r) {
  if (L.nr == 1) return r * L.rst[0];
  int64_t off = 0;
  for (int d = L.nr - 1; d >= 0; --d) {
    const int64_t q = r / L.rs[d];
    off += (r - q * L.rs[d]) * L.rst[d];
    r = q;
  }
  return off;
}

// ---- policies --------------------------------------------------------------------------------
template <class T, class O>
struct SumP {
  using Acc = std::conditional_t<std::is_integral_v<T>, long long, double>;
  struct S { Acc a; };
  bool mean;
  __device__ static S init() { return {Acc(0)}; }
  __device__ static void step(S& s, T v, int64_t) { s.a += Acc(v); }
  __device__ static void merge(S& s, const S& o) { s.a += o.a; }
  __device__ O finish(const S& s, int64_t R) const {
    if (mean) return O(double(s.a) / double(R));
    if constexpr (std::is_integral_v<O>) return O(uint32_t((unsigned long long)(s.a)));
    else return O(s.a);
  }
};

template <class T>
__device__ __forceinline__ T lowest() {
  if constexpr (std::is_same_v<T, int32_t>) return T(-2147483647 - 1);
  else return -T(INFINITY);
}
template <class T>
__device__ __forceinline__ T highest() {
  if constexpr (std::is_same_v<T, int32_t>) return T(2147483647);
  else return T(INFINITY);
}

template <class T, bool IsMax>
struct ExtP {
  struct S { T v; };
  __device__ static S init() { return {IsMax ? lowest<T>() : highest<T>()}; }
  __device__ static T pick(T acc, T v) {
    if constexpr (IsMax) return (v > acc || v != v) ? v : acc;
    else return (v < acc || v != v) ? v : acc;
  }
  __device__ static void step(S& s, T v, int64_t) { s.v = pick(s.v, v); }
  // A NaN on either side wins (order does not matter: NaN payloads are not compared).
  __device__ static void merge(S& s, const S& o) { s.v = (s.v != s.v) ? s.v : pick(s.v, o.v); }
  __device__ T finish(const S& s, int64_t) const { return s.v; }
};

// The first maximum: larger wins, NaN beats numbers, ties go to the smaller index. The rule is
// symmetric, so the tree's merge order does not matter.
template <class T>
struct ArgmaxP {
  struct S { T v; long long i; int any; };
  __device__ static S init() { return {T(0), 0, 0}; }
  __device__ static bool beats(const S& s, T v, long long i) {
    if (!s.any) return true;
    const bool n1 = s.v != s.v, n2 = v != v;
    if (n1 && n2) return i < s.i;
    if (n1) return false;
    if (n2) return true;
    return v > s.v || (v == s.v && i < s.i);
  }
  __device__ static void step(S& s, T v, int64_t i) {
    if (beats(s, v, i)) s = {v, (long long)i, 1};
  }
  __device__ static void merge(S& s, const S& o) {
    if (o.any && beats(s, o.v, o.i)) s = o;
  }
  __device__ int32_t finish(const S& s, int64_t) const { return int32_t(s.i); }
};

template <class T, class O>
struct LseP {
  struct S { double m, s; int nan; };
  __device__ static S init() { return {-INFINITY, 0.0, 0}; }
  __device__ static void step(S& st, T v, int64_t) {
    const double x = double(v);
    if (x != x) { st.nan = 1; return; }
    if (x > st.m) {
      st.s = (isinf(st.m) ? 0.0 : st.s * exp(st.m - x)) + 1.0;
      st.m = x;
    } else if (!isinf(x)) {
      st.s += exp(x - st.m);
    }
  }
  __device__ static void merge(S& a, const S& b) {
    a.nan = a.nan || b.nan;
    if (b.m > a.m) {
      a.s = (isinf(a.m) ? 0.0 : a.s * exp(a.m - b.m)) + b.s;
      a.m = b.m;
    } else if (!isinf(b.m)) {
      a.s += b.s * exp(b.m - a.m);
    }
  }
  __device__ O finish(const S& s, int64_t) const {
    if (s.nan) return O(NAN);
    if (isinf(s.m)) return O(s.m);
    return O(s.m + log(s.s));
  }
};

// ---- kernels ---------------------------------------------------------------------------------

// One thread per output (o, j); reduced positions [R*y/splits, R*(y+1)/splits) for y = blockIdx.y.
template <class P, class T, class O>
__global__ void reduce_thread(Layout L, const T* __restrict__ x, O* __restrict__ out, typename P::S* part, int splits, P pol) {
  const int64_t outputs = L.outer * L.inner;
  const int64_t y = blockIdx.y;
  const int64_t r0 = L.R * y / splits, r1 = L.R * (y + 1) / splits;
  MG_GRID_STRIDE(u, outputs) {
    const int64_t o = u / L.inner, j = u - o * L.inner;
    const T* xb = x + kept_offset(L, o) + j;
    typename P::S s = P::init();
    // odometer over the reduced dims, from r0
    int64_t idx[kMaxDims];
    int64_t off = 0, r = r0;
    for (int d = L.nr - 1; d >= 0; --d) {
      const int64_t q = r / L.rs[d];
      idx[d] = r - q * L.rs[d];
      off += idx[d] * L.rst[d];
      r = q;
    }
    for (int64_t rr = r0; rr < r1; ++rr) {
      P::step(s, xb[off], rr);
      for (int d = L.nr - 1; d >= 0; --d) {
        off += L.rst[d];
        if (++idx[d] < L.rs[d]) break;
        off -= idx[d] * L.rst[d];
        idx[d] = 0;
      }
    }
    if (splits == 1) out[u] = pol.finish(s, L.R);
    else part[y * outputs + u] = s;
  }
}

constexpr int kRedBlock = 256;

// One block per output row (inner == 1); blockIdx.y splits the row.
template <class P, class T, class O>
__global__ void reduce_block(Layout L, const T* __restrict__ x, O* __restrict__ out, typename P::S* part, int splits, P pol) {
  __shared__ typename P::S sh[kRedBlock];
  const int64_t o = blockIdx.x, y = blockIdx.y;
  const int64_t r0 = L.R * y / splits, r1 = L.R * (y + 1) / splits;
  const T* xb = x + kept_offset(L, o);
  typename P::S s = P::init();
  for (int64_t r = r0 + threadIdx.x; r < r1; r += kRedBlock) P::step(s, xb[red_offset(L, r)], r);
  sh[threadIdx.x] = s;
  __syncthreads();
  for (int w = kRedBlock / 2; w > 0; w >>= 1) {
    if (int(threadIdx.x) < w) P::merge(sh[threadIdx.x], sh[threadIdx.x + w]);
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    if (splits == 1) out[o] = pol.finish(sh[0], L.R);
    else part[y * L.outer + o] = sh[0];
  }
}

template <class P, class O>
__global__ void reduce_finish(const typename P::S* part, int splits, int64_t outputs, O* __restrict__ out, int64_t R, P pol) {
  MG_GRID_STRIDE(u, outputs) {
    typename P::S s = part[u];
    for (int y = 1; y < splits; ++y) P::merge(s, part[y * outputs + u]);
    out[u] = pol.finish(s, R);
  }
}

template <class T, class O, class P>
void run(const P& pol, const Tensor& x, Tensor* o, const Layout& L) {
  using S = typename P::S;
  const int64_t outputs = L.outer * L.inner;
  const int sms = props().multiProcessorCount;
  const T* xp = x.data<T>();
  O* op = o->data<O>();
  if (L.inner > 1 || L.R <= 32) {
    int64_t splits = 1;
    const int64_t want = int64_t(sms) * 1024;  // threads to keep the GPU busy
    if (outputs < want && L.R >= 128) splits = std::min<int64_t>({(want + outputs - 1) / outputs, L.R / 64, 1024});
    if (splits < 1) splits = 1;
    dim3 grid(grid_for(outputs), unsigned(splits));
    if (splits == 1) {
      reduce_thread<P, T, O><<<grid, kBlock, 0, stream()>>>(L, xp, op, nullptr, 1, pol);
    } else {
      Scratch part(sizeof(S) * size_t(outputs * splits));
      reduce_thread<P, T, O><<<grid, kBlock, 0, stream()>>>(L, xp, op, part.as<S>(), int(splits), pol);
      reduce_finish<P, O><<<grid_for(outputs), kBlock, 0, stream()>>>(part.as<S>(), int(splits), outputs, op, L.R, pol);
    }
  } else {
    int64_t splits = 1;
    if (L.outer < 2 * sms) splits = std::min<int64_t>({(2 * sms + L.outer - 1) / L.outer * 2, std::max<int64_t>(1, L.R / 4096), 1024});
    if (splits < 1) splits = 1;
    if (L.outer > 2147483647) throw Error("reduction: too many output rows");
    dim3 grid(unsigned(L.outer), unsigned(splits));
    if (splits == 1) {
      reduce_block<P, T, O><<<grid, kRedBlock, 0, stream()>>>(L, xp, op, nullptr, 1, pol);
    } else {
      Scratch part(sizeof(S) * size_t(outputs * splits));
      reduce_block<P, T, O><<<grid, kRedBlock, 0, stream()>>>(L, xp, op, part.as<S>(), int(splits), pol);
      reduce_finish<P, O><<<grid_for(outputs), kBlock, 0, stream()>>>(part.as<S>(), int(splits), outputs, op, L.R, pol);
    }
  }
  check_launch("reduction");
}

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
  if (L.nr == 0) { L.rs[0] = 1; L.rst[0] = 1; L.nr = 1; }
  return L;
}

template <class T>
void dispatch_in(ExecArgs& a, const Tensor& x, Tensor* o, const Layout& L) {
  const char* nm = op_name(a.op);
  auto bad_out = [&]() { return Error(std::string(nm) + ": output dtype " + dtype_name(o->dtype) + " does not fit input " + dtype_name(x.dtype)); };
  switch (a.op) {
    case Op::SUM:
      if (o->dtype != x.dtype) throw bad_out();
      return run<T, T>(SumP<T, T>{false}, x, o, L);
    case Op::MEAN:
      if (o->dtype == DType::F32) return run<T, float>(SumP<T, float>{true}, x, o, L);
      if (o->dtype == DType::F64) return run<T, double>(SumP<T, double>{true}, x, o, L);
      throw bad_out();
    case Op::LOGSUMEXP:
      if (o->dtype == DType::F32) return run<T, float>(LseP<T, float>{}, x, o, L);
      if (o->dtype == DType::F64) return run<T, double>(LseP<T, double>{}, x, o, L);
      throw bad_out();
    case Op::MAX:
      if (o->dtype != x.dtype) throw bad_out();
      return run<T, T>(ExtP<T, true>{}, x, o, L);
    case Op::MIN:
      if (o->dtype != x.dtype) throw bad_out();
      return run<T, T>(ExtP<T, false>{}, x, o, L);
    case Op::ARGMAX:
      if (o->dtype != DType::I32) throw bad_out();
      return run<T, int32_t>(ArgmaxP<T>{}, x, o, L);
    default: throw Error(std::string(nm) + ": not a reduction");
  }
}

void reduce_kernel(ExecArgs& a) {
  const Tensor& x = a.tensor(0);
  const char* nm = op_name(a.op);
  if (x.device() != Device::CUDA) throw Error(std::string(nm) + ": input is not on cuda");
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
  Layout L;
  if (x.numel() == 0) {  // R == 0: every output is the finish of an empty state
    L.outer = kept;
    L.R = 0;
    L.nr = 1;
    L.rs[0] = 1;  // R = 0: the loops run zero times
    L.rst[0] = 1;
  } else {
    L = make_layout(s, red);
  }
  for_dtype(x.dtype, [&](auto z) { dispatch_in<decltype(z)>(a, x, o, L); });
}

}  // namespace

MG_REGISTER_KERNEL(SUM, CUDA, reduce_kernel);
MG_REGISTER_KERNEL(MEAN, CUDA, reduce_kernel);
MG_REGISTER_KERNEL(MAX, CUDA, reduce_kernel);
MG_REGISTER_KERNEL(MIN, CUDA, reduce_kernel);
MG_REGISTER_KERNEL(ARGMAX, CUDA, reduce_kernel);
MG_REGISTER_KERNEL(LOGSUMEXP, CUDA, reduce_kernel);

}  // namespace mg::cuda
