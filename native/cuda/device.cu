// The CUDA backend's device layer: detection, the compute stream, host<->device copies, the hooks
// the core calls (native/core/cuda_hooks.h), the deferred error record, and the creation and
// conversion kernels (FILL CAST COPY RESHAPE ASSIGN). Every CUDA error becomes an mg::Error (a JS
// exception), never an abort. The other kernels register themselves the same way, file by file.
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>

#include "core/cuda_hooks.h"
#include "cuda/common.cuh"

namespace mg::cuda {

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) {
    cudaGetLastError();  // clear a non-sticky error so the process stays usable
    throw Error(std::string("cuda: ") + what + ": " + cudaGetErrorString(e));
  }
}

size_t cached_bytes();
size_t reserved_bytes();
void release_cache();

namespace {

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
  if (cudaGetDeviceProperties(&prop, i) != cudaSuccess) {
    cudaGetLastError();
    return "unknown";
  }
  return prop.name;
}

bool g_used = false;  // the runtime has been initialised on the device (a context exists)

void require_device() {
  if (device_count() == 0) throw Error("cuda: no CUDA device is available (mg.cuda.isAvailable() is false)");
  g_used = true;
}

bool env_on(const char* name) {
  const char* s = std::getenv(name);
  return s && *s && std::strcmp(s, "0") != 0 && std::strcmp(s, "false") != 0 && std::strcmp(s, "off") != 0;
}

bool g_tf32 = env_on("METAGRAD_CUDA_TF32");
const bool g_sync_checks = env_on("METAGRAD_CUDA_SYNC");
bool g_indexing_pending = false;  // an indexing kernel ran since the record was last read

}  // namespace

cudaStream_t stream() {
  static cudaStream_t s = [] {
    require_device();
    cudaStream_t st = nullptr;
    check(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking), "creating the compute stream");
    return st;
  }();
  return s;
}

const cudaDeviceProp& props() {
  static cudaDeviceProp p = [] {
    require_device();
    cudaDeviceProp q{};
    check(cudaGetDeviceProperties(&q, 0), "cudaGetDeviceProperties");
    return q;
  }();
  return p;
}

bool tf32_enabled() { return g_tf32; }

long long* err_record() {
  static long long* rec = [] {
    require_device();
    void* p = nullptr;
    check(cudaMalloc(&p, 4 * sizeof(long long)), "allocating the error record");
    // On the compute stream: it is non-blocking, so the legacy default stream would not order it.
    check(cudaMemsetAsync(p, 0, 4 * sizeof(long long), stream()), "clearing the error record");
    return static_cast<long long*>(p);
  }();
  g_indexing_pending = true;
  return rec;
}

static const char* ts_name(int op) {
  switch (Op(op)) {
    case Op::GATHER: return "gather";
    case Op::SCATTER_ADD: return "scatterAdd";
    case Op::INDEX_SELECT: return "indexSelect";
    case Op::INDEX_ADD: return "indexAdd";
    case Op::ONE_HOT: return "oneHot";
    case Op::MAXPOOL2D_BACKWARD: return "maxPool2dBackward";
    default: return op_name(Op(op));
  }
}

void throw_deferred_error() {
  if (!g_indexing_pending) return;
  g_indexing_pending = false;
  long long* rec = err_record();
  g_indexing_pending = false;
  long long h[4] = {};
  check(cudaMemcpy(h, rec, sizeof h, cudaMemcpyDeviceToHost), "reading the error record");
  if (h[0] == 0) return;
  check(cudaMemsetAsync(rec, 0, sizeof h, stream()), "clearing the error record");
  const int op = int(h[0] - 1);
  std::string msg = std::string("cuda: ") + ts_name(op) + ": index " + std::to_string(h[1]);
  if (Op(op) == Op::ONE_HOT) msg += " is out of range for " + std::to_string(h[2]) + " classes";
  else if (Op(op) == Op::MAXPOOL2D_BACKWARD) msg += " is out of range for planes of " + std::to_string(h[2]) + " elements";
  else msg += " is out of range for axis " + std::to_string(h[3]) + " of size " + std::to_string(h[2]);
  if (!g_sync_checks) msg += " (found on the device; reported at the next synchronisation, METAGRAD_CUDA_SYNC=1 reports it at the op)";
  throw Error(msg);
}

void after_indexing_kernel() {
  if (!g_sync_checks) return;
  check(cudaStreamSynchronize(stream()), "synchronize");
  throw_deferred_error();
}

