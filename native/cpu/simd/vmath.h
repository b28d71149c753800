// Vectorised float32 transcendentals for the AVX2 (8 lanes) and AVX-512 (16 lanes) copies of
// native/cpu/simd/elementwise.cc (Note [ISA variants] in CMakeLists.txt). The base ISA keeps libm.
//
// Written with GCC/Clang vector extensions; only fused multiply-adds use intrinsics. Each function
// maps a contiguous float array (any length; the tail is padded) and aims at <= 2 ulp against the
// correctly rounded result (test/ops/elementwise.test.ts sweeps every function):
//   exp      Cody-Waite reduction by ln2 (two-part constant, FMA), Cephes minimax polynomial,
//            scaling by 2^n in two steps (so that denormal results and n = 128 work).
//            exp(x > 88.7228...) = +inf, exp(x < -103.97...) = 0, exp(-inf) = 0.
//   log      exponent/mantissa split (denormals prescaled by 2^23), mantissa in [sqrt(.5), sqrt(2)),
//            Cephes polynomial. log(0) = -inf, log(x < 0) = NaN, log(inf) = inf.
//   tanh     |x| < 0.625: odd polynomial (Cephes); else 1 - 2 / (exp(2|x|) + 1) with |x| clamped to
//            10, where the result rounds to exactly ±1.
//   sigmoid  in double (float exp's 1 ulp would make it 2): e = exp(-|x|) never overflows; x >= 0:
//            1 / (1 + e), x < 0: e / (1 + e) (so denormal results for x down to -103.9 come out
//            right, unlike 1 / (1 + exp(-x))), one rounding to float at the end.
//   sin, cos in double: j = round(x * 2/pi), r = x - j * pi/2 with a two-double pi/2 (exact enough
//            for |x| <= 2^20), fdlibm kernel polynomials, one rounding to float at the end. Lanes
//            with |x| > 2^20, inf or NaN go to libm (double std::sin / std::cos, rounded).
// NaN inputs give NaN everywhere.
#pragma once
#include <immintrin.h>

#include <cmath>
#include <cstdint>
#include <cstring>

