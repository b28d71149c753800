// What the core needs from the CUDA backend. native/cuda/device.cu fills these in when CUDA is
// compiled in; without it they stay null and every CUDA request fails with a clear error.
#pragma once
#include <cstddef>

namespace mg {

struct CudaHooks {
  int (*device_count)() = nullptr;          // 0 when no driver or no GPU; never throws
  const char* (*device_name)(int) = nullptr;
  /** Allocates at least `bytes` from the caching allocator; `*capacity` gets the block's size. Throws mg::Error (out of memory names the size). */
  void* (*alloc)(size_t bytes, size_t* capacity) = nullptr;
  /** Returns a block to the caching allocator (stream-ordered: later kernels may reuse it at once). */
  void (*free)(void* p, size_t capacity) = nullptr;
  void (*h2d)(void* dst, const void* src, size_t n) = nullptr;  // throw mg::Error on failure
  void (*d2h)(void* dst, const void* src, size_t n) = nullptr;  // waits for the stream; reports deferred kernel errors
  size_t (*cached_bytes)() = nullptr;       // free blocks held by the caching allocator
  size_t (*reserved_bytes)() = nullptr;     // everything obtained from cudaMalloc (live + cached)
  void (*release_cache)() = nullptr;        // returns the cached blocks to the driver
  void (*synchronize)() = nullptr;          // waits for every queued kernel; reports deferred errors
  /** Free and total device memory (both 0 until the device has been used). */
  void (*mem_info)(size_t* free_bytes, size_t* total_bytes) = nullptr;
  void (*set_tf32)(bool on) = nullptr;      // float32 GEMMs/convolutions through TF32 tensor cores
  bool (*tf32)() = nullptr;
};
CudaHooks& cuda_hooks();

}  // namespace mg
