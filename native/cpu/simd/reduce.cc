// Hot inner loops of the SUM / MEAN / MAX / MIN reductions, compiled once per ISA (Note [ISA
// variants] in CMakeLists.txt); native/cpu/reduce.cc plans the layout and the threading.
//
// Summation order (the same in every ISA, so results are repeatable and, for these loops, equal
// bit for bit across ISAs: no reassociation, the vector lanes are the 8 accumulators below or the
// independent columns of a tile):
//   red_sum_run: a contiguous run of n values, accumulated in double (int64 for int32). Runs over
//     1024 split in halves at a multiple of 8 (pairwise, O(log n) error growth); a leaf keeps 8
//     partial sums l[k] += x[i + k] in index order, combined as ((l0+l4)+(l1+l5))+((l2+l6)+(l3+l7)),
//     then the leftover (< 8) values are added in order.
//   red_sum_rows: columns j in [0, w) of `nrows` rows; acc[j] = ((0 + row0[j]) + row1[j]) + ...,
//     in row order (the caller merges blocks of rows in order).
// MAX / MIN are NaN-propagating (a NaN wins); their order does not change the result.
//
// The first part (the entry points) is also included by native/cpu/reduce.cc without MG_ISA.
#ifndef MG_CPU_SIMD_REDUCE_DECL_
#define MG_CPU_SIMD_REDUCE_DECL_
#include <cstdint>

#include "cpu/isa.h"

MG_DECLARE_ISA_FNS(
  double red_sum_run(const float* p, int64_t n);
  double red_sum_run(const double* p, int64_t n);
  int64_t red_sum_run(const int32_t* p, int64_t n);
  /** pick(...pick(pick(init, p[0]), p[1])..., p[n-1]) with pick = NaN-propagating max (is_max) or min. */
  float red_ext_run(const float* p, int64_t n, float init, bool is_max);
  double red_ext_run(const double* p, int64_t n, double init, bool is_max);
  int32_t red_ext_run(const int32_t* p, int64_t n, int32_t init, bool is_max);
  /** acc[j] = sum over r in [0, nrows) of xb[offs[r] + j], in order from 0, for j in [0, w). */
  void red_sum_rows(const float* xb, const int64_t* offs, int64_t nrows, int w, double* acc);
  void red_sum_rows(const double* xb, const int64_t* offs, int64_t nrows, int w, double* acc);
  void red_sum_rows(const int32_t* xb, const int64_t* offs, int64_t nrows, int w, int64_t* acc);
  /** acc[j] = pick over the rows (acc[j] holds the start value). */
  void red_ext_rows(const float* xb, const int64_t* offs, int64_t nrows, int w, float* acc, bool is_max);
  void red_ext_rows(const double* xb, const int64_t* offs, int64_t nrows, int w, double* acc, bool is_max);
  void red_ext_rows(const int32_t* xb, const int64_t* offs, int64_t nrows, int w, int32_t* acc, bool is_max);
)
#endif  // MG_CPU_SIMD_REDUCE_DECL_

#ifdef MG_ISA
#include <type_traits>

namespace mg::cpu::MG_ISA {
namespace {

template <class T, class Acc>
Acc sum_run(const T* p, int64_t n) {
  if (n > 1024) {
    int64_t h = (n / 2) & ~int64_t(7);
    return sum_run<T, Acc>(p, h) + sum_run<T, Acc>(p + h, n - h);
  }
  Acc l[8] = {};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; ++k) l[k] += Acc(p[i + k]);
  Acc r = ((l[0] + l[4]) + (l[1] + l[5])) + ((l[2] + l[6]) + (l[3] + l[7]));
  for (; i < n; ++i) r += Acc(p[i]);
  return r;
}

template <class T, bool IsMax>
inline T pick(T acc, T v) {
  if constexpr (IsMax) return (v > acc || v != v) ? v : acc;
  else return (v < acc || v != v) ? v : acc;
}

template <class T, bool IsMax>
T ext_run(const T* __restrict p, int64_t n, T init) {
  T l[16];
  for (int k = 0; k < 16; ++k) l[k] = init;
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int k = 0; k < 16; ++k) l[k] = pick<T, IsMax>(l[k], p[i + k]);
  T s = init;
  for (int k = 0; k < 16; ++k) s = pick<T, IsMax>(s, l[k]);
  for (; i < n; ++i) s = pick<T, IsMax>(s, p[i]);
  return s;
}

