// CUDA kernels of the elementwise ops (unary, binary with broadcasting, comparisons, WHERE), with
// the CPU kernels' semantics (native/cpu/elementwise.cc and native/cpu/simd/elementwise.cc):
// int32 arithmetic wraps, MAXIMUM/MINIMUM propagate NaN, comparisons write int32 0/1, float32
// sigmoid is computed in double, a JS number operand is converted to the op's dtype (int32 ops
// refuse non-integer numbers), int32 POW refuses negative exponents.
//
// Broadcast plan (as on the CPU): size-1 output dims are dropped and adjacent dims merged where
// every input is contiguous across the pair; same-shape operands and scalars take a contiguous
// kernel. Index arithmetic is 32-bit when the output has fewer than 2^31 elements.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "cuda/common.cuh"

namespace mg::cuda {
namespace {

enum class Ew : int { Neg, Exp, Log, Sin, Cos, Tanh, Sigmoid, Relu, Abs, Sqrt, Square, Sign, Clamp,
                      Add, Sub, Mul, Div, Pow, Max, Min, Eq, Ne, Lt, Le, Gt, Ge };

// ---- scalar functions (device) ---------------------------------------------------------------
template <Ew OP, class T>
__device__ __forceinline__ T unary_fn(T v, double lo, double hi) {
  constexpr bool I = std::is_integral_v<T>;
  if constexpr (OP == Ew::Neg) { if constexpr (I) return int32_t(0u - uint32_t(v)); else return -v; }
  else if constexpr (OP == Ew::Abs) { if constexpr (I) return int32_t(v < 0 ? 0u - uint32_t(v) : uint32_t(v)); else return fabs(v); }
  else if constexpr (OP == Ew::Square) { if constexpr (I) return int32_t(uint32_t(v) * uint32_t(v)); else return v * v; }
  else if constexpr (OP == Ew::Relu) return v < T(0) ? T(0) : v;
  else if constexpr (OP == Ew::Sign) { if constexpr (I) return T((v > 0) - (v < 0)); else return v > 0 ? T(1) : v < 0 ? T(-1) : v; }
  else if constexpr (OP == Ew::Clamp) { const T l = T(lo), h = T(hi); return v < l ? l : v > h ? h : v; }
  else if constexpr (I) return v;  // float-only ops never reach here with int32 (refused on the host)
  else if constexpr (OP == Ew::Exp) return exp(v);
  else if constexpr (OP == Ew::Log) return log(v);
  else if constexpr (OP == Ew::Sin) return sin(v);
  else if constexpr (OP == Ew::Cos) return cos(v);
  else if constexpr (OP == Ew::Tanh) return tanh(v);
  else if constexpr (OP == Ew::Sqrt) return sqrt(v);
  else if constexpr (OP == Ew::Sigmoid) {
    double d = double(v);  // in double for float32 too, as on the CPU
    if (d >= 0) return T(1.0 / (1.0 + exp(-d)));
    double e = exp(d);
    return T(e / (1.0 + e));
  } else return v;
}

template <Ew OP, class T>
__device__ __forceinline__ auto binary_fn(T a, T b) {
  constexpr bool I = std::is_integral_v<T>;
  if constexpr (OP == Ew::Add) { if constexpr (I) return int32_t(uint32_t(a) + uint32_t(b)); else return T(a + b); }
  else if constexpr (OP == Ew::Sub) { if constexpr (I) return int32_t(uint32_t(a) - uint32_t(b)); else return T(a - b); }
  else if constexpr (OP == Ew::Mul) { if constexpr (I) return int32_t(uint32_t(a) * uint32_t(b)); else return T(a * b); }
  else if constexpr (OP == Ew::Div) { if constexpr (I) return T(0); else return T(a / b); }
  else if constexpr (OP == Ew::Pow) {
    if constexpr (I) {
      uint32_t r = 1, base = uint32_t(a);
      for (uint32_t e = uint32_t(b); e; e >>= 1) {
        if (e & 1) r *= base;
        base *= base;
      }
      return int32_t(r);
    } else return T(pow(a, b));
  }
  else if constexpr (OP == Ew::Max) return T((a > b || a != a) ? a : b);
  else if constexpr (OP == Ew::Min) return T((a < b || a != a) ? a : b);
  else if constexpr (OP == Ew::Eq) return int32_t(a == b);
  else if constexpr (OP == Ew::Ne) return int32_t(a != b);
  else if constexpr (OP == Ew::Lt) return int32_t(a < b);
  else if constexpr (OP == Ew::Le) return int32_t(a <= b);
  else if constexpr (OP == Ew::Gt) return int32_t(a > b);
  else return int32_t(a >= b);
}

// ---- kernels ---------------------------------------------------------------------------------

template <Ew OP, class T>
__global__ void unary_kernel(const T* __restrict__ x, T* __restrict__ o, int64_t n, double lo, double hi) {
  MG_GRID_STRIDE(i, n) o[i] = unary_fn<OP, T>(x[i], lo, hi);
}

/** An operand: a device pointer (stride 1, or 0 = its one element broadcast) or a host scalar. */
template <class T>
struct Operand {
  const T* p;
  T s;
  int64_t stride;  // 1 or 0 (contiguous kernel only)
  __device__ __forceinline__ T at(int64_t i) const { return p ? p[i * stride] : s; }
};

template <Ew OP, class T, class O>
__global__ void binary_contig(Operand<T> a, Operand<T> b, O* __restrict__ o, int64_t n) {
  MG_GRID_STRIDE(i, n) o[i] = binary_fn<OP, T>(a.at(i), b.at(i));
}

/** Broadcast plan: output dims (collapsed) and each input's strides (0 = broadcast). */
struct Plan {
  int nd = 0;
  int64_t shape[kMaxDims];
  int64_t st[3][kMaxDims];
};

template <class I, int K>
__device__ __forceinline__ void offsets(const Plan& p, I flat, I* off) {
  for (int k = 0; k < K; ++k) off[k] = 0;
  for (int d = p.nd - 1; d >= 0; --d) {
    const I s = I(p.shape[d]);
    const I q = flat / s, r = flat - q * s;
    flat = q;
    for (int k = 0; k < K; ++k) off[k] += r * I(p.st[k][d]);
  }
}

template <Ew OP, class T, class O, class I>
__global__ void binary_bcast(Plan p, Operand<T> a, Operand<T> b, O* __restrict__ o, int64_t n) {
  MG_GRID_STRIDE(i, n) {
    I off[2];
    offsets<I, 2>(p, I(i), off);
    const T va = a.p ? a.p[off[0]] : a.s;
    const T vb = b.p ? b.p[off[1]] : b.s;
    o[i] = binary_fn<OP, T>(va, vb);
  }
}

template <class T, class I>
__global__ void where_kernel(Plan p, const int32_t* __restrict__ c, Operand<T> a, Operand<T> b, T* __restrict__ o, int64_t n) {
  MG_GRID_STRIDE(i, n) {
    I off[3];
    offsets<I, 3>(p, I(i), off);
    o[i] = c[off[0]] ? (a.p ? a.p[off[1]] : a.s) : (b.p ? b.p[off[2]] : b.s);
  }
}

// ---- host side -------------------------------------------------------------------------------

std::string name_of(const ExecArgs& a) { return op_name(a.op); }

void require_cuda(const ExecArgs& a, const Tensor& t, int i) {
  if (t.device() != Device::CUDA) throw Error(name_of(a) + ": input " + std::to_string(i) + " is not on cuda");
}

/** A JS number as an operand of dtype `dt` (int32 refuses non-integers, as on the CPU). */
double scalar_value(const ExecArgs& a, double v, DType dt) {
  if (dt == DType::I32 && (!(v >= -2147483648.0 && v <= 2147483647.0) || v != std::trunc(v)))
    throw Error(name_of(a) + ": scalar " + std::to_string(v) + " is not an int32 value");
  return v;
}

void broadcast_strides(const ExecArgs& a, const Shape& s, const Shape& out, int64_t* st) {
  const int off = out.ndim - s.ndim;
  if (off < 0) throw Error(name_of(a) + ": input shape " + s.str() + " cannot be broadcast to output shape " + out.str());
  int64_t acc = 1;
  for (int d = out.ndim - 1; d >= 0; --d) {
    const int64_t n = d >= off ? s.d[d - off] : 1;
    if (n == out.d[d]) st[d] = n == 1 ? 0 : acc;
    else if (n == 1) st[d] = 0;
    else throw Error(name_of(a) + ": input shape " + s.str() + " cannot be broadcast to output shape " + out.str());
    acc *= n;
  }
}

/** ts[k]: input k's tensor, or null for a scalar (all strides 0). */
Plan make_plan(const ExecArgs& a, int nin, const Tensor* const* ts) {
  const Shape& out = a.out_shape;
  int64_t full[3][kMaxDims];
  if (nin > 3) throw Error(name_of(a) + ": too many inputs");
  for (int k = 0; k < nin && k < 3; ++k) {
    if (ts[k]) broadcast_strides(a, ts[k]->shape, out, full[k]);
    else for (int d = 0; d < out.ndim; ++d) full[k][d] = 0;
  }
  Plan p;
  for (int d = 0; d < out.ndim; ++d) {
    if (out.d[d] == 1) continue;
    bool merge = p.nd > 0;
    for (int k = 0; k < nin && merge; ++k) merge = p.st[k][p.nd - 1] == full[k][d] * out.d[d];
    if (merge) {
      p.shape[p.nd - 1] *= out.d[d];
      for (int k = 0; k < nin; ++k) p.st[k][p.nd - 1] = full[k][d];
    } else {
      p.shape[p.nd] = out.d[d];
      for (int k = 0; k < nin; ++k) p.st[k][p.nd] = full[k][d];
      ++p.nd;
    }
  }
  for (int k = nin; k < 3; ++k)
    for (int d = 0; d < p.nd; ++d) p.st[k][d] = 0;
  return p;
}

bool is_float_only(Ew op) {
  switch (op) {
    case Ew::Exp: case Ew::Log: case Ew::Sin: case Ew::Cos: case Ew::Tanh: case Ew::Sigmoid: case Ew::Sqrt: case Ew::Div: return true;
    default: return false;
  }
}

template <Ew OP>
void unary_op(ExecArgs& a) {
  Tensor& x = a.tensor(0);
  require_cuda(a, x, 0);
  if (x.dtype != a.out_dtype) throw Error(name_of(a) + ": input dtype " + dtype_name(x.dtype) + " differs from the output dtype " + dtype_name(a.out_dtype));
  if (is_float_only(OP) && x.dtype == DType::I32) throw Error(name_of(a) + ": int32 input is not supported (convert to a float dtype)");
  double lo = 0, hi = 0;
  if constexpr (OP == Ew::Clamp) {
    lo = a.attrs[0];
    hi = a.attrs[1];
    if (std::isnan(lo) || std::isnan(hi) || lo > hi) throw Error(name_of(a) + ": bad bounds");
    if (x.dtype == DType::I32) {
      lo = std::max(std::ceil(lo), -2147483648.0);
      hi = std::min(std::floor(hi), 2147483647.0);
      if (lo > hi) throw Error(name_of(a) + ": no int32 value lies between the bounds");
    }
  }
  Tensor* o = a.alloc_out(x.dtype, x.shape);
  const int64_t n = x.numel();
  if (!n) return;
  for_dtype(x.dtype, [&](auto z) {
    using T = decltype(z);
    if constexpr (std::is_integral_v<T>) {
      if constexpr (!(OP == Ew::Exp || OP == Ew::Log || OP == Ew::Sin || OP == Ew::Cos || OP == Ew::Tanh || OP == Ew::Sigmoid || OP == Ew::Sqrt))
        unary_kernel<OP, T><<<grid_for(n), kBlock, 0, stream()>>>(x.data<T>(), o->data<T>(), n, lo, hi);
    } else {
      unary_kernel<OP, T><<<grid_for(n), kBlock, 0, stream()>>>(x.data<T>(), o->data<T>(), n, lo, hi);
    }
  });
  check_launch(op_name(a.op));
}

template <class T>
Operand<T> operand(const Input& in, double v, int64_t stride) {
  Operand<T> r;
  r.p = in.t ? in.t->data<T>() : nullptr;
  r.s = in.t ? T(0) : T(v);
  r.stride = stride;
  return r;
}

template <Ew OP>
void binary_op(ExecArgs& a) {
  constexpr bool cmp = OP >= Ew::Eq;
  if (a.nin != 2) throw Error(name_of(a) + ": expected 2 inputs");
  const Input& ia = a.in[0];
  const Input& ib = a.in[1];
  if (!ia.t && !ia.has_scalar) throw Error(name_of(a) + ": input 0 is missing");
  if (!ib.t && !ib.has_scalar) throw Error(name_of(a) + ": input 1 is missing");
  if (!ia.t && !ib.t) throw Error(name_of(a) + ": at least one operand must be a tensor");
  if (ia.t) require_cuda(a, *ia.t, 0);
  if (ib.t) require_cuda(a, *ib.t, 1);
  const DType dt = ia.t ? ia.t->dtype : ib.t->dtype;
  if (ia.t && ib.t && ia.t->dtype != ib.t->dtype)
    throw Error(name_of(a) + ": operand dtypes " + dtype_name(ia.t->dtype) + " and " + dtype_name(ib.t->dtype) + " differ");
  const DType odt = cmp ? DType::I32 : dt;
  if (a.out_dtype != odt) throw Error(name_of(a) + ": output dtype " + dtype_name(a.out_dtype) + " does not fit inputs of " + dtype_name(dt));
  if (OP == Ew::Div && dt == DType::I32) throw Error(name_of(a) + ": int32 operands are not supported (convert to a float dtype)");
  const double sa = ia.t ? 0 : scalar_value(a, ia.scalar, dt);
  const double sb = ib.t ? 0 : scalar_value(a, ib.scalar, dt);
  if constexpr (OP == Ew::Pow) {
    if (dt == DType::I32) {  // integer powers: a negative exponent has no int32 result
      if (!ib.t) {
        if (sb < 0) throw Error(name_of(a) + ": int32 tensors cannot be raised to a negative int32 power");
      } else {
        // Rare (int32 tensor exponents): read the exponents back to refuse negative ones, as on the CPU.
        std::vector<int32_t> e(size_t(ib.t->numel()));
        if (!e.empty()) {
          check(cudaMemcpyAsync(e.data(), ib.t->raw(), e.size() * 4, cudaMemcpyDeviceToHost, stream()), "pow");
          check(cudaStreamSynchronize(stream()), "pow");
        }
        for (int32_t v : e)
          if (v < 0) throw Error(name_of(a) + ": int32 tensors cannot be raised to a negative int32 power");
      }
    }
  }
  const Shape& out = a.out_shape;
  Tensor* o = a.alloc_out(odt, out);
  const int64_t n = out.numel();
  if (!n) return;
  const Tensor* t0 = ia.t ? ia.t : ib.t;
  const bool contig = (!ia.t || !ib.t || ia.t->shape == ib.t->shape) && t0->shape == out;
  const Tensor* ts[2] = {ia.t, ib.t};
  Plan p;
  if (!contig) p = make_plan(a, 2, ts);
  const bool small = n < (int64_t(1) << 31);
  for_dtype(dt, [&](auto z) {
    using T = decltype(z);
    if constexpr (OP == Ew::Div && std::is_integral_v<T>) return;
    else {
      using O = std::conditional_t<cmp, int32_t, T>;
      Operand<T> A = operand<T>(ia, sa, 1), B = operand<T>(ib, sb, 1);
      O* po = o->data<O>();
      if (contig) binary_contig<OP, T, O><<<grid_for(n), kBlock, 0, stream()>>>(A, B, po, n);
      else if (small) binary_bcast<OP, T, O, uint32_t><<<grid_for(n), kBlock, 0, stream()>>>(p, A, B, po, n);
      else binary_bcast<OP, T, O, int64_t><<<grid_for(n), kBlock, 0, stream()>>>(p, A, B, po, n);
    }
  });
  check_launch(op_name(a.op));
}

// WHERE(cond int32, a, b): a and b tensors of the output dtype or JS numbers.
void where_op(ExecArgs& a) {
  if (a.nin != 3) throw Error(name_of(a) + ": expected 3 inputs");
  Tensor& c = a.tensor(0);
  require_cuda(a, c, 0);
  if (c.dtype != DType::I32) throw Error(name_of(a) + std::string(": condition must be int32, got ") + dtype_name(c.dtype));
  const DType dt = a.out_dtype;
  double sv[2] = {0, 0};
  for (int k = 1; k < 3; ++k) {
    const Input& in = a.in[k];
    if (in.t) {
      require_cuda(a, *in.t, k);
      if (in.t->dtype != dt) throw Error(name_of(a) + ": value dtype " + dtype_name(in.t->dtype) + " differs from the output dtype " + dtype_name(dt));
    } else if (in.has_scalar) {
      sv[k - 1] = scalar_value(a, in.scalar, dt);
    } else {
      throw Error(name_of(a) + ": input " + std::to_string(k) + " is missing");
    }
  }
  const Tensor* ts[3] = {&c, a.in[1].t, a.in[2].t};
  Plan p = make_plan(a, 3, ts);
  Tensor* o = a.alloc_out(dt, a.out_shape);
  const int64_t n = a.out_shape.numel();
  if (!n) return;
  for_dtype(dt, [&](auto z) {
    using T = decltype(z);
    Operand<T> A = operand<T>(a.in[1], sv[0], 1), B = operand<T>(a.in[2], sv[1], 1);
    if (n < (int64_t(1) << 31)) where_kernel<T, uint32_t><<<grid_for(n), kBlock, 0, stream()>>>(p, c.data<int32_t>(), A, B, o->data<T>(), n);
    else where_kernel<T, int64_t><<<grid_for(n), kBlock, 0, stream()>>>(p, c.data<int32_t>(), A, B, o->data<T>(), n);
  });
  check_launch("where");
}

}  // namespace

MG_REGISTER_KERNEL(NEG, CUDA, unary_op<Ew::Neg>);
MG_REGISTER_KERNEL(EXP, CUDA, unary_op<Ew::Exp>);
MG_REGISTER_KERNEL(LOG, CUDA, unary_op<Ew::Log>);
MG_REGISTER_KERNEL(SIN, CUDA, unary_op<Ew::Sin>);
MG_REGISTER_KERNEL(COS, CUDA, unary_op<Ew::Cos>);
MG_REGISTER_KERNEL(TANH, CUDA, unary_op<Ew::Tanh>);
MG_REGISTER_KERNEL(SIGMOID, CUDA, unary_op<Ew::Sigmoid>);
MG_REGISTER_KERNEL(RELU, CUDA, unary_op<Ew::Relu>);
MG_REGISTER_KERNEL(ABS, CUDA, unary_op<Ew::Abs>);
MG_REGISTER_KERNEL(SQRT, CUDA, unary_op<Ew::Sqrt>);
MG_REGISTER_KERNEL(SQUARE, CUDA, unary_op<Ew::Square>);
MG_REGISTER_KERNEL(SIGN, CUDA, unary_op<Ew::Sign>);
MG_REGISTER_KERNEL(CLAMP, CUDA, unary_op<Ew::Clamp>);
MG_REGISTER_KERNEL(ADD, CUDA, binary_op<Ew::Add>);
MG_REGISTER_KERNEL(SUB, CUDA, binary_op<Ew::Sub>);
MG_REGISTER_KERNEL(MUL, CUDA, binary_op<Ew::Mul>);
MG_REGISTER_KERNEL(DIV, CUDA, binary_op<Ew::Div>);
MG_REGISTER_KERNEL(POW, CUDA, binary_op<Ew::Pow>);
MG_REGISTER_KERNEL(MAXIMUM, CUDA, binary_op<Ew::Max>);
MG_REGISTER_KERNEL(MINIMUM, CUDA, binary_op<Ew::Min>);
MG_REGISTER_KERNEL(EQ, CUDA, binary_op<Ew::Eq>);
MG_REGISTER_KERNEL(NE, CUDA, binary_op<Ew::Ne>);
MG_REGISTER_KERNEL(LT, CUDA, binary_op<Ew::Lt>);
MG_REGISTER_KERNEL(LE, CUDA, binary_op<Ew::Le>);
MG_REGISTER_KERNEL(GT, CUDA, binary_op<Ew::Gt>);
MG_REGISTER_KERNEL(GE, CUDA, binary_op<Ew::Ge>);
MG_REGISTER_KERNEL(WHERE, CUDA, where_op);

}  // namespace mg::cuda
