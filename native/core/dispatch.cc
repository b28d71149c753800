#include "core/dispatch.h"

namespace mg {

static const char* const kOpNames[] = {
#define OP(name) #name,
#include "core/ops.def"
#undef OP
};

const char* op_name(Op op) {
  int i = int(op);
  return i >= 0 && i < kNumOps ? kOpNames[i] : "?";
}

static Kernel (&table())[kNumOps][kNumDevices] {
  static Kernel t[kNumOps][kNumDevices] = {};
  return t;
}

void register_kernel(Op op, Device device, Kernel k) { table()[int(op)][int(device)] = k; }

Kernel find_kernel(Op op, Device device) {
  Kernel k = table()[int(op)][int(device)];
  if (!k)
    throw Error(std::string(op_name(op)) + ": not implemented on " + device_name(device));
  return k;
}

}  // namespace mg
