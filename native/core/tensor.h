// Tensors as the native side sees them: a refcounted Storage and a contiguous row-major view of it.
// Tensors are immutable (ARCHITECTURE.md rule 3); the only write after creation is ASSIGN, issued
// by the TypeScript side under noGrad for optimizer updates.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace mg {

enum class DType : int32_t { F32 = 0, F64 = 1, I32 = 2 };
enum class Device : int32_t { CPU = 0, CUDA = 1 };
constexpr int kNumDevices = 2;
constexpr int kMaxDims = 16;
/**
 * Note [Shape limits]: the most elements a tensor may have, 2^53 - 1 (the largest count a JS number
 * holds exactly; TypeScript's checkShape refuses more). With at most 8 bytes an element, byte sizes
 * and offsets then stay far from overflowing int64_t and size_t. `checked_numel` enforces it for
 * every buffer the addon allocates, so no kernel sees an element count that wrapped around.
 */
constexpr int64_t kMaxNumel = (int64_t(1) << 53) - 1;

inline size_t dtype_size(DType d) { return d == DType::F64 ? 8 : 4; }
const char* dtype_name(DType d);
const char* device_name(Device d);

/**
 * Calls `f(T{})` with the C++ element type of `d` (float, double or int32_t): the one place a
 * kernel turns a run-time dtype into a template argument. Usable from CUDA host code too.
 */
template <class F>
inline void for_dtype(DType d, F&& f) {
  switch (d) {
    case DType::F32: f(float{}); break;
    case DType::F64: f(double{}); break;
    case DType::I32: f(int32_t{}); break;
  }
}

/** Thrown by kernels and the allocator; the binding turns it into a JS Error. */
struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Shape {
  int32_t ndim = 0;
  int64_t d[kMaxDims] = {};
  int64_t numel() const {
    int64_t n = 1;
    for (int i = 0; i < ndim; ++i) n *= d[i];
    return n;
  }
  int64_t operator[](int i) const { return d[i]; }
  bool operator==(const Shape& o) const {
    if (ndim != o.ndim) return false;
    for (int i = 0; i < ndim; ++i) if (d[i] != o.d[i]) return false;
    return true;
  }
  std::string str() const;
  /**
   * The element count; throws mg::Error if a dimension is negative or the product of the
   * non-zero dimensions exceeds kMaxNumel (Note [Shape limits]).
   */
  int64_t checked_numel() const;
};

struct Storage {
  void* data = nullptr;
  size_t bytes = 0;     // what the tensor uses
  size_t capacity = 0;  // what was allocated (a size class, see Note [CPU buffer cache])
  Device device = Device::CPU;
  std::atomic<int32_t> refs{1};
};

struct Tensor {
  Storage* st = nullptr;
  size_t offset = 0;  // in bytes
  DType dtype = DType::F32;
  Shape shape;
  Device device() const { return st->device; }
  int64_t numel() const { return shape.numel(); }
  size_t nbytes() const { return size_t(numel()) * dtype_size(dtype); }
  void* raw() const { return static_cast<char*>(st->data) + offset; }
  template <class T> T* data() const { return reinterpret_cast<T*>(raw()); }
};

/** A fresh tensor with its own (uninitialised) storage. Throws mg::Error when out of memory. */
Tensor* new_tensor(DType dtype, const Shape& shape, Device device);
/** A tensor sharing `base`'s storage (reshape); `shape` must have base's element count. */
Tensor* new_view(const Tensor& base, const Shape& shape);
/** Drops one tensor; frees the storage with its last tensor. */
void release_tensor(Tensor* t);

struct MemStats {
  std::atomic<int64_t> tensors[kNumDevices];
  std::atomic<int64_t> bytes[kNumDevices];
  std::atomic<int64_t> peak_bytes[kNumDevices];
};
MemStats& mem_stats();
/** Bytes held in the CPU buffer cache (free, ready for reuse). */
size_t cpu_cached_bytes();
/** Returns the CPU buffer cache to the system. */
void release_cpu_cache();
/** Bytes allocated minus bytes freed on this thread since the last call (for V8's accounting). */
int64_t take_external_delta();

}  // namespace mg
