#include "cpu/isa.h"

#include <cstdlib>
#include <cstring>

namespace mg::cpu {

Isa best_isa() {
#ifdef MG_X86
  static const Isa best = [] {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw"))
      return Isa::Avx512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Isa::Avx2;
    return Isa::Base;
  }();
  return best;
#else
  return Isa::Base;
#endif
}

static Isa initial_isa() {
  Isa want = best_isa();
  if (const char* e = std::getenv("MG_CPU_ISA")) {
    if (!std::strcmp(e, "base")) want = Isa::Base;
    else if (!std::strcmp(e, "avx2")) want = Isa::Avx2;
  }
  return int(want) <= int(best_isa()) ? want : best_isa();
}

static Isa g_isa = initial_isa();

Isa isa() { return g_isa; }
Isa set_isa(Isa want) {
  g_isa = int(want) <= int(best_isa()) ? want : best_isa();
  return g_isa;
}
const char* isa_name(Isa i) {
  switch (i) {
    case Isa::Avx512: return "avx512";
    case Isa::Avx2: return "avx2";
    default: return "base";
  }
}

}  // namespace mg::cpu
