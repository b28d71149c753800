// The addon's one N-API surface. `exec` is the hot path (every op of every forward and backward
// pass goes through it), so it uses the raw C API and reads shapes and attributes from a
// Float64Array shared with TypeScript instead of converting JS arrays on every call.
#include <napi.h>

#include <cctype>
#include <cmath>
#include <cstring>
#include <vector>

#include "core/cuda_hooks.h"
#include "core/dispatch.h"
#include "core/philox.h"
#include "cpu/isa.h"
#include "cpu/parallel.h"
#include "distributed/distributed.h"

namespace mg {

RngState& rng_state() {
  static RngState s;
  return s;
}


namespace {

constexpr int kAttrCap = 1024;

struct Instance {
  double* attrs = nullptr;  // the shared Float64Array's memory
  Napi::Reference<Napi::Float64Array> attrs_ref;
  std::vector<Input> inputs;
};

// Note [Handles]: a tensor handle is an N-API external wrapping the Tensor* directly, created
// without a native finalizer (a finalizer costs a weak persistent handle per tensor: about half of
// a small op's time). Tensors are freed by an explicit dispose(): from Tensor.dispose(), from the
// end of a tidy() scope, or from the TypeScript FinalizationRegistry backstop, which is registered
// only for tensors that no scope will dispose (src/tensor/tensor.ts). TypeScript clears its
// reference on dispose, so a handle is never used or disposed twice.

bool throw_error(napi_env env, const char* msg) {
  napi_throw_error(env, nullptr, msg);
  return false;
}

napi_value wrap(napi_env env, Tensor* t) {
  napi_value v;
  if (napi_create_external(env, t, nullptr, nullptr, &v) != napi_ok) {
    release_tensor(t);
    return nullptr;
  }
  return v;
}

Tensor* unwrap(napi_env env, napi_value v) {
  void* data = nullptr;
  if (napi_get_value_external(env, v, &data) != napi_ok) return nullptr;
  return static_cast<Tensor*>(data);
}

// V8 needs the external bytes to pace garbage collection, not to the byte: report in batches.
int64_t g_unreported = 0;
void report_external_memory(napi_env env, bool flush = false) {
  g_unreported += take_external_delta();
  if (g_unreported > (int64_t(1) << 16) || g_unreported < -(int64_t(1) << 16) || (flush && g_unreported)) {
    int64_t d = g_unreported;
    g_unreported = 0;
    int64_t ignored;
    napi_adjust_external_memory(env, d, &ignored);
  }
}

Shape read_shape(const double* a, int* consumed) {
  Shape s;
  // Doubles from TypeScript: range-check before converting (a double outside int64_t's range
  // converts with undefined behaviour), then the element count (Note [Shape limits]).
  if (!(a[0] >= 0 && a[0] <= kMaxDims) || a[0] != double(int32_t(a[0]))) throw Error("tensor rank " + std::to_string(a[0]) + " is not an integer in [0, 16]");
  s.ndim = int32_t(a[0]);
  for (int i = 0; i < s.ndim; ++i) {
    const double v = a[1 + i];
    if (!(v >= 0 && v <= double(kMaxNumel)) || v != std::floor(v)) throw Error("dimension " + std::to_string(v) + " is not an integer in [0, 2^53 - 1]");
    s.d[i] = int64_t(v);
  }
  s.checked_numel();
  *consumed = 1 + s.ndim;
  return s;
}

// Whether `msg` already starts with the op's name, as TypeScript spells it ("scatterAdd: ...")
// or as ops.def does ("SCATTER_ADD: ..."): case and underscores are ignored.
bool names_op(const std::string& msg, const char* op) {
  size_t i = 0;
  for (const char* p = op; *p; ++p) {
    if (*p == '_') continue;
    while (i < msg.size() && msg[i] == '_') ++i;
    if (i >= msg.size() || std::tolower(static_cast<unsigned char>(msg[i])) != std::tolower(static_cast<unsigned char>(*p))) return false;
    ++i;
  }
  return i < msg.size() && (msg[i] == ':' || msg[i] == ' ');
}

// exec(op, ...inputs) -> handle | handle[]
napi_value Exec(napi_env env, napi_callback_info info) {
  constexpr size_t kStackArgs = 8;
  size_t argc = kStackArgs;
  napi_value argv_stack[kStackArgs];
  Instance* inst = nullptr;
  napi_get_instance_data(env, reinterpret_cast<void**>(&inst));
  napi_get_cb_info(env, info, &argc, argv_stack, nullptr, nullptr);
  napi_value* argv = argv_stack;
  std::vector<napi_value> argv_heap;
  if (argc > kStackArgs) {  // many inputs (cat): fetch them all
    argv_heap.resize(argc);
    napi_get_cb_info(env, info, &argc, argv_heap.data(), nullptr, nullptr);
    argv = argv_heap.data();
  }
  if (!inst || !inst->attrs) return throw_error(env, "metagrad: addon used before init()"), nullptr;
  int32_t opi = -1;
  if (argc < 1 || napi_get_value_int32(env, argv[0], &opi) != napi_ok || opi < 0 || opi >= kNumOps)
    return throw_error(env, "metagrad: exec called with a bad op code"), nullptr;

  ExecArgs a;
  a.op = Op(opi);
  const double* A = inst->attrs;
  a.out_dtype = DType(int(A[0]));
  a.device = Device(int(A[1]));
  auto& ins = inst->inputs;
  ins.clear();
  for (size_t i = 1; i < argc; ++i) {
    napi_valuetype vt;
    napi_typeof(env, argv[i], &vt);
    Input in;
    if (vt == napi_external) {
      in.t = unwrap(env, argv[i]);
      if (!in.t) return throw_error(env, (std::string(op_name(a.op)) + ": a disposed tensor was used").c_str()), nullptr;
    } else if (vt == napi_number) {
      napi_get_value_double(env, argv[i], &in.scalar);
      in.has_scalar = true;
    } else if (vt != napi_null && vt != napi_undefined) {
      return throw_error(env, (std::string(op_name(a.op)) + ": bad input " + std::to_string(i - 1)).c_str()), nullptr;
    }
    ins.push_back(in);
  }
  a.in = ins.data();
  a.nin = int(ins.size());
  try {
    int used = 0;
    a.out_shape = read_shape(A + 2, &used);
    a.attrs = A + 2 + used;
    a.nattrs = kAttrCap - 2 - used;
    Kernel k = find_kernel(a.op, a.device);
    k(a);
  } catch (const std::exception& e) {
    for (int i = 0; i < a.nout; ++i) release_tensor(a.out[i]);
    report_external_memory(env);
    std::string msg = e.what();
    if (!names_op(msg, op_name(a.op))) msg = std::string(op_name(a.op)) + ": " + msg;
    return throw_error(env, msg.c_str()), nullptr;
  }
  report_external_memory(env);
  if (a.nout == 0) {
    napi_value u;
    napi_get_undefined(env, &u);
    return u;
  }
  if (a.nout == 1) return wrap(env, a.out[0]);
  napi_value arr;
  napi_create_array_with_length(env, size_t(a.nout), &arr);
  for (int i = 0; i < a.nout; ++i) napi_set_element(env, arr, uint32_t(i), wrap(env, a.out[i]));
  return arr;
}

Tensor* arg_tensor(const Napi::CallbackInfo& info, size_t i, const char* fn) {
  if (info.Length() <= i || !info[i].IsExternal()) throw Napi::Error::New(info.Env(), std::string(fn) + ": expected a tensor handle");
  Tensor* t = unwrap(info.Env(), info[i]);
  if (!t) throw Napi::Error::New(info.Env(), std::string(fn) + ": a disposed tensor was used");
  return t;
}

// init(attrs: Float64Array)
Napi::Value Init_(const Napi::CallbackInfo& info) {
  auto* inst = info.Env().GetInstanceData<Instance>();
  auto arr = info[0].As<Napi::Float64Array>();
  if (arr.ElementLength() < size_t(kAttrCap)) throw Napi::Error::New(info.Env(), "init: attribute buffer too small");
  inst->attrs = arr.Data();
  inst->attrs_ref = Napi::Persistent(arr);
  return Napi::Number::New(info.Env(), kAttrCap);
}

// fromBuffer(view: TypedArray): copies the data into a new tensor whose dtype/device/shape come
// from the attribute header.
Napi::Value FromBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* inst = env.GetInstanceData<Instance>();
  auto view = info[0].As<Napi::TypedArray>();
  const double* A = inst->attrs;
  DType dt = DType(int(A[0]));
  Device dev = Device(int(A[1]));
  int used = 0;
  Shape s;
  try {
    s = read_shape(A + 2, &used);
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, std::string("tensor: ") + e.what());
  }
  size_t want = size_t(s.numel()) * dtype_size(dt);  // checked by read_shape
  if (view.ByteLength() != want)
    throw Napi::Error::New(env, "tensor: " + std::to_string(view.ByteLength()) + " bytes of data for shape " + s.str() + " of " + dtype_name(dt) + " (needs " + std::to_string(want) + ")");
  const char* src = static_cast<const char*>(view.ArrayBuffer().Data()) + view.ByteOffset();
  Tensor* t;
  try {
    t = new_tensor(dt, s, dev);
    if (dev == Device::CPU) {
      if (want) std::memcpy(t->raw(), src, want);
    } else {
      cuda_hooks().h2d(t->raw(), src, want);
    }
  } catch (const std::exception& e) {
    report_external_memory(env);
    throw Napi::Error::New(env, std::string("tensor: ") + e.what());
  }
  report_external_memory(env);
  return Napi::Value(env, wrap(env, t));
}

