// CPU kernels for SOFTMAX and LOG_SOFTMAX along one axis (attrs [axis]), stable by subtracting the
// maximum. The input is viewed as [outer, R, inner]: inner == 1 (the last axis) runs row by row;
// otherwise blocks of inner columns are reduced together so memory is read contiguously.
// A row of all -inf gives NaN (as in PyTorch): -inf - -inf is NaN.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "core/dispatch.h"
#include "cpu/parallel.h"

namespace mg::cpu {
namespace {

constexpr int64_t kWork = 1 << 14;  // elements per parallel task, roughly
constexpr int64_t kCols = 64;       // inner columns reduced together

template <class T, bool Log>
void rows(const T* x, T* y, int64_t nrows, int64_t R) {
  parallel_for(nrows, std::max<int64_t>(1, kWork / std::max<int64_t>(R, 1)), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const T* xr = x + r * R;
      T* yr = y + r * R;
      T m = -INFINITY;
      for (int64_t i = 0; i < R; ++i) m = std::max(m, xr[i]);  // NaN inputs propagate below
      double s = 0;
      if (Log) {
        for (int64_t i = 0; i < R; ++i) s += double(std::exp(xr[i] - m));
        const T ls = T(std::log(s));
        for (int64_t i = 0; i < R; ++i) yr[i] = xr[i] - m - ls;
      } else {
        for (int64_t i = 0; i < R; ++i) {
          const T v = std::exp(xr[i] - m);
          yr[i] = v;
          s += double(v);
        }
        const T inv = T(1.0 / s);
        for (int64_t i = 0; i < R; ++i) yr[i] *= inv;
      }
    }
  });
}

template <class T, bool Log>
void strided(const T* x, T* y, int64_t outer, int64_t R, int64_t inner) {
  const int64_t nblk = (inner + kCols - 1) / kCols;
  const int64_t grain = std::max<int64_t>(1, kWork / std::max<int64_t>(R * std::min(inner, kCols), 1));
  parallel_for(outer * nblk, grain, [&](int64_t b, int64_t e) {
    T m[kCols];
    double s[kCols];
    for (int64_t task = b; task < e; ++task) {
      const int64_t o = task / nblk, c0 = (task % nblk) * kCols, nc = std::min(kCols, inner - c0);
      const T* xo = x + o * R * inner + c0;
      T* yo = y + o * R * inner + c0;
      for (int64_t c = 0; c < nc; ++c) {
        m[c] = -INFINITY;
        s[c] = 0;
      }
      for (int64_t i = 0; i < R; ++i)
        for (int64_t c = 0; c < nc; ++c) m[c] = std::max(m[c], xo[i * inner + c]);
      for (int64_t i = 0; i < R; ++i) {
        for (int64_t c = 0; c < nc; ++c) {
          const T v = std::exp(xo[i * inner + c] - m[c]);
          if (!Log) yo[i * inner + c] = v;
          s[c] += double(v);
        }
      }
      for (int64_t i = 0; i < R; ++i) {
        for (int64_t c = 0; c < nc; ++c) {
          if (Log) yo[i * inner + c] = xo[i * inner + c] - m[c] - T(std::log(s[c]));
          else yo[i * inner + c] = T(double(yo[i * inner + c]) / s[c]);
        }
      }
    }
  });
}

// std::max(m, NaN) keeps m, so a NaN input would not reach the maximum; it still makes its own
// exp NaN and, through the sum, the whole row NaN, as in PyTorch.
template <bool Log>
void softmax_op(ExecArgs& a) {
  const char* op = Log ? "logSoftmax" : "softmax";
  Tensor& x = a.tensor(0);
  if (x.device() != Device::CPU) throw Error(std::string(op) + ": input is not on the CPU");
  if (x.dtype == DType::I32) throw Error(std::string(op) + ": input must be float32 or float64");
  if (a.out_dtype != x.dtype || !(a.out_shape == x.shape)) throw Error(std::string(op) + ": output header does not match input " + x.shape.str());
  const int nd = x.shape.ndim;
  int64_t axis = a.iattr(0);
  if (axis < 0) axis += std::max(nd, 1);
  if (axis < 0 || axis >= std::max(nd, 1)) throw Error(std::string(op) + ": axis " + std::to_string(a.iattr(0)) + " is out of range for " + x.shape.str());
  int64_t outer = 1, R = nd == 0 ? 1 : x.shape[int(axis)], inner = 1;
  for (int i = 0; i < axis && i < nd; ++i) outer *= x.shape[i];
  for (int i = int(axis) + 1; i < nd; ++i) inner *= x.shape[i];
  Tensor* o = a.alloc_out();
  if (o->numel() == 0) return;
  if (x.dtype == DType::F32) {
    if (inner == 1) rows<float, Log>(x.data<float>(), o->data<float>(), outer, R);
    else strided<float, Log>(x.data<float>(), o->data<float>(), outer, R, inner);
  } else {
    if (inner == 1) rows<double, Log>(x.data<double>(), o->data<double>(), outer, R);
    else strided<double, Log>(x.data<double>(), o->data<double>(), outer, R, inner);
  }
}

}  // namespace

MG_REGISTER_KERNEL(SOFTMAX, CPU, softmax_op<false>);
MG_REGISTER_KERNEL(LOG_SOFTMAX, CPU, softmax_op<true>);

}  // namespace mg::cpu
