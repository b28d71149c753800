// The CUDA backend's device layer: detection, allocation and host<->device copies, plus the
// creation and conversion kernels. Every CUDA error becomes an mg::Error (a JS exception), never an
// abort. The full kernel set (issue 8) registers itself the same way, file by file.
#include <cuda_runtime.h>

#include <string>

#include "core/cuda_hooks.h"
#include "core/dispatch.h"

namespace mg::cuda {
namespace {

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) {
    cudaGetLastError();  // clear the sticky error so the process stays usable
    throw Error(std::string("cuda: ") + what + ": " + cudaGetErrorString(e));
  }
}

int device_count() {
  static int n = [] {
    int c = 0;
    if (cudaGetDeviceCount(&c) != cudaSuccess) {
      cudaGetLastError();
      return 0;
    }
    return c;
  }();
  return n;
}

const char* device_name(int i) {
  static thread_local cudaDeviceProp prop;
  if (cudaGetDeviceProperties(&prop, i) != cudaSuccess) return "unknown";
  return prop.name;
}

void* alloc(size_t bytes) {
  if (device_count() == 0) throw Error("cuda: no CUDA device is available (mg.cuda.isAvailable() is false)");
  void* p = nullptr;
  cudaError_t e = cudaMalloc(&p, bytes ? bytes : 1);
  if (e == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    throw Error("cuda: out of memory allocating " + std::to_string(bytes) + " bytes");
  }
  check(e, "cudaMalloc");
  return p;
}

void free_(void* p) { cudaFree(p); }
void h2d(void* d, const void* s, size_t n) { if (n) check(cudaMemcpy(d, s, n, cudaMemcpyHostToDevice), "copy to device"); }
void d2h(void* d, const void* s, size_t n) { if (n) check(cudaMemcpy(d, s, n, cudaMemcpyDeviceToHost), "copy to host"); }

struct Install {
  Install() {
    auto& h = cuda_hooks();
    h.device_count = device_count;
    h.device_name = device_name;
    h.alloc = alloc;
    h.free = free_;
    h.h2d = h2d;
    h.d2h = d2h;
  }
} install;

constexpr int kBlock = 256;
inline unsigned blocks(int64_t n) { return unsigned((n + kBlock - 1) / kBlock); }

template <class T>
__global__ void fill_kernel(T* p, int64_t n, T v) {
  int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) p[i] = v;
}

template <class I, class O>
__global__ void cast_kernel(const I* s, O* d, int64_t n) {
  int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) d[i] = O(s[i]);
}

void fill(ExecArgs& a) {
  Tensor* o = a.alloc_out();
  int64_t n = o->numel();
  if (!n) return;
  for_dtype(o->dtype, [&](auto z) {
    using T = decltype(z);
    fill_kernel<T><<<blocks(n), kBlock>>>(o->data<T>(), n, T(a.attrs[0]));
  });
  check(cudaGetLastError(), "fill");
}

void cast(ExecArgs& a) {
  Tensor& x = a.tensor(0);
  Tensor* o = a.alloc_out(a.out_dtype, x.shape);
  int64_t n = x.numel();
  if (!n) return;
  for_dtype(x.dtype, [&](auto zi) {
    using I = decltype(zi);
    for_dtype(o->dtype, [&](auto zo) {
      using O = decltype(zo);
      cast_kernel<I, O><<<blocks(n), kBlock>>>(x.data<I>(), o->data<O>(), n);
    });
  });
  check(cudaGetLastError(), "cast");
}

void copy(ExecArgs& a) {
  Tensor& x = a.tensor(0);
  Tensor* o = a.alloc_out(x.dtype, x.shape);
  if (x.nbytes()) check(cudaMemcpy(o->raw(), x.raw(), x.nbytes(), cudaMemcpyDeviceToDevice), "copy");
}

void reshape(ExecArgs& a) { a.set_out(new_view(a.tensor(0), a.out_shape)); }

void assign(ExecArgs& a) {
  Tensor& d = a.tensor(0);
  Tensor& s = a.tensor(1);
  if (d.dtype != s.dtype || !(d.shape == s.shape)) throw Error("assign: destination and source differ in shape or dtype");
  if (s.nbytes()) check(cudaMemcpy(d.raw(), s.raw(), s.nbytes(), cudaMemcpyDeviceToDevice), "assign");
}

MG_REGISTER_KERNEL(FILL, CUDA, fill);
MG_REGISTER_KERNEL(CAST, CUDA, cast);
MG_REGISTER_KERNEL(COPY, CUDA, copy);
MG_REGISTER_KERNEL(RESHAPE, CUDA, reshape);
MG_REGISTER_KERNEL(ASSIGN, CUDA, assign);

}  // namespace
}  // namespace mg::cuda