// toBuffer(handle) -> ArrayBuffer (a copy of the tensor's bytes)
Napi::Value ToBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Tensor* t = arg_tensor(info, 0, "data");
  size_t n = t->nbytes();
  auto buf = Napi::ArrayBuffer::New(env, n);
  if (t->device() == Device::CPU) {
    if (n) std::memcpy(buf.Data(), t->raw(), n);
  } else {
    try {
      cuda_hooks().d2h(buf.Data(), t->raw(), n);
    } catch (const std::exception& e) {
      throw Napi::Error::New(env, std::string("data: ") + e.what());
    }
  }
  return buf;
}

// dispose(handle): frees the tensor (see Note [Handles]; the caller guarantees a single call).
napi_value Dispose(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value arg;
  napi_get_cb_info(env, info, &argc, &arg, nullptr, nullptr);
  if (argc == 1) {
    if (Tensor* t = unwrap(env, arg)) {
      release_tensor(t);
      report_external_memory(env);
    }
  }
  return nullptr;
}

// sharesStorage(a, b): whether two handles view the same buffer (tests of reshape views use it).
Napi::Value SharesStorage(const Napi::CallbackInfo& info) {
  Tensor* a = arg_tensor(info, 0, "sharesStorage");
  Tensor* b = arg_tensor(info, 1, "sharesStorage");
  return Napi::Boolean::New(info.Env(), a->st == b->st);
}

