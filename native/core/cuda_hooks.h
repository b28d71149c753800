// What the core needs from the CUDA backend. native/cuda/device.cu fills these in when CUDA is
// compiled in; without it they stay null and every CUDA request fails with a clear error.
#pragma once
#include <cstddef>

namespace mg {

struct CudaHooks {
  int (*device_count)() = nullptr;          // 0 when no driver or no GPU; never throws
  const char* (*device_name)(int) = nullptr;
  void* (*alloc)(size_t bytes) = nullptr;   // throws mg::Error (out of memory names the size)
  void (*free)(void* p) = nullptr;
  void (*h2d)(void* dst, const void* src, size_t n) = nullptr;  // throw mg::Error on failure
  void (*d2h)(void* dst, const void* src, size_t n) = nullptr;
};
CudaHooks& cuda_hooks();

}  // namespace mg
