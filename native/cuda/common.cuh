// Shared by the CUDA kernel files: error checks, the compute stream, launch sizes, scratch memory
// from the caching allocator, and the deferred error flag of the indexing kernels.
//
// Note [CUDA stream and ordering]: every kernel and copy of the backend goes to one non-blocking
// stream (stream()). Work is queued and the host returns at once; the host waits only where it
// must read device memory (data(), to('cpu'), mg.cuda.synchronize()). Because everything is on
// one stream, a block freed to the caching allocator (allocator.cu) can be handed to the next
// kernel at once: that kernel runs after every kernel that used the block before.
//
// Note [Deferred index errors]: the CPU kernels of gather, scatterAdd, indexSelect, indexAdd,
// oneHot and maxPool2dBackward throw when an index is out of range. On the GPU, checking before
// the launch would mean reading the index tensor back (a full stream synchronisation per op), so
// the kernels check on the device instead: an out-of-range index is never read or written
// through, and the first one is recorded in a small device-side record. The record is read at the
// next synchronisation point (data(), to('cpu'), mg.cuda.synchronize()), which then throws
// "cuda: gather: index 7 is out of range for axis 1 of size 5 (found on the device ...)" and
// clears it; the process stays usable. METAGRAD_CUDA_SYNC=1 checks after every indexing kernel
// instead (slower; errors surface at the op that caused them).
#pragma once
#include <cuda_runtime.h>

#include <cstdint>
#include <string>

#include "core/dispatch.h"

namespace mg::cuda {

/** Throws mg::Error naming `what` unless `e` is cudaSuccess (clears a non-sticky error first). */
void check(cudaError_t e, const char* what);
/** Checks that the kernel just launched was accepted (bad configuration, no kernel image...). */
inline void check_launch(const char* what) { check(cudaGetLastError(), what); }

/** The backend's compute stream (Note [CUDA stream and ordering]). */
cudaStream_t stream();
/** Properties of device 0 (initialises the runtime on first use). */
const cudaDeviceProp& props();

/** Raw blocks from the caching allocator (allocator.cu). */
void* raw_alloc(size_t bytes, size_t* capacity);
void raw_free(void* p, size_t capacity);

/** Device scratch memory freed (stream-ordered) when it goes out of scope. */
struct Scratch {
  void* p = nullptr;
  size_t cap = 0;
  explicit Scratch(size_t bytes) { p = raw_alloc(bytes, &cap); }
  ~Scratch() { if (p) raw_free(p, cap); }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  template <class T> T* as() const { return static_cast<T*>(p); }
};

// ---- launch sizes --------------------------------------------------------------------------
constexpr int kBlock = 256;
/** Blocks for a grid-stride loop over n elements (capped; the loop covers the rest). */
inline unsigned grid_for(int64_t n, int block = kBlock) {
  int64_t b = (n + block - 1) / block;
  if (b < 1) b = 1;
  if (b > (int64_t(1) << 20)) b = int64_t(1) << 20;
  return unsigned(b);
}
#define MG_GRID_STRIDE(i, n) \
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < (n); i += int64_t(gridDim.x) * blockDim.x)

// ---- deferred index errors (Note [Deferred index errors]) ------------------------------------
/** The device-side record: [0] = op code + 1 of the first bad index (0: none), [1] value, [2] size, [3] axis. */
struct ErrRecord {
  long long* p;
};
/** The record's device address (allocated on first use). */
long long* err_record();
/** Records a bad index (the first one wins). */
__device__ inline void report_bad_index(long long* rec, int op, long long value, long long size, long long axis) {
  if (atomicCAS(reinterpret_cast<unsigned long long*>(rec), 0ull, (unsigned long long)(op + 1)) == 0ull) {
    rec[1] = value;
    rec[2] = size;
    rec[3] = axis;
  }
}
/** After an indexing kernel: checks the record now when METAGRAD_CUDA_SYNC=1, else does nothing. */
void after_indexing_kernel();
/** Reads the record (the stream must be idle) and throws when it holds an error, clearing it. */
void throw_deferred_error();

/** Whether the float32 GEMMs use TF32 tensor cores (mg.cuda.setTF32, METAGRAD_CUDA_TF32=1). */
bool tf32_enabled();

}  // namespace mg::cuda
