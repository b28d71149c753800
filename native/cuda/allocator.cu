// The caching device allocator (ARCHITECTURE.md, Memory): no cudaMalloc per op. Freed blocks are
// kept on free lists by size class and handed to the next request of that class; because every
// kernel runs on the one compute stream (Note [CUDA stream and ordering] in common.cuh), a block
// can be reused as soon as its tensor is released. When cudaMalloc runs out of memory the cache
// is returned to the driver and the allocation retried once; a request that still fails throws
// an mg::Error (a JS exception) naming the size and the device's usage, and leaves the process
// usable. mg.memory().cuda reports the live bytes, the cached bytes and the reserved total;
// mg.releaseCachedMemory() empties the cache.
#include <mutex>
#include <unordered_map>
#include <vector>

#include "cuda/common.cuh"

namespace mg::cuda {
namespace {

constexpr size_t kSmall = size_t(1) << 20;  // below: multiples of 512 bytes
constexpr size_t kRound = 512;

// Size classes: multiples of 512 bytes below 1 MiB, then 4 per power of two (at most 25% slack).
size_t size_class(size_t bytes) {
  if (bytes == 0) bytes = 1;
  if (bytes <= kSmall) return (bytes + kRound - 1) / kRound * kRound;
  int hi = 63 - __builtin_clzll(bytes - 1);  // 2^hi < bytes <= 2^(hi+1)
  size_t quarter = size_t(1) << (hi - 1);
  return (size_t(1) << hi) + ((bytes - (size_t(1) << hi) + quarter - 1) / quarter) * quarter;
}

struct Cache {
  std::mutex mu;
  std::unordered_map<size_t, std::vector<void*>> free;
  size_t cached = 0;    // bytes on the free lists
  size_t reserved = 0;  // bytes obtained from cudaMalloc and not yet returned
};
Cache& cache() {
  static Cache* c = new Cache();  // leaked: no teardown-order hazards at exit
  return *c;
}

void release_locked(Cache& c) {
  for (auto& [sz, list] : c.free) {
    for (void* p : list) {
      cudaFree(p);  // synchronises the device: no queued kernel still uses the block
      c.reserved -= sz;
    }
  }
  c.free.clear();
  c.cached = 0;
  cudaGetLastError();
}

std::string mib(size_t b) { return std::to_string((b + (size_t(1) << 19)) >> 20) + " MiB"; }

}  // namespace

void* raw_alloc(size_t bytes, size_t* capacity) {
  const size_t cls = size_class(bytes);
  *capacity = cls;
  auto& c = cache();
  std::lock_guard<std::mutex> lk(c.mu);
  auto it = c.free.find(cls);
  if (it != c.free.end() && !it->second.empty()) {
    void* p = it->second.back();
    it->second.pop_back();
    c.cached -= cls;
    return p;
  }
  void* p = nullptr;
  cudaError_t e = cudaMalloc(&p, cls);
  if (e == cudaErrorMemoryAllocation && c.cached > 0) {
    cudaGetLastError();
    release_locked(c);
    e = cudaMalloc(&p, cls);
  }
  if (e == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    size_t fr = 0, tot = 0;
    cudaMemGetInfo(&fr, &tot);
    cudaGetLastError();
    throw Error("cuda: out of memory allocating " + std::to_string(bytes) + " bytes (" + mib(c.reserved) +
                " reserved by metagrad, " + mib(fr) + " free of " + mib(tot) + " on the device)");
  }
  check(e, "cudaMalloc");
  c.reserved += cls;
  return p;
}

void raw_free(void* p, size_t capacity) {
  if (!p) return;
  auto& c = cache();
  std::lock_guard<std::mutex> lk(c.mu);
  c.free[capacity].push_back(p);
  c.cached += capacity;
}

size_t cached_bytes() {
  std::lock_guard<std::mutex> lk(cache().mu);
  return cache().cached;
}
size_t reserved_bytes() {
  std::lock_guard<std::mutex> lk(cache().mu);
  return cache().reserved;
}
void release_cache() {
  auto& c = cache();
  std::lock_guard<std::mutex> lk(c.mu);
  release_locked(c);
}

}  // namespace mg::cuda