Napi::Value Memory(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto& m = mem_stats();
  auto out = Napi::Object::New(env);
  for (int d = 0; d < kNumDevices; ++d) {
    auto o = Napi::Object::New(env);
    o.Set("tensors", double(m.tensors[d].load()));
    o.Set("bytes", double(m.bytes[d].load()));
    o.Set("peakBytes", double(m.peak_bytes[d].load()));
    out.Set(device_name(Device(d)), o);
  }
  out.Get("cpu").As<Napi::Object>().Set("cachedBytes", double(cpu_cached_bytes()));
  // Device memory: the caching allocator's free blocks and total reservation, and what the driver
  // reports for the whole GPU (0 until the device has been used: no context is created to report).
  auto& h = cuda_hooks();
  auto cu = out.Get("cuda").As<Napi::Object>();
  cu.Set("cachedBytes", double(h.cached_bytes ? h.cached_bytes() : 0));
  cu.Set("reservedBytes", double(h.reserved_bytes ? h.reserved_bytes() : 0));
  size_t fr = 0, tot = 0;
  if (h.mem_info) h.mem_info(&fr, &tot);
  cu.Set("deviceFreeBytes", double(fr));
  cu.Set("deviceTotalBytes", double(tot));
  return out;
}

// externalMemory(): the external bytes V8 has been told about (by this addon and others).
Napi::Value ExternalMemory(const Napi::CallbackInfo& info) {
  report_external_memory(info.Env(), true);
  int64_t v = 0;
  napi_adjust_external_memory(info.Env(), 0, &v);
  return Napi::Number::New(info.Env(), double(v));
}

Napi::Value ReleaseCache(const Napi::CallbackInfo& info) {
  release_cpu_cache();
  if (cuda_hooks().release_cache) {
    try {
      cuda_hooks().release_cache();
    } catch (const std::exception& e) {
      throw Napi::Error::New(info.Env(), std::string("releaseCachedMemory: ") + e.what());
    }
  }
  return info.Env().Undefined();
}

// cudaSynchronize(): waits for the queued kernels; throws a deferred kernel error.
Napi::Value CudaSynchronize(const Napi::CallbackInfo& info) {
  if (cuda_hooks().synchronize) {
    try {
      cuda_hooks().synchronize();
    } catch (const std::exception& e) {
      throw Napi::Error::New(info.Env(), std::string("synchronize: ") + e.what());
    }
  }
  return info.Env().Undefined();
}

// cudaSetTF32(on) -> whether TF32 is now on (false in a build without CUDA).
Napi::Value CudaSetTF32(const Napi::CallbackInfo& info) {
  if (cuda_hooks().set_tf32) cuda_hooks().set_tf32(info[0].ToBoolean().Value());
  return Napi::Boolean::New(info.Env(), cuda_hooks().tf32 ? cuda_hooks().tf32() : false);
}