// Columns in chunks of 16 held in registers across all the rows (each column still sums its rows
// in order); the chunk's rows stay in cache between chunks.
template <class T, class Acc>
void sum_rows(const T* __restrict xb, const int64_t* offs, int64_t nrows, int w, Acc* __restrict acc) {
  int j = 0;
  for (; j + 16 <= w; j += 16) {
    Acc a[16] = {};
    for (int64_t r = 0; r < nrows; ++r) {
      const T* __restrict row = xb + offs[r] + j;
      for (int k = 0; k < 16; ++k) a[k] += Acc(row[k]);
    }
    for (int k = 0; k < 16; ++k) acc[j + k] = a[k];
  }
  for (; j < w; ++j) {
    Acc a = Acc(0);
    for (int64_t r = 0; r < nrows; ++r) a += Acc(xb[offs[r] + j]);
    acc[j] = a;
  }
}

template <class T, bool IsMax>
void ext_rows(const T* __restrict xb, const int64_t* offs, int64_t nrows, int w, T* __restrict acc) {
  int j = 0;
  for (; j + 16 <= w; j += 16) {
    T a[16];
    for (int k = 0; k < 16; ++k) a[k] = acc[j + k];
    for (int64_t r = 0; r < nrows; ++r) {
      const T* __restrict row = xb + offs[r] + j;
      for (int k = 0; k < 16; ++k) a[k] = pick<T, IsMax>(a[k], row[k]);
    }
    for (int k = 0; k < 16; ++k) acc[j + k] = a[k];
  }
  for (; j < w; ++j) {
    T a = acc[j];
    for (int64_t r = 0; r < nrows; ++r) a = pick<T, IsMax>(a, xb[offs[r] + j]);
    acc[j] = a;
  }
}

}  // namespace

double red_sum_run(const float* p, int64_t n) { return sum_run<float, double>(p, n); }
double red_sum_run(const double* p, int64_t n) { return sum_run<double, double>(p, n); }
int64_t red_sum_run(const int32_t* p, int64_t n) { return sum_run<int32_t, int64_t>(p, n); }
float red_ext_run(const float* p, int64_t n, float init, bool is_max) {
  return is_max ? ext_run<float, true>(p, n, init) : ext_run<float, false>(p, n, init);
}
double red_ext_run(const double* p, int64_t n, double init, bool is_max) {
  return is_max ? ext_run<double, true>(p, n, init) : ext_run<double, false>(p, n, init);
}
int32_t red_ext_run(const int32_t* p, int64_t n, int32_t init, bool is_max) {
  return is_max ? ext_run<int32_t, true>(p, n, init) : ext_run<int32_t, false>(p, n, init);
}
void red_sum_rows(const float* xb, const int64_t* offs, int64_t nrows, int w, double* acc) { sum_rows(xb, offs, nrows, w, acc); }
void red_sum_rows(const double* xb, const int64_t* offs, int64_t nrows, int w, double* acc) { sum_rows(xb, offs, nrows, w, acc); }
void red_sum_rows(const int32_t* xb, const int64_t* offs, int64_t nrows, int w, int64_t* acc) { sum_rows(xb, offs, nrows, w, acc); }
void red_ext_rows(const float* xb, const int64_t* offs, int64_t nrows, int w, float* acc, bool is_max) {
  is_max ? ext_rows<float, true>(xb, offs, nrows, w, acc) : ext_rows<float, false>(xb, offs, nrows, w, acc);
}
void red_ext_rows(const double* xb, const int64_t* offs, int64_t nrows, int w, double* acc, bool is_max) {
  is_max ? ext_rows<double, true>(xb, offs, nrows, w, acc) : ext_rows<double, false>(xb, offs, nrows, w, acc);
}
void red_ext_rows(const int32_t* xb, const int64_t* offs, int64_t nrows, int w, int32_t* acc, bool is_max) {
  is_max ? ext_rows<int32_t, true>(xb, offs, nrows, w, acc) : ext_rows<int32_t, false>(xb, offs, nrows, w, acc);
}

}  // namespace mg::cpu::MG_ISA
#endif  // MG_ISA
