// Note [One op table]: native/core/ops.def lists every primitive once. From it come the Op enum
// below, the [op][device] kernel table, and the name list the TypeScript side checks at load.
// Derivatives live only in TypeScript, so a device implements kernels and nothing else.
//
// Calling convention (see binding.cc): exec(op, ...inputs) where each input is a tensor handle, a
// JS number (a scalar operand) or null. The output dtype, device and shape, and the op's
// attributes, come through a Float64Array shared with TypeScript (src/backend/exec.ts):
//   A[0] = out dtype, A[1] = device, A[2] = out ndim, A[3 .. 3+ndim) = out shape, then attributes.
// TypeScript validates everything first and names the op and shapes in its errors; kernels still
// check what memory safety depends on and throw mg::Error instead of reading out of bounds.
#pragma once
#include "core/tensor.h"

namespace mg {

enum class Op : int32_t {
#define OP(name) name,
#include "core/ops.def"
#undef OP
  COUNT
};
constexpr int kNumOps = int(Op::COUNT);
const char* op_name(Op op);

struct Input {
  Tensor* t = nullptr;  // null: a scalar (has_scalar) or an absent optional input
  double scalar = 0;
  bool has_scalar = false;
};

constexpr int kMaxOutputs = 4;

struct ExecArgs {
  Op op;
  Device device;
  DType out_dtype;
  Shape out_shape;
  const Input* in = nullptr;
  int nin = 0;
  const double* attrs = nullptr;  // op-specific attributes
  int nattrs = 0;
  Tensor* out[kMaxOutputs] = {};
  int nout = 0;

  /** Allocates an output on the op's device; the binding frees it if the kernel throws. */
  Tensor* alloc_out(DType dtype, const Shape& shape) {
    if (nout >= kMaxOutputs) throw Error("too many outputs");
    Tensor* t = new_tensor(dtype, shape, device);
    out[nout++] = t;
    return t;
  }
  Tensor* alloc_out() { return alloc_out(out_dtype, out_shape); }
  /** Sets a ready-made output (a view). */
  void set_out(Tensor* t) { out[nout++] = t; }
  /** Input i as a tensor; throws if it is a scalar or missing. */
  Tensor& tensor(int i) const {
    if (i >= nin || !in[i].t) throw Error(std::string(op_name(op)) + ": input " + std::to_string(i) + " must be a tensor");
    return *in[i].t;
  }
  /** Attribute i as an integer; throws unless it is one of magnitude at most 2^53 (Note [Shape limits]). */
  int64_t iattr(int i) const {
    const double v = attrs[i];
    if (!(v >= -double(kMaxNumel) && v <= double(kMaxNumel)))
      throw Error(std::string(op_name(op)) + ": attribute " + std::to_string(i) + " (" + std::to_string(v) + ") is not an integer of magnitude at most 2^53");
    return int64_t(v);
  }
};

using Kernel = void (*)(ExecArgs&);
void register_kernel(Op op, Device device, Kernel k);
Kernel find_kernel(Op op, Device device);

struct KernelRegistrar {
  KernelRegistrar(Op op, Device device, Kernel k) { register_kernel(op, device, k); }
};
#define MG_CONCAT_(a, b) a##b
#define MG_CONCAT(a, b) MG_CONCAT_(a, b)
/** Registers `fn` as the kernel of `op` on `device` (CPU or CUDA) from any source file. */
#define MG_REGISTER_KERNEL(op, device, fn) \
  static ::mg::KernelRegistrar MG_CONCAT(mg_reg_, __LINE__)(::mg::Op::op, ::mg::Device::device, fn)

}  // namespace mg