Napi::Value ResetPeak(const Napi::CallbackInfo& info) {
  auto& m = mem_stats();
  for (int d = 0; d < kNumDevices; ++d) m.peak_bytes[d].store(m.bytes[d].load());
  return info.Env().Undefined();
}

Napi::Value OpNames(const Napi::CallbackInfo& info) {
  auto arr = Napi::Array::New(info.Env(), kNumOps);
  for (int i = 0; i < kNumOps; ++i) arr.Set(uint32_t(i), op_name(Op(i)));
  return arr;
}

// manualSeed(hi, lo): two 32-bit halves of a 64-bit seed.
Napi::Value ManualSeed(const Napi::CallbackInfo& info) {
  uint64_t hi = uint32_t(info[0].As<Napi::Number>().Int64Value());
  uint64_t lo = uint32_t(info[1].As<Napi::Number>().Int64Value());
  rng_state().seed = (hi << 32) | lo;
  rng_state().offset = 0;
  return info.Env().Undefined();
}

Napi::Value CpuInfo(const Napi::CallbackInfo& info) {
  auto o = Napi::Object::New(info.Env());
  o.Set("isa", cpu::isa_name(cpu::isa()));
  o.Set("bestIsa", cpu::isa_name(cpu::best_isa()));
  o.Set("threads", cpu::num_threads());
  return o;
}

Napi::Value SetCpuIsa(const Napi::CallbackInfo& info) {
  std::string s = info[0].As<Napi::String>();
  cpu::Isa want = s == "avx512" ? cpu::Isa::Avx512 : s == "avx2" ? cpu::Isa::Avx2 : cpu::Isa::Base;
  return Napi::String::New(info.Env(), cpu::isa_name(cpu::set_isa(want)));
}

Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  cpu::set_num_threads(info[0].As<Napi::Number>().Int32Value());
  return Napi::Number::New(info.Env(), cpu::num_threads());
}

Napi::Value CudaInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto o = Napi::Object::New(env);
#ifdef MG_WITH_CUDA
  o.Set("compiled", true);
#else
  o.Set("compiled", false);
#endif
  int n = cuda_hooks().device_count ? cuda_hooks().device_count() : 0;
  o.Set("deviceCount", n);
  auto names = Napi::Array::New(env, size_t(n));
  for (int i = 0; i < n; ++i) names.Set(uint32_t(i), cuda_hooks().device_name(i));
  o.Set("devices", names);
  o.Set("tf32", cuda_hooks().tf32 ? cuda_hooks().tf32() : false);
  return o;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  env.SetInstanceData(new Instance());
  napi_value exec_fn;
  napi_create_function(env, "exec", NAPI_AUTO_LENGTH, Exec, nullptr, &exec_fn);
  exports.Set("exec", Napi::Value(env, exec_fn));
  exports.Set("init", Napi::Function::New(env, Init_));
  exports.Set("fromBuffer", Napi::Function::New(env, FromBuffer));
  exports.Set("toBuffer", Napi::Function::New(env, ToBuffer));
  napi_value dispose_fn;
  napi_create_function(env, "dispose", NAPI_AUTO_LENGTH, Dispose, nullptr, &dispose_fn);
  exports.Set("dispose", Napi::Value(env, dispose_fn));
  exports.Set("sharesStorage", Napi::Function::New(env, SharesStorage));
  exports.Set("memory", Napi::Function::New(env, Memory));
  exports.Set("externalMemory", Napi::Function::New(env, ExternalMemory));
  exports.Set("resetPeakMemory", Napi::Function::New(env, ResetPeak));
  exports.Set("releaseCache", Napi::Function::New(env, ReleaseCache));
  exports.Set("opNames", Napi::Function::New(env, OpNames));
  exports.Set("manualSeed", Napi::Function::New(env, ManualSeed));
  exports.Set("cpuInfo", Napi::Function::New(env, CpuInfo));
  exports.Set("setCpuIsa", Napi::Function::New(env, SetCpuIsa));
  exports.Set("setNumThreads", Napi::Function::New(env, SetNumThreads));
  exports.Set("cudaInfo", Napi::Function::New(env, CudaInfo));
  exports.Set("cudaSynchronize", Napi::Function::New(env, CudaSynchronize));
  exports.Set("cudaSetTF32", Napi::Function::New(env, CudaSetTF32));
  register_distributed(env, exports);
  return exports;
}

}  // namespace
}  // namespace mg

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return mg::Init(env, exports); }
NODE_API_MODULE(metagrad, InitModule)
