#include "core/tensor.h"

#include <cstdlib>
#ifdef __linux__
#include <sys/sysinfo.h>
#endif

#include "core/cuda_hooks.h"
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

namespace mg {

const char* dtype_name(DType d) {
  switch (d) {
    case DType::F32: return "float32";
    case DType::F64: return "float64";
    case DType::I32: return "int32";
  }
  return "?";
}
const char* device_name(Device d) { return d == Device::CPU ? "cpu" : "cuda"; }

std::string Shape::str() const {
  std::string s = "[";
  for (int i = 0; i < ndim; ++i) {
    if (i) s += ",";
    s += std::to_string(d[i]);
  }
  return s + "]";
}

int64_t Shape::checked_numel() const {
  int64_t n = 1;
  bool zero = false;
  for (int i = 0; i < ndim; ++i) {
    if (d[i] < 0) throw Error("negative dimension " + std::to_string(d[i]) + " in shape " + str());
    if (d[i] == 0) {
      zero = true;
      continue;
    }
    if (__builtin_mul_overflow(n, d[i], &n) || n > kMaxNumel)
      throw Error("shape " + str() + " has more than 2^53 - 1 elements");
  }
  return zero ? 0 : n;
}

MemStats& mem_stats() {
  static MemStats s{};
  return s;
}

static thread_local int64_t g_external_delta = 0;
int64_t take_external_delta() {
  int64_t d = g_external_delta;
  g_external_delta = 0;
  return d;
}

CudaHooks& cuda_hooks() {
  static CudaHooks h;
  return h;
}

// Note [CPU buffer cache]: glibc serves large blocks with mmap, so every large output would fault
// in fresh pages (2.5 ms for 4 MiB here). Blocks of 64 KiB and more are therefore kept on free
// lists by size class when released (up to kCacheCap bytes in all) and reused; smaller blocks go
// to malloc, whose thread caches are fast. memory() counts live tensors only, not the cache.
namespace {
constexpr size_t kCacheMin = size_t(1) << 16;
constexpr size_t kCacheCap = size_t(1) << 30;

// Size classes: 4 per power of two (at most 25% slack).
size_t size_class(size_t bytes) {
  if (bytes <= kCacheMin) return kCacheMin;
  int hi = 63 - __builtin_clzll(bytes - 1);  // 2^hi < bytes <= 2^(hi+1)
  size_t quarter = size_t(1) << (hi - 1);
  return (size_t(1) << hi) + ((bytes - (size_t(1) << hi) + quarter - 1) / quarter) * quarter;
}

struct BufferCache {
  std::mutex mu;
  std::unordered_map<size_t, std::vector<void*>> free;
  size_t cached = 0;
};
BufferCache& cache() {
  static BufferCache* c = new BufferCache();  // leaked: no teardown-order hazards at exit
  return *c;
}
}  // namespace

size_t cpu_cached_bytes() {
  std::lock_guard<std::mutex> lk(cache().mu);
  return cache().cached;
}

void release_cpu_cache() {
  auto& c = cache();
  std::lock_guard<std::mutex> lk(c.mu);
  for (auto& [sz, list] : c.free)
    for (void* p : list) std::free(p);
  c.free.clear();
  c.cached = 0;
}

// Physical memory plus swap, read once: a CPU buffer larger than that can never be backed, and
// with memory overcommit on, asking for it anyway would succeed and then get the process killed
// when the kernel fills it. Refuse it with an Error instead.
static size_t machine_memory() {
  static const size_t total = [] {
#ifdef __linux__
    struct sysinfo si;
    if (sysinfo(&si) == 0) return size_t(si.totalram + si.totalswap) * size_t(si.mem_unit);
#endif
    return SIZE_MAX;
  }();
  return total;
}

static void* cpu_alloc(size_t bytes, size_t* capacity) {
  if (bytes > (size_t(1) << 30) && bytes > machine_memory())
    throw Error("out of memory: " + std::to_string(bytes) + " bytes is more than this machine's " + std::to_string(machine_memory()) + " bytes of memory and swap");
  size_t cls = bytes >= kCacheMin ? size_class(bytes) : ((bytes + 63) & ~size_t(63));
  if (cls == 0) cls = 64;
  *capacity = cls;
  if (bytes >= kCacheMin) {
    auto& c = cache();
    std::lock_guard<std::mutex> lk(c.mu);
    auto it = c.free.find(cls);
    if (it != c.free.end() && !it->second.empty()) {
      void* p = it->second.back();
      it->second.pop_back();
      c.cached -= cls;
      return p;
    }
  }
  // 64-byte alignment for AVX-512 loads; never a null pointer, even for 0 bytes.
  void* p = std::aligned_alloc(64, cls);
  if (!p) {
    release_cpu_cache();
    p = std::aligned_alloc(64, cls);
  }
  if (!p) throw Error("out of memory allocating " + std::to_string(bytes) + " bytes on the cpu");
  return p;
}

static void cpu_free(void* p, size_t capacity) {
  if (capacity >= kCacheMin) {
    auto& c = cache();
    std::lock_guard<std::mutex> lk(c.mu);
    if (c.cached + capacity <= kCacheCap) {
      c.free[capacity].push_back(p);
      c.cached += capacity;
      return;
    }
  }
  std::free(p);
}

static void* alloc_bytes(size_t bytes, Device device, size_t* capacity) {
  if (device == Device::CUDA) {
    if (!cuda_hooks().alloc) throw Error("cuda: this build of metagrad has no CUDA backend");
    return cuda_hooks().alloc(bytes, capacity);
  }
  return cpu_alloc(bytes, capacity);
}

Tensor* new_tensor(DType dtype, const Shape& shape, Device device) {
  size_t bytes = size_t(shape.checked_numel()) * dtype_size(dtype);  // no overflow: Note [Shape limits]
  size_t capacity = 0;
  void* p = alloc_bytes(bytes, device, &capacity);
  auto* st = new Storage();
  st->data = p;
  st->bytes = bytes;
  st->capacity = capacity;
  st->device = device;
  auto* t = new Tensor();
  t->st = st;
  t->dtype = dtype;
  t->shape = shape;
  auto& m = mem_stats();
  int dev = int(device);
  m.tensors[dev].fetch_add(1, std::memory_order_relaxed);
  int64_t now = m.bytes[dev].fetch_add(int64_t(bytes), std::memory_order_relaxed) + int64_t(bytes);
  int64_t peak = m.peak_bytes[dev].load(std::memory_order_relaxed);
  while (now > peak && !m.peak_bytes[dev].compare_exchange_weak(peak, now)) {}
  if (device == Device::CPU) g_external_delta += int64_t(bytes);
  return t;
}

Tensor* new_view(const Tensor& base, const Shape& shape) {
  if (shape.checked_numel() != base.numel())
    throw Error("reshape: cannot view " + base.shape.str() + " as " + shape.str());
  base.st->refs.fetch_add(1, std::memory_order_relaxed);
  auto* t = new Tensor();
  t->st = base.st;
  t->offset = base.offset;
  t->dtype = base.dtype;
  t->shape = shape;
  mem_stats().tensors[int(base.st->device)].fetch_add(1, std::memory_order_relaxed);
  return t;
}

void release_tensor(Tensor* t) {
  if (!t) return;
  Storage* st = t->st;
  mem_stats().tensors[int(st->device)].fetch_sub(1, std::memory_order_relaxed);
  delete t;
  if (st->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    mem_stats().bytes[int(st->device)].fetch_sub(int64_t(st->bytes), std::memory_order_relaxed);
    if (st->device == Device::CUDA) {
      if (cuda_hooks().free) cuda_hooks().free(st->data, st->capacity);
    } else {
      cpu_free(st->data, st->capacity);
      g_external_delta -= int64_t(st->bytes);
    }
    delete st;
  }
}

}  // namespace mg
