// NCCL collectives on CUDA tensors (device 0, the backend's compute stream). The unique id of
// rank 0 reaches the others through the TypeScript rendezvous (file or TCP store).
//
// Timeouts: the communicator is created non-blocking (config.blocking = 0), and every wait polls
// the stream and ncclCommGetAsyncError; past the deadline, or on an asynchronous error (a dead
// peer), the communicator is aborted and the call throws, so no collective hangs the process.
#include <nccl.h>

#include <chrono>
#include <cstring>
#include <string>
#include <thread>

#include "cuda/common.cuh"
#include "distributed/nccl_group.h"

namespace mg {
namespace {

struct NcclGroup {
  ncclComm_t comm = nullptr;
  int rank = 0, size = 0;
  std::string broken;
};
NcclGroup*& nccl_group() {
  static NcclGroup* g = nullptr;
  return g;
}

std::string nccl_msg(ncclResult_t r) { return std::string(ncclGetErrorString(r)); }

// Waits until `comm` is no longer in progress and the compute stream is idle, or throws.
void wait_done(NcclGroup& g, int64_t timeout_ms, const char* fn, bool stream_too) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    ncclResult_t async = ncclSuccess;
    ncclCommGetAsyncError(g.comm, &async);
    if (async != ncclSuccess && async != ncclInProgress) {
      ncclCommAbort(g.comm);
      g.broken = nccl_msg(async);
      throw Error(std::string(fn) + ": NCCL failed (a peer died or disconnected): " + g.broken);
    }
    bool stream_idle = !stream_too || cudaStreamQuery(cuda::stream()) == cudaSuccess;
    if (async == ncclSuccess && stream_idle) return;
    if (std::chrono::steady_clock::now() > deadline) {
      ncclCommAbort(g.comm);
      g.broken = "timed out after " + std::to_string(timeout_ms) + " ms";
      throw Error(std::string(fn) + ": NCCL " + g.broken + " (a peer is dead or never called it)");
    }
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
}

NcclGroup& healthy(Napi::Env env, const char* fn) {
  NcclGroup* g = nccl_group();
  if (!g) throw Napi::Error::New(env, std::string(fn) + ": no NCCL process group; call mg.distributed.init() first");
  if (!g->broken.empty()) throw Napi::Error::New(env, std::string(fn) + ": the NCCL group failed earlier (" + g->broken + "); call destroy() and init() again");
  return *g;
}

ncclDataType_t nccl_dtype(DType d) { return d == DType::F64 ? ncclFloat64 : d == DType::I32 ? ncclInt32 : ncclFloat32; }

ArgTensors g_arg_tensors = nullptr;

Napi::Value UniqueId(const Napi::CallbackInfo& info) {
  ncclUniqueId id;
  ncclResult_t r = ncclGetUniqueId(&id);
  if (r != ncclSuccess) throw Napi::Error::New(info.Env(), "distributed.init: ncclGetUniqueId failed: " + nccl_msg(r));
  return Napi::Buffer<char>::Copy(info.Env(), id.internal, sizeof(id.internal));
}

// ncclInit(id: Buffer, rank, size, timeoutMs)
Napi::Value Init(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (nccl_group()) throw Napi::Error::New(env, "distributed.init: an NCCL group is already initialised; call destroy() first");
  auto b = info[0].As<Napi::Buffer<char>>();
  ncclUniqueId id;
  if (b.Length() != sizeof(id.internal)) throw Napi::Error::New(env, "distributed.init: the NCCL unique id has " + std::to_string(b.Length()) + " bytes, expected " + std::to_string(sizeof(id.internal)));
  std::memcpy(id.internal, b.Data(), sizeof(id.internal));
  auto* g = new NcclGroup();
  g->rank = info[1].As<Napi::Number>().Int32Value();
  g->size = info[2].As<Napi::Number>().Int32Value();
  int64_t timeout = info[3].As<Napi::Number>().Int64Value();
  try {
    cuda::check(cudaSetDevice(0), "distributed.init");
    ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
    config.blocking = 0;
    ncclResult_t r = ncclCommInitRankConfig(&g->comm, g->size, id, g->rank, &config);
    if (r != ncclSuccess && r != ncclInProgress) throw Error("ncclCommInitRankConfig failed: " + nccl_msg(r));
    wait_done(*g, timeout, "distributed.init", false);
  } catch (const std::exception& e) {
    delete g;
    throw Napi::Error::New(env, std::string("distributed.init: ") + e.what());
  }
  nccl_group() = g;
  return env.Undefined();
}

// ncclAllReduce(handles[], mean, timeoutMs): one NCCL group call for all tensors (in place).
Napi::Value AllReduce(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto ts = g_arg_tensors(info, 0, "distributed.allReduce");
  bool mean = info[1].ToBoolean().Value();
  int64_t timeout = info[2].As<Napi::Number>().Int64Value();
  NcclGroup& g = healthy(env, "distributed.allReduce");
  try {
    ncclGroupStart();
    for (Tensor* t : ts) {
      if (t->numel() == 0) continue;
      ncclResult_t r = ncclAllReduce(t->raw(), t->raw(), size_t(t->numel()), nccl_dtype(t->dtype), mean ? ncclAvg : ncclSum, g.comm, cuda::stream());
      if (r != ncclSuccess && r != ncclInProgress) throw Error("ncclAllReduce failed: " + nccl_msg(r));
    }
    ncclResult_t r = ncclGroupEnd();
    if (r != ncclSuccess && r != ncclInProgress) throw Error("ncclGroupEnd failed: " + nccl_msg(r));
    wait_done(g, timeout, "distributed.allReduce", true);
  } catch (const std::exception& e) {
    if (g.broken.empty()) g.broken = e.what();
    throw Napi::Error::New(env, e.what());
  }
  return env.Undefined();
}

// ncclBroadcast(handles[], root, timeoutMs)
Napi::Value Broadcast(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto ts = g_arg_tensors(info, 0, "distributed.broadcast");
  int root = info[1].As<Napi::Number>().Int32Value();
  int64_t timeout = info[2].As<Napi::Number>().Int64Value();
  NcclGroup& g = healthy(env, "distributed.broadcast");
  try {
    ncclGroupStart();
    for (Tensor* t : ts) {
      if (t->numel() == 0) continue;
      ncclResult_t r = ncclBroadcast(t->raw(), t->raw(), size_t(t->numel()), nccl_dtype(t->dtype), root, g.comm, cuda::stream());
      if (r != ncclSuccess && r != ncclInProgress) throw Error("ncclBroadcast failed: " + nccl_msg(r));
    }
    ncclResult_t r = ncclGroupEnd();
    if (r != ncclSuccess && r != ncclInProgress) throw Error("ncclGroupEnd failed: " + nccl_msg(r));
    wait_done(g, timeout, "distributed.broadcast", true);
  } catch (const std::exception& e) {
    if (g.broken.empty()) g.broken = e.what();
    throw Napi::Error::New(env, e.what());
  }
  return env.Undefined();
}

Napi::Value Destroy(const Napi::CallbackInfo& info) {
  if (NcclGroup* g = nccl_group()) {
    if (g->comm) {
      if (g->broken.empty()) ncclCommDestroy(g->comm);
      // an aborted communicator is already freed by ncclCommAbort
    }
    delete g;
    nccl_group() = nullptr;
  }
  return info.Env().Undefined();
}

}  // namespace

bool nccl_compiled() { return true; }

void register_nccl(Napi::Env env, Napi::Object d, ArgTensors arg_tensors) {
  g_arg_tensors = arg_tensors;
  d.Set("ncclUniqueId", Napi::Function::New(env, UniqueId));
  d.Set("ncclInit", Napi::Function::New(env, Init));
  d.Set("ncclAllReduce", Napi::Function::New(env, AllReduce));
  d.Set("ncclBroadcast", Napi::Function::New(env, Broadcast));
  d.Set("ncclDestroy", Napi::Function::New(env, Destroy));
}

}  // namespace mg
