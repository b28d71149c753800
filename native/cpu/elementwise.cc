// CPU kernels of the elementwise ops: validation, broadcast planning and threading. The loops are
// in native/cpu/simd/elementwise.cc (one copy per ISA).
//
// Attributes: CLAMP [lo, hi] (±Infinity when absent); the others none. Inputs of the binary ops
// and WHERE's values are tensors of the op's input dtype or JS numbers; WHERE's condition is int32.
// Comparisons write int32 0/1 (a.out_dtype).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "core/dispatch.h"
#include "cpu/parallel.h"
#include "cpu/simd/elementwise.cc"  // the plan and entry points only (MG_ISA is not defined here)

namespace mg::cpu {
namespace {

// Below 2 * kGrain elements the kernel runs inline: no std::function, no pool.
constexpr int64_t kGrain = 1 << 15;

std::string name_of(const ExecArgs& a) { return op_name(a.op); }

/** A scalar operand converted to `dt`, stored in `slot` so that it can be read as a 0-stride input. */
const void* scalar_ptr(const ExecArgs& a, double v, DType dt, double* slot) {
  if (dt == DType::F32) {
    float f = float(v);
    std::memcpy(slot, &f, sizeof f);
  } else if (dt == DType::F64) {
    *slot = v;
  } else {
    if (!(v >= -2147483648.0 && v <= 2147483647.0) || v != std::trunc(v))
      throw Error(name_of(a) + ": scalar " + std::to_string(v) + " is not an int32 value");
    int32_t i = int32_t(v);
    std::memcpy(slot, &i, sizeof i);
  }
  return slot;
}

/**
 * Fills the strides of input k of shape `s` broadcast (right-aligned) to `out`; each input dim
 * must equal the output dim or be 1 (0 stride). Throws naming the op and both shapes otherwise.
 */
void broadcast_strides(const ExecArgs& a, const Shape& s, const Shape& out, int64_t* st) {
  const int off = out.ndim - s.ndim;
  if (off < 0) throw Error(name_of(a) + ": input shape " + s.str() + " cannot be broadcast to output shape " + out.str());
  int64_t acc = 1;
  for (int d = out.ndim - 1; d >= 0; --d) {
    const int64_t n = d >= off ? s.d[d - off] : 1;
    if (n == out.d[d]) {
      st[d] = n == 1 ? 0 : acc;
    } else if (n == 1) {
      st[d] = 0;
    } else {
      throw Error(name_of(a) + ": input shape " + s.str() + " cannot be broadcast to output shape " + out.str());
    }
    acc *= n;
  }
}

/**
 * Plans inputs [0, nin) against the output shape: size-1 output dims are dropped and adjacent
 * dims merged where every input allows it, so the common cases become one contiguous run.
 * ts[k] is input k's tensor, or null for a scalar operand (all-zero strides).
 */
void plan_broadcast(const ExecArgs& a, EwPlan& p, int nin, const Tensor* const* ts) {
  const Shape& out = a.out_shape;
  int64_t full[3][kMaxDims];
  for (int k = 0; k < nin; ++k) {
    if (ts[k]) broadcast_strides(a, ts[k]->shape, out, full[k]);
    else for (int d = 0; d < out.ndim; ++d) full[k][d] = 0;
  }
  // Collapse: keep dims of size != 1, merging d into the previous kept dim when every input's
  // strides are contiguous across the pair (st[prev] == st[d] * size[d]).
  int nd = 0;
  int64_t shape[kMaxDims], st[3][kMaxDims];
  for (int d = 0; d < out.ndim; ++d) {
    if (out.d[d] == 1) continue;
    bool merge = nd > 0;
    for (int k = 0; k < nin && merge; ++k) merge = st[k][nd - 1] == full[k][d] * out.d[d];
    if (merge) {
      shape[nd - 1] *= out.d[d];
      for (int k = 0; k < nin; ++k) st[k][nd - 1] = full[k][d];
    } else {
      shape[nd] = out.d[d];
      for (int k = 0; k < nin; ++k) st[k][nd] = full[k][d];
      ++nd;
    }
  }
  if (nd == 0) {  // one element
    p.nd = 0;
    p.inner = 1;
    for (int k = 0; k < nin; ++k) p.is[k] = 0;
    return;
  }
  p.inner = shape[nd - 1];
  for (int k = 0; k < nin; ++k) p.is[k] = st[k][nd - 1];
  p.nd = nd - 1;
  for (int d = 0; d < p.nd; ++d) {
    p.shape[d] = shape[d];
    for (int k = 0; k < nin; ++k) p.st[k][d] = st[k][d];
  }
}

template <class Fn>
void run_range(int64_t n, Fn fn) {
  if (n <= 0) return;
  if (n < 2 * kGrain) fn(int64_t(0), n);  // inline: tiny tensors pay for nothing else
  else parallel_for(n, kGrain, fn);
}

bool is_float_only(EwOp op) {
  switch (op) {
    case EwOp::Exp: case EwOp::Log: case EwOp::Sin: case EwOp::Cos: case EwOp::Tanh:
    case EwOp::Sigmoid: case EwOp::Sqrt: case EwOp::Div: return true;
    default: return false;
  }
}

template <EwOp OP>
void unary_kernel(ExecArgs& a) {
  Tensor& x = a.tensor(0);
  if (x.dtype != a.out_dtype) throw Error(name_of(a) + ": input dtype " + dtype_name(x.dtype) + " differs from the output dtype " + dtype_name(a.out_dtype));
  if (is_float_only(OP) && x.dtype == DType::I32) throw Error(name_of(a) + ": int32 input is not supported (convert to a float dtype)");
  EwPlan p;
  p.op = OP;
  p.dtype = x.dtype;
  if constexpr (OP == EwOp::Clamp) {
    double lo = a.attrs[0], hi = a.attrs[1];
    if (std::isnan(lo) || std::isnan(hi) || lo > hi) throw Error(name_of(a) + ": bad bounds");
    if (x.dtype == DType::I32) {  // the int32 values inside [lo, hi]
      lo = std::max(std::ceil(lo), -2147483648.0);
      hi = std::min(std::floor(hi), 2147483647.0);
      if (lo > hi) throw Error(name_of(a) + ": no int32 value lies between the bounds");
    }
    p.lo = lo;
    p.hi = hi;
  }
  Tensor* o = a.alloc_out(x.dtype, x.shape);
  p.in[0] = x.raw();
  p.out = o->raw();
  run_range(x.numel(), [&p](int64_t b, int64_t e) { MG_ISA_CALL(ew_unary, p, b, e); });
}

template <EwOp OP>
void binary_kernel(ExecArgs& a) {
  constexpr bool cmp = OP >= EwOp::Eq && OP <= EwOp::Ge;
  if (a.nin != 2) throw Error(name_of(a) + ": expected 2 inputs");
  const Input& ia = a.in[0];
  const Input& ib = a.in[1];
  if (!ia.t && !ia.has_scalar) throw Error(name_of(a) + ": input 0 is missing");
  if (!ib.t && !ib.has_scalar) throw Error(name_of(a) + ": input 1 is missing");
  if (!ia.t && !ib.t) throw Error(name_of(a) + ": at least one operand must be a tensor");
  const DType dt = ia.t ? ia.t->dtype : ib.t->dtype;
  if (ia.t && ib.t && ia.t->dtype != ib.t->dtype)
    throw Error(name_of(a) + ": operand dtypes " + dtype_name(ia.t->dtype) + " and " + dtype_name(ib.t->dtype) + " differ");
  const DType odt = cmp ? DType::I32 : dt;
  if (a.out_dtype != odt) throw Error(name_of(a) + ": output dtype " + dtype_name(a.out_dtype) + " does not fit inputs of " + dtype_name(dt));
  if (OP == EwOp::Div && dt == DType::I32) throw Error(name_of(a) + ": int32 operands are not supported (convert to a float dtype)");

  EwPlan p;
  p.op = OP;
  p.dtype = dt;
  double slots[2];
  const Tensor* ts[2] = {ia.t, ib.t};
  p.in[0] = ia.t ? ia.t->raw() : scalar_ptr(a, ia.scalar, dt, &slots[0]);
  p.in[1] = ib.t ? ib.t->raw() : scalar_ptr(a, ib.scalar, dt, &slots[1]);
  // Fast path: same-shape tensors or a tensor and a scalar need no planning.
  const Shape& out = a.out_shape;
  const Tensor* t0 = ia.t ? ia.t : ib.t;
  if ((!ia.t || !ib.t || ia.t->shape == ib.t->shape) && t0->shape == out) {
    p.nd = 0;
    p.inner = out.numel();
    p.is[0] = ia.t ? 1 : 0;
    p.is[1] = ib.t ? 1 : 0;
  } else {
    plan_broadcast(a, p, 2, ts);
  }
  if constexpr (OP == EwOp::Pow) {
    if (dt == DType::I32) {  // integer powers: a negative exponent has no int32 result
      const int32_t* e = static_cast<const int32_t*>(p.in[1]);
      const int64_t ne = ib.t ? ib.t->numel() : 1;
      for (int64_t i = 0; i < ne; ++i)
        if (e[i] < 0) throw Error(name_of(a) + ": int32 tensors cannot be raised to a negative int32 power");
    }
  }
  Tensor* o = a.alloc_out(odt, out);
  p.out = o->raw();
  run_range(out.numel(), [&p](int64_t b, int64_t e) { MG_ISA_CALL(ew_binary, p, b, e); });
}

// WHERE(cond int32, a, b): a and b tensors of the output dtype or JS numbers.
void where_kernel(ExecArgs& a) {
  if (a.nin != 3) throw Error(name_of(a) + ": expected 3 inputs");
  Tensor& c = a.tensor(0);
  if (c.dtype != DType::I32) throw Error(name_of(a) + std::string(": condition must be int32, got ") + dtype_name(c.dtype));
  const DType dt = a.out_dtype;
  const Tensor* ts[3] = {&c, a.in[1].t, a.in[2].t};
  double slots[2];
  EwPlan p;
  p.op = EwOp::Where;
  p.dtype = dt;
  p.in[0] = c.raw();
  for (int k = 1; k < 3; ++k) {
    const Input& in = a.in[k];
    if (in.t) {
      if (in.t->dtype != dt) throw Error(name_of(a) + ": value dtype " + dtype_name(in.t->dtype) + " differs from the output dtype " + dtype_name(dt));
      p.in[k] = in.t->raw();
    } else if (in.has_scalar) {
      p.in[k] = scalar_ptr(a, in.scalar, dt, &slots[k - 1]);
    } else {
      throw Error(name_of(a) + ": input " + std::to_string(k) + " is missing");
    }
  }
  plan_broadcast(a, p, 3, ts);
  Tensor* o = a.alloc_out(dt, a.out_shape);
  p.out = o->raw();
  run_range(a.out_shape.numel(), [&p](int64_t b, int64_t e) { MG_ISA_CALL(ew_where, p, b, e); });
}

}  // namespace

MG_REGISTER_KERNEL(NEG, CPU, unary_kernel<EwOp::Neg>);
MG_REGISTER_KERNEL(EXP, CPU, unary_kernel<EwOp::Exp>);
MG_REGISTER_KERNEL(LOG, CPU, unary_kernel<EwOp::Log>);
MG_REGISTER_KERNEL(SIN, CPU, unary_kernel<EwOp::Sin>);
MG_REGISTER_KERNEL(COS, CPU, unary_kernel<EwOp::Cos>);
MG_REGISTER_KERNEL(TANH, CPU, unary_kernel<EwOp::Tanh>);
MG_REGISTER_KERNEL(SIGMOID, CPU, unary_kernel<EwOp::Sigmoid>);
MG_REGISTER_KERNEL(RELU, CPU, unary_kernel<EwOp::Relu>);
MG_REGISTER_KERNEL(ABS, CPU, unary_kernel<EwOp::Abs>);
MG_REGISTER_KERNEL(SQRT, CPU, unary_kernel<EwOp::Sqrt>);
MG_REGISTER_KERNEL(SQUARE, CPU, unary_kernel<EwOp::Square>);
MG_REGISTER_KERNEL(SIGN, CPU, unary_kernel<EwOp::Sign>);
MG_REGISTER_KERNEL(CLAMP, CPU, unary_kernel<EwOp::Clamp>);
MG_REGISTER_KERNEL(ADD, CPU, binary_kernel<EwOp::Add>);
MG_REGISTER_KERNEL(SUB, CPU, binary_kernel<EwOp::Sub>);
MG_REGISTER_KERNEL(MUL, CPU, binary_kernel<EwOp::Mul>);
MG_REGISTER_KERNEL(DIV, CPU, binary_kernel<EwOp::Div>);
MG_REGISTER_KERNEL(POW, CPU, binary_kernel<EwOp::Pow>);
MG_REGISTER_KERNEL(MAXIMUM, CPU, binary_kernel<EwOp::Max>);
MG_REGISTER_KERNEL(MINIMUM, CPU, binary_kernel<EwOp::Min>);
MG_REGISTER_KERNEL(EQ, CPU, binary_kernel<EwOp::Eq>);
MG_REGISTER_KERNEL(NE, CPU, binary_kernel<EwOp::Ne>);
MG_REGISTER_KERNEL(LT, CPU, binary_kernel<EwOp::Lt>);
MG_REGISTER_KERNEL(LE, CPU, binary_kernel<EwOp::Le>);
MG_REGISTER_KERNEL(GT, CPU, binary_kernel<EwOp::Gt>);
MG_REGISTER_KERNEL(GE, CPU, binary_kernel<EwOp::Ge>);
MG_REGISTER_KERNEL(WHERE, CPU, where_kernel);

}  // namespace mg::cpu
