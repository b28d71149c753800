#include "core/tensor.h"

#include <cstdlib>

#include "core/cuda_hooks.h"
#include <new>

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

static void* alloc_bytes(size_t bytes, Device device) {
  if (device == Device::CUDA) {
    if (!cuda_hooks().alloc) throw Error("cuda: this build of metagrad has no CUDA backend");
    return cuda_hooks().alloc(bytes);
  }
  // 64-byte alignment for AVX-512 loads; never a null pointer, even for 0 bytes.
  size_t rounded = (bytes + 63) & ~size_t(63);
  void* p = std::aligned_alloc(64, rounded ? rounded : 64);
  if (!p) throw Error("out of memory allocating " + std::to_string(bytes) + " bytes on the cpu");
  return p;
}

Tensor* new_tensor(DType dtype, const Shape& shape, Device device) {
  for (int i = 0; i < shape.ndim; ++i)
    if (shape.d[i] < 0) throw Error("negative dimension in shape " + shape.str());
  size_t bytes = size_t(shape.numel()) * dtype_size(dtype);
  void* p = alloc_bytes(bytes, device);
  auto* st = new Storage();
  st->data = p;
  st->bytes = bytes;
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
  if (shape.numel() != base.numel())
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
      if (cuda_hooks().free) cuda_hooks().free(st->data);
    } else {
      std::free(st->data);
      g_external_delta -= int64_t(st->bytes);
    }
    delete st;
  }
}

}  // namespace mg
