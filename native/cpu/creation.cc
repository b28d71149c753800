// CPU kernels for creation, conversion and the one in-place write (ASSIGN).
#include <cmath>
#include <cstring>

#include "core/dispatch.h"
#include "core/philox.h"
#include "cpu/parallel.h"

namespace mg::cpu {
namespace {

constexpr int64_t kGrain = 1 << 15;

// FILL: attrs [value]
void fill(ExecArgs& a) {
  Tensor* o = a.alloc_out();
  double v = a.attrs[0];
  for_dtype(o->dtype, [&](auto z) {
    using T = decltype(z);
    T* p = o->data<T>();
    T tv = T(v);
    parallel_for(o->numel(), kGrain, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) p[i] = tv;
    });
  });
}

// CAST: input 0 to the output dtype (float -> int32 truncates toward zero, like PyTorch)
void cast(ExecArgs& a) {
  Tensor& x = a.tensor(0);
  Tensor* o = a.alloc_out(a.out_dtype, x.shape);
  for_dtype(x.dtype, [&](auto zi) {
    using I = decltype(zi);
    for_dtype(o->dtype, [&](auto zo) {
      using O = decltype(zo);
      const I* s = x.data<I>();
      O* d = o->data<O>();
      parallel_for(x.numel(), kGrain, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) d[i] = O(s[i]);
      });
    });
  });
}

void copy(ExecArgs& a) {
  Tensor& x = a.tensor(0);
  Tensor* o = a.alloc_out(x.dtype, x.shape);
  if (x.nbytes()) std::memcpy(o->raw(), x.raw(), x.nbytes());
}

// RESHAPE: a view sharing the input's storage
void reshape(ExecArgs& a) { a.set_out(new_view(a.tensor(0), a.out_shape)); }

// ASSIGN(dst, src): dst's storage takes src's values (in place; no output)
void assign(ExecArgs& a) {
  Tensor& d = a.tensor(0);
  Tensor& s = a.tensor(1);
  if (d.dtype != s.dtype || !(d.shape == s.shape))
    throw Error("assign: destination " + d.shape.str() + " " + dtype_name(d.dtype) + " and source " + s.shape.str() + " " + dtype_name(s.dtype) + " differ");
  if (s.nbytes()) std::memmove(d.raw(), s.raw(), s.nbytes());
}

// Random draws: element i comes from counter (base + i / per_call), where one Philox call gives
// 4 floats, 2 doubles or 4 int32s. The stream depends only on the seed and the draw order.
template <class T, class Gen>
void draw(Tensor* o, int per_call, Gen gen) {
  int64_t n = o->numel();
  int64_t calls = (n + per_call - 1) / per_call;
  uint64_t base = rng_state().reserve(uint64_t(calls));
  uint64_t key = rng_state().seed;
  T* p = o->data<T>();
  parallel_for(calls, 1 << 12, [&](int64_t b, int64_t e) {
    T vals[4] = {};
    for (int64_t c = b; c < e; ++c) {
      Philox4 r = philox4x32_10(base + uint64_t(c), 0, key);
      gen(r, vals);
      for (int k = 0; k < per_call; ++k) {
        int64_t i = c * per_call + k;
        if (i < n) p[i] = vals[k];
      }
    }
  });
}

// RAND_UNIFORM: attrs [low, high]
void rand_uniform(ExecArgs& a) {
  Tensor* o = a.alloc_out();
  double lo = a.attrs[0], hi = a.attrs[1];
  if (o->dtype == DType::F64) {
    draw<double>(o, 2, [&](const Philox4& r, double* v) {
      v[0] = lo + (hi - lo) * u64_to_unit_f64(r.v[0], r.v[1]);
      v[1] = lo + (hi - lo) * u64_to_unit_f64(r.v[2], r.v[3]);
    });
  } else if (o->dtype == DType::F32) {
    float flo = float(lo), fw = float(hi - lo);
    draw<float>(o, 4, [&](const Philox4& r, float* v) {
      for (int k = 0; k < 4; ++k) v[k] = flo + fw * u32_to_unit_f32(r.v[k]);
    });
  } else {
    throw Error("rand: dtype must be float32 or float64");
  }
}

// RAND_NORMAL: attrs [mean, std] (Box-Muller on (0, 1] uniforms)
void rand_normal(ExecArgs& a) {
  Tensor* o = a.alloc_out();
  double mean = a.attrs[0], sd = a.attrs[1];
  constexpr double kTwoPi = 6.283185307179586;
  if (o->dtype == DType::F64) {
    draw<double>(o, 2, [&](const Philox4& r, double* v) {
      double u1 = 1.0 - u64_to_unit_f64(r.v[0], r.v[1]);
      double u2 = u64_to_unit_f64(r.v[2], r.v[3]);
      double rad = std::sqrt(-2.0 * std::log(u1));
      v[0] = mean + sd * rad * std::cos(kTwoPi * u2);
      v[1] = mean + sd * rad * std::sin(kTwoPi * u2);
    });
  } else if (o->dtype == DType::F32) {
    draw<float>(o, 4, [&](const Philox4& r, float* v) {
      for (int k = 0; k < 4; k += 2) {
        double u1 = 1.0 - double(u32_to_unit_f32(r.v[k]));
        double u2 = double(u32_to_unit_f32(r.v[k + 1]));
        double rad = std::sqrt(-2.0 * std::log(u1));
        v[k] = float(mean + sd * rad * std::cos(kTwoPi * u2));
        v[k + 1] = float(mean + sd * rad * std::sin(kTwoPi * u2));
      }
    });
  } else {
    throw Error("randn: dtype must be float32 or float64");
  }
}

// RAND_INT: attrs [low, high): uniform integers (multiply-shift, bias < range / 2^32)
void rand_int(ExecArgs& a) {
  Tensor* o = a.alloc_out();
  int64_t lo = int64_t(a.attrs[0]), range = int64_t(a.attrs[1]) - lo;
  if (range <= 0) throw Error("randint: high must be greater than low");
  auto gen = [&](const Philox4& r, auto* v) {
    using T = std::remove_pointer_t<decltype(v)>;
    for (int k = 0; k < 4; ++k) v[k] = T(lo + int64_t((uint64_t(r.v[k]) * uint64_t(range)) >> 32));
  };
  if (o->dtype == DType::I32) draw<int32_t>(o, 4, gen);
  else if (o->dtype == DType::F32) draw<float>(o, 4, gen);
  else draw<double>(o, 4, gen);
}

MG_REGISTER_KERNEL(FILL, CPU, fill);
MG_REGISTER_KERNEL(CAST, CPU, cast);
MG_REGISTER_KERNEL(COPY, CPU, copy);
MG_REGISTER_KERNEL(RESHAPE, CPU, reshape);
MG_REGISTER_KERNEL(ASSIGN, CPU, assign);
MG_REGISTER_KERNEL(RAND_UNIFORM, CPU, rand_uniform);
MG_REGISTER_KERNEL(RAND_NORMAL, CPU, rand_normal);
MG_REGISTER_KERNEL(RAND_INT, CPU, rand_int);

}  // namespace
}  // namespace mg::cpu
