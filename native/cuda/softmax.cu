// CUDA kernels of SOFTMAX and LOG_SOFTMAX along one axis (attrs [axis]), with the CPU kernels'
// arithmetic (native/cpu/softmax.cc): subtract the row maximum (NaN does not enter the maximum but
// makes its row NaN through the sum), exponentials in the input dtype, their sum in double.
// The input is [outer, R, inner]: inner == 1 runs one warp per row (a block of 256 for rows
// longer than 1024); inner > 1 runs one thread per column, neighbouring threads on neighbouring
// columns.
#include <cmath>
#include <string>

#include "cuda/common.cuh"

namespace mg::cuda {
namespace {

template <class T>
__device__ __forceinline__ T maxnn(T m, T v) { return m < v ? v : m; }  // std::max(m, v)

__device__ __forceinline__ double warp_sum(double v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
template <class T>
__device__ __forceinline__ T warp_max(T v) {
  for (int o = 16; o > 0; o >>= 1) v = maxnn(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// Rows of length R, one warp each.
template <class T, bool Log>
__global__ void rows_warp(const T* __restrict__ x, T* __restrict__ y, int64_t nrows, int64_t R) {
  const int lane = threadIdx.x % 32;
  const int64_t warps = int64_t(gridDim.x) * (blockDim.x / 32);
  for (int64_t r = int64_t(blockIdx.x) * (blockDim.x / 32) + threadIdx.x / 32; r < nrows; r += warps) {
    const T* xr = x + r * R;
    T* yr = y + r * R;
    T m = -T(INFINITY);
    for (int64_t i = lane; i < R; i += 32) m = maxnn(m, xr[i]);
    m = warp_max(m);
    double s = 0;
    for (int64_t i = lane; i < R; i += 32) s += double(exp(xr[i] - m));
    s = warp_sum(s);
    if (Log) {
      const T ls = T(log(s));
      for (int64_t i = lane; i < R; i += 32) yr[i] = xr[i] - m - ls;
    } else {
      const T inv = T(1.0 / s);
      for (int64_t i = lane; i < R; i += 32) yr[i] = exp(xr[i] - m) * inv;
    }
  }
}

// Long rows: one block of 256 threads each.
template <class T, bool Log>
__global__ void rows_block(const T* __restrict__ x, T* __restrict__ y, int64_t R) {
  __shared__ double sh[8];
  __shared__ T shm[8];
  const int lane = threadIdx.x % 32, w = threadIdx.x / 32;
  const T* xr = x + int64_t(blockIdx.x) * R;
  T* yr = y + int64_t(blockIdx.x) * R;
  T m = -T(INFINITY);
  for (int64_t i = threadIdx.x; i < R; i += blockDim.x) m = maxnn(m, xr[i]);
  m = warp_max(m);
  if (lane == 0) shm[w] = m;
  __syncthreads();
  m = shm[0];
  for (int k = 1; k < 8; ++k) m = maxnn(m, shm[k]);
  double s = 0;
  for (int64_t i = threadIdx.x; i < R; i += blockDim.x) s += double(exp(xr[i] - m));
  s = warp_sum(s);
  if (lane == 0) sh[w] = s;
  __syncthreads();
  s = 0;
  for (int k = 0; k < 8; ++k) s += sh[k];
  if (Log) {
    const T ls = T(log(s));
    for (int64_t i = threadIdx.x; i < R; i += blockDim.x) yr[i] = xr[i] - m - ls;
  } else {
    const T inv = T(1.0 / s);
    for (int64_t i = threadIdx.x; i < R; i += blockDim.x) yr[i] = exp(xr[i] - m) * inv;
  }
}

template <class T, bool Log>
__global__ void strided(const T* __restrict__ x, T* __restrict__ y, int64_t outer, int64_t R, int64_t inner) {
  MG_GRID_STRIDE(u, outer * inner) {
    const int64_t o = u / inner, c = u - o * inner;
    const T* xo = x + o * R * inner + c;
    T* yo = y + o * R * inner + c;
    T m = -T(INFINITY);
    for (int64_t i = 0; i < R; ++i) m = maxnn(m, xo[i * inner]);
    double s = 0;
    for (int64_t i = 0; i < R; ++i) s += double(exp(xo[i * inner] - m));
    if (Log) {
      const T ls = T(log(s));
      for (int64_t i = 0; i < R; ++i) yo[i * inner] = xo[i * inner] - m - ls;
    } else {
      for (int64_t i = 0; i < R; ++i) yo[i * inner] = T(double(exp(xo[i * inner] - m)) / s);
    }
  }
}

template <bool Log>
void softmax_op(ExecArgs& a) {
  const char* op = Log ? "logSoftmax" : "softmax";
  Tensor& x = a.tensor(0);
  if (x.device() != Device::CUDA) throw Error(std::string(op) + ": input is not on cuda");
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
  for_dtype(x.dtype, [&](auto z) {
    using T = decltype(z);
    if constexpr (!std::is_integral_v<T>) {
      const T* xp = x.data<T>();
      T* yp = o->data<T>();
      if (inner > 1) strided<T, Log><<<grid_for(outer * inner), kBlock, 0, stream()>>>(xp, yp, outer, R, inner);
      else if (R > 1024 && outer <= 2147483647) rows_block<T, Log><<<unsigned(outer), 256, 0, stream()>>>(xp, yp, R);
      else rows_warp<T, Log><<<grid_for(outer * 32), kBlock, 0, stream()>>>(xp, yp, outer, R);
    }
  });
  check_launch(op);
}

}  // namespace

MG_REGISTER_KERNEL(SOFTMAX, CUDA, softmax_op<false>);
MG_REGISTER_KERNEL(LOG_SOFTMAX, CUDA, softmax_op<true>);

}  // namespace mg::cuda