namespace {

void* alloc(size_t bytes, size_t* capacity) {
  require_device();
  return raw_alloc(bytes, capacity);
}

void free_(void* p, size_t capacity) { raw_free(p, capacity); }

void h2d(void* d, const void* s, size_t n) {
  if (n) check(cudaMemcpyAsync(d, s, n, cudaMemcpyHostToDevice, stream()), "copy to device");
  // A pageable source is staged before cudaMemcpyAsync returns, so the caller may free it.
}

void synchronize() {
  if (!g_used) return;
  check(cudaStreamSynchronize(stream()), "synchronize (a kernel failed)");
  throw_deferred_error();
}

void d2h(void* d, const void* s, size_t n) {
  if (n) check(cudaMemcpyAsync(d, s, n, cudaMemcpyDeviceToHost, stream()), "copy to host");
  synchronize();
}

void mem_info(size_t* fr, size_t* tot) {
  *fr = *tot = 0;
  if (!g_used) return;  // do not create a context just to report
  if (cudaMemGetInfo(fr, tot) != cudaSuccess) cudaGetLastError();
}

void release() {
  if (g_used) release_cache();
}

struct Install {
  Install() {
    auto& h = cuda_hooks();
    h.device_count = device_count;
    h.device_name = device_name;
    h.alloc = alloc;
    h.free = free_;
    h.h2d = h2d;
    h.d2h = d2h;
    h.cached_bytes = cached_bytes;
    h.reserved_bytes = reserved_bytes;
    h.release_cache = release;
    h.synchronize = synchronize;
    h.mem_info = mem_info;
    h.set_tf32 = [](bool on) { g_tf32 = on; };
    h.tf32 = [] { return g_tf32; };
  }
} install;

// ---- creation and conversion kernels ------------------------------------------------------

template <class T>
__global__ void fill_kernel(T* p, int64_t n, T v) {
  MG_GRID_STRIDE(i, n) p[i] = v;
}

template <class I, class O>
__global__ void cast_kernel(const I* s, O* d, int64_t n) {
  MG_GRID_STRIDE(i, n) d[i] = O(s[i]);
}

// FILL: attrs [value]
void fill(ExecArgs& a) {
  Tensor* o = a.alloc_out();
  int64_t n = o->numel();
  if (!n) return;
  for_dtype(o->dtype, [&](auto z) {
    using T = decltype(z);
    fill_kernel<T><<<grid_for(n), kBlock, 0, stream()>>>(o->data<T>(), n, T(a.attrs[0]));
  });
  check_launch("fill");
}

// CAST: to the output dtype (float -> int32 truncates toward zero, like the CPU)
void cast(ExecArgs& a) {
  Tensor& x = a.tensor(0);
  Tensor* o = a.alloc_out(a.out_dtype, x.shape);
  int64_t n = x.numel();
  if (!n) return;
  for_dtype(x.dtype, [&](auto zi) {
    using I = decltype(zi);
    for_dtype(o->dtype, [&](auto zo) {
      using O = decltype(zo);
      cast_kernel<I, O><<<grid_for(n), kBlock, 0, stream()>>>(x.data<I>(), o->data<O>(), n);
    });
  });
  check_launch("cast");
}

void copy(ExecArgs& a) {
  Tensor& x = a.tensor(0);
  Tensor* o = a.alloc_out(x.dtype, x.shape);
  if (x.nbytes()) check(cudaMemcpyAsync(o->raw(), x.raw(), x.nbytes(), cudaMemcpyDeviceToDevice, stream()), "copy");
}

void reshape(ExecArgs& a) { a.set_out(new_view(a.tensor(0), a.out_shape)); }

void assign(ExecArgs& a) {
  Tensor& d = a.tensor(0);
  Tensor& s = a.tensor(1);
  if (d.dtype != s.dtype || !(d.shape == s.shape))
    throw Error("assign: destination " + d.shape.str() + " " + dtype_name(d.dtype) + " and source " + s.shape.str() + " " + dtype_name(s.dtype) + " differ");
  if (d.device() != Device::CUDA || s.device() != Device::CUDA) throw Error("assign: both tensors must be on cuda");
  if (s.nbytes() && d.raw() != s.raw())
    check(cudaMemcpyAsync(d.raw(), s.raw(), s.nbytes(), cudaMemcpyDeviceToDevice, stream()), "assign");
}

MG_REGISTER_KERNEL(FILL, CUDA, fill);
MG_REGISTER_KERNEL(CAST, CUDA, cast);
MG_REGISTER_KERNEL(COPY, CUDA, copy);
MG_REGISTER_KERNEL(RESHAPE, CUDA, reshape);
MG_REGISTER_KERNEL(ASSIGN, CUDA, assign);

}  // namespace
}  // namespace mg::cuda