namespace mg::cpu::MG_ISA {
namespace vm {

#if defined(MG_ISA_avx512)
constexpr int W = 16;   // float lanes
constexpr int DW = 8;   // double lanes
typedef float VF __attribute__((vector_size(64)));
typedef int32_t VI __attribute__((vector_size(64)));
typedef double VD __attribute__((vector_size(64)));
typedef int64_t VL __attribute__((vector_size(64)));
typedef float VFH __attribute__((vector_size(32)));  // DW floats
inline VF fma(VF a, VF b, VF c) { return (VF)_mm512_fmadd_ps((__m512)a, (__m512)b, (__m512)c); }
inline VD fma(VD a, VD b, VD c) { return (VD)_mm512_fmadd_pd((__m512d)a, (__m512d)b, (__m512d)c); }
inline bool any(VL m) { return _mm512_test_epi64_mask((__m512i)m, (__m512i)m) != 0; }
#else
constexpr int W = 8;
constexpr int DW = 4;
typedef float VF __attribute__((vector_size(32)));
typedef int32_t VI __attribute__((vector_size(32)));
typedef double VD __attribute__((vector_size(32)));
typedef int64_t VL __attribute__((vector_size(32)));
typedef float VFH __attribute__((vector_size(16)));
inline VF fma(VF a, VF b, VF c) { return (VF)_mm256_fmadd_ps((__m256)a, (__m256)b, (__m256)c); }
inline VD fma(VD a, VD b, VD c) { return (VD)_mm256_fmadd_pd((__m256d)a, (__m256d)b, (__m256d)c); }
inline bool any(VL m) { return !_mm256_testz_si256((__m256i)m, (__m256i)m); }
#endif

inline VF splat(float v) { return VF{} + v; }
inline VD splatd(double v) { return VD{} + v; }
inline VI splati(int32_t v) { return VI{} + v; }
/** Lanes of a where m (all ones), else b. */
inline VF sel(VI m, VF a, VF b) { return (VF)(((VI)a & m) | ((VI)b & ~m)); }
inline VD sel(VL m, VD a, VD b) { return (VD)(((VL)a & m) | ((VL)b & ~m)); }
inline VF vabs(VF x) { return (VF)((VI)x & 0x7fffffff); }
inline VF vmin(VF a, VF b) { return sel(a < b, a, b); }
inline VF vmax(VF a, VF b) { return sel(a > b, a, b); }
/** Round to nearest (even) for |x| < 2^22. */
inline VF vround(VF x) {
  const VF magic = splat(12582912.0f);  // 1.5 * 2^23
  return (x + magic) - magic;
}
/** 2^k for k in [-126, 127]. */
inline VF pow2i(VI k) { return (VF)((k + 127) << 23); }

inline VF exp(VF x) {
  const VF xc = vmin(vmax(x, splat(-104.0f)), splat(89.0f));
  const VF n = vround(xc * 1.44269504088896341f);
  VF r = fma(n, splat(-0.693359375f), xc);
  r = fma(n, splat(2.12194440e-4f), r);
  const VF z = r * r;
  VF p = splat(1.9875691500e-4f);
  p = fma(p, r, splat(1.3981999507e-3f));
  p = fma(p, r, splat(8.3334519073e-3f));
  p = fma(p, r, splat(4.1665795894e-2f));
  p = fma(p, r, splat(1.6666665459e-1f));
  p = fma(p, r, splat(5.0000001201e-1f));
  VF y = fma(p, z, r) + 1.0f;
  const VI ni = __builtin_convertvector(n, VI);  // in [-150, 128]
  const VI n1 = ni >> 1;
  y = y * pow2i(n1) * pow2i(ni - n1);
  return sel(x != x, x, y);
}

inline VF log(VF x) {
  const VI den = x < 1.17549435e-38f;  // denormals (and zero, negatives: fixed below)
  const VF xs = sel(den, x * 8388608.0f, x);
  const VI bits = (VI)xs;
  VI e = ((bits >> 23) & 0xff) - 126 - (den & 23);
  VF m = (VF)((bits & 0x007fffff) | 0x3f000000);  // [0.5, 1)
  const VI small = m < 0.707106781186547524f;
  e = e + small;  // small is -1 where true
  m = sel(small, m + m, m) - 1.0f;
  const VF z = m * m;
  VF p = splat(7.0376836292e-2f);
  p = fma(p, m, splat(-1.1514610310e-1f));
  p = fma(p, m, splat(1.1676998740e-1f));
  p = fma(p, m, splat(-1.2420140846e-1f));
  p = fma(p, m, splat(1.4249322787e-1f));
  p = fma(p, m, splat(-1.6668057665e-1f));
  p = fma(p, m, splat(2.0000714765e-1f));
  p = fma(p, m, splat(-2.4999993993e-1f));
  p = fma(p, m, splat(3.3333331174e-1f));
  const VF fe = __builtin_convertvector(e, VF);
  VF y = p * m * z;
  y = fma(fe, splat(-2.12194440e-4f), y);
  y = fma(splat(-0.5f), z, y);
  VF r = m + y;
  r = fma(fe, splat(0.693359375f), r);
  const float inf = __builtin_inff(), nan = __builtin_nanf("");
  r = sel(x == 0.0f, splat(-inf), r);
  r = sel(x < 0.0f, splat(nan), r);
  r = sel(x == inf, splat(inf), r);
  return sel(x != x, x, r);
}

inline VF tanh(VF x) {
  const VF ax = vabs(x);
  const VF z = x * x;
  VF p = splat(-5.70498872745e-3f);
  p = fma(p, z, splat(2.06390887954e-2f));
  p = fma(p, z, splat(-5.37397155531e-2f));
  p = fma(p, z, splat(1.33314422036e-1f));
  p = fma(p, z, splat(-3.33332819422e-1f));
  const VF ys = fma(p * z, x, x);
  const VF a = vmin(ax, splat(10.0f));
  const VF e = vm::exp(a + a);
  VF yl = 1.0f - 2.0f / (e + 1.0f);
  yl = (VF)((VI)yl | ((VI)x & int32_t(0x80000000)));
  const VF r = sel(ax < 0.625f, ys, yl);
  return sel(x != x, x, r);
}

/** exp(a) for a in [-746, 0] (double, relative error ~1e-12): Cody-Waite by ln2, Taylor to r^10. */
inline VD exp_neg_d(VD a) {
  const VD magic = splatd(6755399441055744.0);  // 1.5 * 2^52
  const VD k = fma(a, splatd(1.44269504088896338700e+00), magic);
  const VD n = k - magic;
  VD r = fma(n, splatd(-6.93147180369123816490e-01), a);
  r = fma(n, splatd(-1.90821492927058770002e-10), r);
  VD p = splatd(1.0 / 3628800);
  p = fma(p, r, splatd(1.0 / 362880));
  p = fma(p, r, splatd(1.0 / 40320));
  p = fma(p, r, splatd(1.0 / 5040));
  p = fma(p, r, splatd(1.0 / 720));
  p = fma(p, r, splatd(1.0 / 120));
  p = fma(p, r, splatd(1.0 / 24));
  p = fma(p, r, splatd(1.0 / 6));
  p = fma(p, r, splatd(0.5));
  p = fma(p, r, splatd(1.0));
  p = fma(p, r, splatd(1.0));
  const VL nl = (VL)k - (VL)magic;  // n as an integer, in [-1077, 0]
  const VL n1 = nl >> 1;  // two steps: 2^n alone may be denormal
  return p * (VD)((n1 + 1023) << 52) * (VD)((nl - n1 + 1023) << 52);
}

/** sigmoid in double (one rounding to float at the end): e = exp(-|x|), x >= 0: 1/(1+e), else e/(1+e). */
inline VD sigmoid_d(VD x) {
  VD a = (VD)((VL)x & 0x7fffffffffffffffLL);
  a = sel(a < 120.0, a, splatd(120.0));  // exp(-120) / (1 + ...) rounds to float 0; NaN: fixed below
  const VD e = exp_neg_d(-a);
  const VD r = sel(x >= 0.0, splatd(1.0), e) / (1.0 + e);
  return sel(x != x, x, r);
}

// fdlibm kernel polynomials (double), |r| <= pi/4.
inline VD sin_kernel(VD r, VD z) {
  VD p = splatd(1.58969099521155010221e-10);
  p = fma(p, z, splatd(-2.50507602534068634195e-08));
  p = fma(p, z, splatd(2.75573137070700676789e-06));
  p = fma(p, z, splatd(-1.98412698298579493134e-04));
  p = fma(p, z, splatd(8.33333333332248946124e-03));
  p = fma(p, z, splatd(-1.66666666666666324348e-01));
  return fma(p * z, r, r);
}
inline VD cos_kernel(VD z) {
  VD p = splatd(-1.13596475577881948265e-11);
  p = fma(p, z, splatd(2.08757232129817482790e-09));
  p = fma(p, z, splatd(-2.75573143513906633035e-07));
  p = fma(p, z, splatd(2.48015872894767294178e-05));
  p = fma(p, z, splatd(-1.38888888888741095749e-03));
  p = fma(p, z, splatd(4.16666666666666019037e-02));
  return fma(p * z, z, fma(splatd(-0.5), z, splatd(1.0)));
}

constexpr double kTrigMax = 1048576.0;  // 2^20: larger |x| (and inf, NaN) go to libm

/** sin (Cos = false) or cos of DW lanes; lanes outside the reduction's range are flagged in `big`. */
template <bool Cos>
inline VD sincos(VD x, VL& big) {
  const VD magic = splatd(6755399441055744.0);  // 1.5 * 2^52
  const VD k = fma(x, splatd(6.36619772367581382433e-01), magic);
  const VD j = k - magic;
  VL q = (VL)k;  // low bits: j mod 2^51 (two's complement)
  if (Cos) q = q + 1;
  VD r = fma(j, splatd(-1.57079632679489655800e+00), x);
  r = fma(j, splatd(-6.12323399573676603587e-17), r);
  const VD z = r * r;
  const VD s = sin_kernel(r, z), c = cos_kernel(z);
  VD res = sel((q & 1) != 0, c, s);
  res = (VD)((VL)res ^ ((q & 2) << 62));  // negate in quadrants 2 and 3
  const VD ax = (VD)((VL)x & 0x7fffffffffffffffLL);
  big = !(ax <= kTrigMax);
  return res;
}

// ---- array maps -----------------------------------------------------------------------------

template <class F>
inline void map_f32(const float* x, float* o, int64_t n, F f) {
  int64_t i = 0;
  for (; i + W <= n; i += W) {
    VF v;
    std::memcpy(&v, x + i, sizeof v);
    v = f(v);
    std::memcpy(o + i, &v, sizeof v);
  }
  if (i < n) {
    float buf[W];
    for (int k = 0; k < W; ++k) buf[k] = 1.0f;
    std::memcpy(buf, x + i, sizeof(float) * size_t(n - i));
    VF v;
    std::memcpy(&v, buf, sizeof v);
    v = f(v);
    std::memcpy(buf, &v, sizeof v);
    std::memcpy(o + i, buf, sizeof(float) * size_t(n - i));
  }
}

/** Maps float arrays through f: VD -> VD on DW lanes at a time (computed in double). */
template <class F>
inline void map_f32_via_f64(const float* x, float* o, int64_t n, F f) {
  int64_t i = 0;
  for (; i + DW <= n; i += DW) {
    VFH xf;
    std::memcpy(&xf, x + i, sizeof xf);
    const VFH r = __builtin_convertvector(f(__builtin_convertvector(xf, VD)), VFH);
    std::memcpy(o + i, &r, sizeof r);
  }
  if (i < n) {
    VFH xf = {};
    std::memcpy(&xf, x + i, sizeof(float) * size_t(n - i));
    const VFH r = __builtin_convertvector(f(__builtin_convertvector(xf, VD)), VFH);
    std::memcpy(o + i, &r, sizeof(float) * size_t(n - i));
  }
}

template <bool Cos>
inline void trig_block(const float* x, float* o) {  // DW elements
  VFH xf;
  std::memcpy(&xf, x, sizeof xf);
  VL big;
  const VFH r = __builtin_convertvector(sincos<Cos>(__builtin_convertvector(xf, VD), big), VFH);
  std::memcpy(o, &r, sizeof r);
  if (any(big)) {
    for (int l = 0; l < DW; ++l)
      if (big[l]) o[l] = float(Cos ? std::cos(double(xf[l])) : std::sin(double(xf[l])));  // xf: o may alias x
  }
}

template <bool Cos>
inline void trig_f32(const float* x, float* o, int64_t n) {
  int64_t i = 0;
  for (; i + DW <= n; i += DW) trig_block<Cos>(x + i, o + i);
  if (i < n) {
    float bi[DW] = {}, bo[DW];
    std::memcpy(bi, x + i, sizeof(float) * size_t(n - i));
    trig_block<Cos>(bi, bo);
    std::memcpy(o + i, bo, sizeof(float) * size_t(n - i));
  }
}

}  // namespace vm

inline void vexp_f32(const float* x, float* o, int64_t n) { vm::map_f32(x, o, n, [](vm::VF v) { return vm::exp(v); }); }
inline void vlog_f32(const float* x, float* o, int64_t n) { vm::map_f32(x, o, n, [](vm::VF v) { return vm::log(v); }); }
inline void vtanh_f32(const float* x, float* o, int64_t n) { vm::map_f32(x, o, n, [](vm::VF v) { return vm::tanh(v); }); }
inline void vsigmoid_f32(const float* x, float* o, int64_t n) { vm::map_f32_via_f64(x, o, n, [](vm::VD v) { return vm::sigmoid_d(v); }); }
inline void vsin_f32(const float* x, float* o, int64_t n) { vm::trig_f32<false>(x, o, n); }
inline void vcos_f32(const float* x, float* o, int64_t n) { vm::trig_f32<true>(x, o, n); }

}  // namespace mg::cpu::MG_ISA
