// CUDA kernels of RAND_UNIFORM, RAND_NORMAL and RAND_INT: the same Philox4x32-10 stream as the CPU
// (native/cpu/creation.cc): element i of a draw comes from counter (base + i / per_call) under the
// shared seed, where one Philox call gives 4 floats, 2 doubles or 4 int32s, and the draw reserves
// its counters from the one generator state (core/philox.h). So a seed gives the same numbers on
// either device, and mixing devices keeps one sequence. Products and sums are rounded one at a
// time (__fmul_rn / __fadd_rn: no fused multiply-add) as on the CPU, so uniform and integer draws
// are bit-identical; normal draws use double-precision log/sin/cos from CUDA's math library,
// which may differ from glibc's in the last bit of a double (float32 results then round alike).
#include <cstdint>

#include "core/philox.h"
#include "cuda/common.cuh"

namespace mg::cuda {
namespace {

constexpr double kTwoPi = 6.283185307179586;

struct UniformF32 {
  float lo, w;
  __device__ void operator()(const Philox4& r, float* v) const {
    for (int k = 0; k < 4; ++k) v[k] = __fadd_rn(lo, __fmul_rn(w, u32_to_unit_f32(r.v[k])));
  }
};
struct UniformF64 {
  double lo, w;
  __device__ void operator()(const Philox4& r, double* v) const {
    v[0] = __dadd_rn(lo, __dmul_rn(w, u64_to_unit_f64(r.v[0], r.v[1])));
    v[1] = __dadd_rn(lo, __dmul_rn(w, u64_to_unit_f64(r.v[2], r.v[3])));
  }
};
struct NormalF32 {
  double mean, sd;
  __device__ void operator()(const Philox4& r, float* v) const {
    for (int k = 0; k < 4; k += 2) {
      double u1 = __dadd_rn(1.0, -double(u32_to_unit_f32(r.v[k])));
      double u2 = double(u32_to_unit_f32(r.v[k + 1]));
      double rad = sqrt(__dmul_rn(-2.0, log(u1)));
      double t = __dmul_rn(kTwoPi, u2);
      v[k] = float(__dadd_rn(mean, __dmul_rn(__dmul_rn(sd, rad), cos(t))));
      v[k + 1] = float(__dadd_rn(mean, __dmul_rn(__dmul_rn(sd, rad), sin(t))));
    }
  }
};
struct NormalF64 {
  double mean, sd;
  __device__ void operator()(const Philox4& r, double* v) const {
    double u1 = __dadd_rn(1.0, -u64_to_unit_f64(r.v[0], r.v[1]));
    double u2 = u64_to_unit_f64(r.v[2], r.v[3]);
    double rad = sqrt(__dmul_rn(-2.0, log(u1)));
    double t = __dmul_rn(kTwoPi, u2);
    v[0] = __dadd_rn(mean, __dmul_rn(__dmul_rn(sd, rad), cos(t)));
    v[1] = __dadd_rn(mean, __dmul_rn(__dmul_rn(sd, rad), sin(t)));
  }
};
template <class T>
struct IntGen {
  int64_t lo, range;
  __device__ void operator()(const Philox4& r, T* v) const {
    for (int k = 0; k < 4; ++k) v[k] = T(lo + int64_t((uint64_t(r.v[k]) * uint64_t(range)) >> 32));
  }
};

template <class T, int PER, class Gen>
__global__ void draw_kernel(T* p, int64_t n, int64_t calls, uint64_t base, uint64_t key, Gen gen) {
  MG_GRID_STRIDE(c, calls) {
    Philox4 r = philox4x32_10(base + uint64_t(c), 0, key);
    T vals[4];
    gen(r, vals);
    for (int k = 0; k < PER; ++k) {
      int64_t i = c * PER + k;
      if (i < n) p[i] = vals[k];
    }
  }
}

template <class T, int PER, class Gen>
void draw(Tensor* o, Gen gen) {
  int64_t n = o->numel();
  int64_t calls = (n + PER - 1) / PER;
  uint64_t base = rng_state().reserve(uint64_t(calls));  // reserved even for 0 calls, as on the CPU
  if (calls == 0) return;
  draw_kernel<T, PER, Gen><<<grid_for(calls), kBlock, 0, stream()>>>(o->data<T>(), n, calls, base, rng_state().seed, gen);
  check_launch("random");
}

// RAND_UNIFORM: attrs [low, high]
void rand_uniform(ExecArgs& a) {
  if (a.out_dtype == DType::I32) throw Error("rand: dtype must be float32 or float64");
  Tensor* o = a.alloc_out();
  double lo = a.attrs[0], hi = a.attrs[1];
  if (o->dtype == DType::F64) draw<double, 2>(o, UniformF64{lo, hi - lo});
  else draw<float, 4>(o, UniformF32{float(lo), float(hi - lo)});
}

// RAND_NORMAL: attrs [mean, std] (Box-Muller on (0, 1] uniforms)
void rand_normal(ExecArgs& a) {
  if (a.out_dtype == DType::I32) throw Error("randn: dtype must be float32 or float64");
  Tensor* o = a.alloc_out();
  double mean = a.attrs[0], sd = a.attrs[1];
  if (o->dtype == DType::F64) draw<double, 2>(o, NormalF64{mean, sd});
  else draw<float, 4>(o, NormalF32{mean, sd});
}

// RAND_INT: attrs [low, high)
void rand_int(ExecArgs& a) {
  int64_t lo = int64_t(a.attrs[0]), range = int64_t(a.attrs[1]) - lo;
  if (range <= 0) throw Error("randint: high must be greater than low");
  Tensor* o = a.alloc_out();
  if (o->dtype == DType::I32) draw<int32_t, 4>(o, IntGen<int32_t>{lo, range});
  else if (o->dtype == DType::F32) draw<float, 4>(o, IntGen<float>{lo, range});
  else draw<double, 4>(o, IntGen<double>{lo, range});
}

MG_REGISTER_KERNEL(RAND_UNIFORM, CUDA, rand_uniform);
MG_REGISTER_KERNEL(RAND_NORMAL, CUDA, rand_normal);
MG_REGISTER_KERNEL(RAND_INT, CUDA, rand_int);

}  // namespace
}  // namespace mg::cuda
