// Inner loops of the elementwise kernels, compiled once per ISA (Note [ISA variants] in
// CMakeLists.txt). The loops are plain C++ written so that the compiler vectorises them for the
// ISA's flags; float32 transcendentals use native/cpu/simd/vmath.h under AVX2 / AVX-512, the base
// ISA and float64 call libm (accuracy beats speed). native/cpu/elementwise.cc plans
// the broadcast and the threading; this file walks one range of output elements.
//
// The first part (the plan and the entry points) is also included by native/cpu/elementwise.cc,
// without MG_ISA defined, so that both sides share one definition.
#ifndef MG_CPU_SIMD_ELEMENTWISE_PLAN_
#define MG_CPU_SIMD_ELEMENTWISE_PLAN_
#include <cstdint>

#include "core/tensor.h"
#include "cpu/isa.h"

namespace mg::cpu {

enum class EwOp : int32_t {
  Neg, Exp, Log, Sin, Cos, Tanh, Sigmoid, Relu, Abs, Sqrt, Square, Sign, Clamp,
  Add, Sub, Mul, Div, Pow, Max, Min, Eq, Ne, Lt, Le, Gt, Ge, Where,
};
constexpr int kEwMaxDims = kMaxDims;

/**
 * One elementwise op over a (collapsed) broadcast: the output is [shape[0..nd), inner], row-major;
 * input k reads element (i.., j) at st[k][..] . i + is[k] * j, with is[k] in {0, 1} (a scalar
 * operand has all strides 0). Inputs share `dtype`; comparisons write int32.
 */
struct EwPlan {
  EwOp op;
  DType dtype;
  int nd = 0;
  int64_t inner = 0;
  const void* in[3] = {};
  void* out = nullptr;
  int64_t is[3] = {};
  int64_t shape[kEwMaxDims];
  int64_t st[3][kEwMaxDims];
  double lo = 0, hi = 0;  // CLAMP bounds
};

}  // namespace mg::cpu

MG_DECLARE_ISA_FNS(
  /** Output elements [b, e) of a unary op (contiguous). */
  void ew_unary(const ::mg::cpu::EwPlan& p, int64_t b, int64_t e);
  /** Output elements [b, e) of a binary op or comparison. */
  void ew_binary(const ::mg::cpu::EwPlan& p, int64_t b, int64_t e);
  /** Output elements [b, e) of WHERE (in[0] is the int32 condition). */
  void ew_where(const ::mg::cpu::EwPlan& p, int64_t b, int64_t e);
)
#endif  // MG_CPU_SIMD_ELEMENTWISE_PLAN_

#ifdef MG_ISA
#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

#if defined(MG_ISA_avx2) || defined(MG_ISA_avx512)
#include "cpu/simd/vmath.h"
#define MG_EW_VMATH 1
#endif

