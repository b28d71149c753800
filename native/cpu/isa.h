// Run-time choice of the CPU instruction set (Note [ISA variants] in CMakeLists.txt).
// A kernel family declares its per-ISA entry points with MG_DECLARE_ISA_FNS and calls the chosen
// one with MG_ISA_CALL; the definitions live in native/cpu/simd/*.cc, compiled once per ISA.
#pragma once

namespace mg::cpu {

enum class Isa : int { Base = 0, Avx2 = 1, Avx512 = 2 };
/** The ISA kernels use now. */
Isa isa();
/** The best ISA this CPU and this build support. */
Isa best_isa();
/** Chooses an ISA (clamped to best_isa()); returns the one in effect. */
Isa set_isa(Isa want);
const char* isa_name(Isa i);

}  // namespace mg::cpu

#ifdef MG_X86
#define MG_DECLARE_ISA_FNS(DECLS) \
  namespace mg::cpu::base { DECLS }  \
  namespace mg::cpu::avx2 { DECLS }  \
  namespace mg::cpu::avx512 { DECLS }
#define MG_ISA_CALL(fn, ...)                                             \
  (::mg::cpu::isa() == ::mg::cpu::Isa::Avx512 ? ::mg::cpu::avx512::fn(__VA_ARGS__) \
   : ::mg::cpu::isa() == ::mg::cpu::Isa::Avx2 ? ::mg::cpu::avx2::fn(__VA_ARGS__)   \
                                              : ::mg::cpu::base::fn(__VA_ARGS__))
#else
#define MG_DECLARE_ISA_FNS(DECLS) namespace mg::cpu::base { DECLS }
#define MG_ISA_CALL(fn, ...) (::mg::cpu::base::fn(__VA_ARGS__))
#endif
