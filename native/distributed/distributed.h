// The distributed backends' N-API surface (native/distributed/binding.cc). The core binding calls
// register_distributed() once; what it exports depends on what CMake found (Gloo, NCCL).
#pragma once
#include <napi.h>

namespace mg {
void register_distributed(Napi::Env env, Napi::Object exports);
}  // namespace mg