namespace mg::cpu::MG_ISA {
namespace {

// ---- scalar functions ----------------------------------------------------------------------
// int32 arithmetic wraps (like PyTorch) instead of being undefined behaviour.
inline int32_t wrap_add(int32_t a, int32_t b) { return int32_t(uint32_t(a) + uint32_t(b)); }
inline int32_t wrap_sub(int32_t a, int32_t b) { return int32_t(uint32_t(a) - uint32_t(b)); }
inline int32_t wrap_mul(int32_t a, int32_t b) { return int32_t(uint32_t(a) * uint32_t(b)); }

template <class T> struct Add { T operator()(T a, T b) const { return a + b; } };
template <> struct Add<int32_t> { int32_t operator()(int32_t a, int32_t b) const { return wrap_add(a, b); } };
template <class T> struct Sub { T operator()(T a, T b) const { return a - b; } };
template <> struct Sub<int32_t> { int32_t operator()(int32_t a, int32_t b) const { return wrap_sub(a, b); } };
template <class T> struct Mul { T operator()(T a, T b) const { return a * b; } };
template <> struct Mul<int32_t> { int32_t operator()(int32_t a, int32_t b) const { return wrap_mul(a, b); } };
template <class T> struct Div { T operator()(T a, T b) const { return a / b; } };
template <class T> struct Pow { T operator()(T a, T b) const { return std::pow(a, b); } };
// Integer power by squaring; the caller has rejected negative exponents.
template <> struct Pow<int32_t> {
  int32_t operator()(int32_t a, int32_t b) const {
    uint32_t r = 1, base = uint32_t(a);
    for (uint32_t e = uint32_t(b); e; e >>= 1) {
      if (e & 1) r *= base;
      base *= base;
    }
    return int32_t(r);
  }
};
// NaN-propagating (torch.maximum): a NaN on either side wins.
template <class T> struct Max { T operator()(T a, T b) const { return (a > b || a != a) ? a : b; } };
template <class T> struct Min { T operator()(T a, T b) const { return (a < b || a != a) ? a : b; } };
template <class T> struct Eq { int32_t operator()(T a, T b) const { return a == b; } };
template <class T> struct Ne { int32_t operator()(T a, T b) const { return a != b; } };
template <class T> struct Lt { int32_t operator()(T a, T b) const { return a < b; } };
template <class T> struct Le { int32_t operator()(T a, T b) const { return a <= b; } };
template <class T> struct Gt { int32_t operator()(T a, T b) const { return a > b; } };
template <class T> struct Ge { int32_t operator()(T a, T b) const { return a >= b; } };

// ---- binary walk ----------------------------------------------------------------------------
// The four stride patterns of the innermost run (1: contiguous, 0: one broadcast value) are
// separate loops so that each vectorises and the broadcast value is hoisted.
template <class T, class O, class F>
inline void run(const T* __restrict a, int64_t sa, const T* __restrict b, int64_t sb, O* __restrict o, int64_t n, F f) {
  if (sa && sb) {
    for (int64_t i = 0; i < n; ++i) o[i] = f(a[i], b[i]);
  } else if (sb) {
    const T av = *a;
    for (int64_t i = 0; i < n; ++i) o[i] = f(av, b[i]);
  } else if (sa) {
    const T bv = *b;
    for (int64_t i = 0; i < n; ++i) o[i] = f(a[i], bv);
  } else {
    const O v = f(*a, *b);
    for (int64_t i = 0; i < n; ++i) o[i] = v;
  }
}

template <class T, class O, class F>
void walk2(const EwPlan& p, int64_t begin, int64_t end, F f) {
  const T* A = static_cast<const T*>(p.in[0]);
  const T* B = static_cast<const T*>(p.in[1]);
  O* out = static_cast<O*>(p.out);
  const int64_t inner = p.inner;
  if (p.nd == 0) {  // one run: contiguous or scalar operands
    run(A + begin * p.is[0], p.is[0], B + begin * p.is[1], p.is[1], out + begin, end - begin, f);
    return;
  }
  int64_t row = begin / inner, col = begin % inner;
  int64_t idx[kEwMaxDims];
  int64_t oa = 0, ob = 0;
  for (int d = p.nd - 1; d >= 0; --d) {
    idx[d] = row % p.shape[d];
    row /= p.shape[d];
    oa += idx[d] * p.st[0][d];
    ob += idx[d] * p.st[1][d];
  }
  while (begin < end) {
    const int64_t len = std::min(inner - col, end - begin);
    run(A + oa + col * p.is[0], p.is[0], B + ob + col * p.is[1], p.is[1], out + begin, len, f);
    begin += len;
    col = 0;
    for (int d = p.nd - 1; d >= 0; --d) {  // odometer over the outer dims
      oa += p.st[0][d];
      ob += p.st[1][d];
      if (++idx[d] < p.shape[d]) break;
      oa -= idx[d] * p.st[0][d];
      ob -= idx[d] * p.st[1][d];
      idx[d] = 0;
    }
  }
}

template <class T>
void binary_t(const EwPlan& p, int64_t b, int64_t e) {
  switch (p.op) {
    case EwOp::Add: return walk2<T, T>(p, b, e, Add<T>{});
    case EwOp::Sub: return walk2<T, T>(p, b, e, Sub<T>{});
    case EwOp::Mul: return walk2<T, T>(p, b, e, Mul<T>{});
    case EwOp::Div: if constexpr (!std::is_integral_v<T>) return walk2<T, T>(p, b, e, Div<T>{}); break;
    case EwOp::Pow: return walk2<T, T>(p, b, e, Pow<T>{});
    case EwOp::Max: return walk2<T, T>(p, b, e, Max<T>{});
    case EwOp::Min: return walk2<T, T>(p, b, e, Min<T>{});
    case EwOp::Eq: return walk2<T, int32_t>(p, b, e, Eq<T>{});
    case EwOp::Ne: return walk2<T, int32_t>(p, b, e, Ne<T>{});
    case EwOp::Lt: return walk2<T, int32_t>(p, b, e, Lt<T>{});
    case EwOp::Le: return walk2<T, int32_t>(p, b, e, Le<T>{});
    case EwOp::Gt: return walk2<T, int32_t>(p, b, e, Gt<T>{});
    case EwOp::Ge: return walk2<T, int32_t>(p, b, e, Ge<T>{});
    default: break;
  }
}

// ---- where ----------------------------------------------------------------------------------
template <class T>
void where_t(const EwPlan& p, int64_t begin, int64_t end) {
  const int32_t* C = static_cast<const int32_t*>(p.in[0]);
  const T* A = static_cast<const T*>(p.in[1]);
  const T* B = static_cast<const T*>(p.in[2]);
  T* out = static_cast<T*>(p.out);
  const int64_t inner = p.inner, sc = p.is[0], sa = p.is[1], sb = p.is[2];
  int64_t row = begin / inner, col = begin % inner;
  int64_t idx[kEwMaxDims];
  int64_t oc = 0, oa = 0, ob = 0;
  for (int d = p.nd - 1; d >= 0; --d) {
    idx[d] = row % p.shape[d];
    row /= p.shape[d];
    oc += idx[d] * p.st[0][d];
    oa += idx[d] * p.st[1][d];
    ob += idx[d] * p.st[2][d];
  }
  while (begin < end) {
    const int64_t len = std::min(inner - col, end - begin);
    const int32_t* c = C + oc + col * sc;
    const T* a = A + oa + col * sa;
    const T* b = B + ob + col * sb;
    T* o = out + begin;
    if (sc && sa && sb) {
      for (int64_t i = 0; i < len; ++i) o[i] = c[i] ? a[i] : b[i];
    } else {
      for (int64_t i = 0; i < len; ++i) o[i] = c[i * sc] ? a[i * sa] : b[i * sb];
    }
    begin += len;
    col = 0;
    for (int d = p.nd - 1; d >= 0; --d) {
      oc += p.st[0][d];
      oa += p.st[1][d];
      ob += p.st[2][d];
      if (++idx[d] < p.shape[d]) break;
      oc -= idx[d] * p.st[0][d];
      oa -= idx[d] * p.st[1][d];
      ob -= idx[d] * p.st[2][d];
      idx[d] = 0;
    }
  }
}

// ---- unary ----------------------------------------------------------------------------------
template <class T, class F>
inline void map(const T* __restrict x, T* __restrict o, int64_t n, F f) {
  for (int64_t i = 0; i < n; ++i) o[i] = f(x[i]);
}

template <class T>
inline T sigmoid(T x) {
  // Computed in double for float32 too; exp of a non-positive number never overflows.
  double d = double(x);
  if (d >= 0) return T(1.0 / (1.0 + std::exp(-d)));
  double e = std::exp(d);
  return T(e / (1.0 + e));
}

template <class T>
void unary_t(const EwPlan& p, int64_t b, int64_t e) {
  const T* x = static_cast<const T*>(p.in[0]) + b;
  T* o = static_cast<T*>(p.out) + b;
  const int64_t n = e - b;
  constexpr bool I = std::is_integral_v<T>;
  switch (p.op) {
    case EwOp::Neg:
      if constexpr (I) return map(x, o, n, [](T v) { return int32_t(0u - uint32_t(v)); });
      else return map(x, o, n, [](T v) { return -v; });
    case EwOp::Abs:
      if constexpr (I) return map(x, o, n, [](T v) { return int32_t(v < 0 ? 0u - uint32_t(v) : uint32_t(v)); });
      else return map(x, o, n, [](T v) { return std::fabs(v); });
    case EwOp::Square:
      if constexpr (I) return map(x, o, n, [](T v) { return wrap_mul(v, v); });
      else return map(x, o, n, [](T v) { return v * v; });
    case EwOp::Relu: return map(x, o, n, [](T v) { return v < T(0) ? T(0) : v; });  // NaN passes
    case EwOp::Sign:
      if constexpr (I) return map(x, o, n, [](T v) { return T((v > 0) - (v < 0)); });
      else return map(x, o, n, [](T v) { return v > 0 ? T(1) : v < 0 ? T(-1) : v; });  // NaN, ±0 pass
    case EwOp::Clamp: {
      const T lo = T(p.lo), hi = T(p.hi);  // elementwise.cc made them representable
      return map(x, o, n, [=](T v) { return v < lo ? lo : v > hi ? hi : v; });
    }
    default: break;
  }
#ifdef MG_EW_VMATH
  // float32 transcendentals: vectorised (native/cpu/simd/vmath.h, <= 2 ulp); float64 keeps libm.
  if constexpr (std::is_same_v<T, float>) {
    switch (p.op) {
      case EwOp::Exp: return vexp_f32(x, o, n);
      case EwOp::Log: return vlog_f32(x, o, n);
      case EwOp::Sin: return vsin_f32(x, o, n);
      case EwOp::Cos: return vcos_f32(x, o, n);
      case EwOp::Tanh: return vtanh_f32(x, o, n);
      case EwOp::Sigmoid: return vsigmoid_f32(x, o, n);
      default: break;
    }
  }
#endif
  if constexpr (!I) {
    switch (p.op) {
      case EwOp::Exp: return map(x, o, n, [](T v) { return std::exp(v); });
      case EwOp::Log: return map(x, o, n, [](T v) { return std::log(v); });
      case EwOp::Sin: return map(x, o, n, [](T v) { return std::sin(v); });
      case EwOp::Cos: return map(x, o, n, [](T v) { return std::cos(v); });
      case EwOp::Tanh: return map(x, o, n, [](T v) { return std::tanh(v); });
      case EwOp::Sqrt: return map(x, o, n, [](T v) { return std::sqrt(v); });
      case EwOp::Sigmoid: return map(x, o, n, [](T v) { return sigmoid(v); });
      default: break;
    }
  }
}

}  // namespace

void ew_binary(const EwPlan& p, int64_t b, int64_t e) {
  switch (p.dtype) {
    case DType::F32: return binary_t<float>(p, b, e);
    case DType::F64: return binary_t<double>(p, b, e);
    case DType::I32: return binary_t<int32_t>(p, b, e);
  }
}
void ew_where(const EwPlan& p, int64_t b, int64_t e) {
  switch (p.dtype) {
    case DType::F32: return where_t<float>(p, b, e);
    case DType::F64: return where_t<double>(p, b, e);
    case DType::I32: return where_t<int32_t>(p, b, e);
  }
}
void ew_unary(const EwPlan& p, int64_t b, int64_t e) {
  switch (p.dtype) {
    case DType::F32: return unary_t<float>(p, b, e);
    case DType::F64: return unary_t<double>(p, b, e);
    case DType::I32: return unary_t<int32_t>(p, b, e);
  }
}

}  // namespace mg::cpu::MG_ISA
#endif  // MG_ISA
