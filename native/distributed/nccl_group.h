// The NCCL process group (native/distributed/nccl.cu), compiled only when CMake finds NCCL next to
// a CUDA toolchain (METAGRAD_NCCL). Without it, these stubs keep the surface to distInfo().
#pragma once
#include <napi.h>

#include <vector>

#include "core/tensor.h"

namespace mg {

using ArgTensors = std::vector<Tensor*> (*)(const Napi::CallbackInfo&, size_t, const char*);

#ifdef MG_WITH_NCCL
bool nccl_compiled();
/** Adds ncclUniqueId, ncclInit, ncclAllReduce, ncclBroadcast, ncclBarrier, ncclDestroy to `d`. */
void register_nccl(Napi::Env env, Napi::Object d, ArgTensors arg_tensors);
#else
inline bool nccl_compiled() { return false; }
inline void register_nccl(Napi::Env, Napi::Object, ArgTensors) {}
#endif

}  // namespace mg
