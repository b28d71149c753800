// Per-ISA GEMM entry points (native/cpu/simd/gemm.cc, compiled once per ISA; Note [ISA variants]).
// gemm.cc picks one with MG_ISA_CALL and splits big problems over threads; these run one
// sub-problem on the calling thread.
#pragma once
#include <cstdint>

#include "cpu/isa.h"

MG_DECLARE_ISA_FNS(
  /** Register tile of the micro-kernel for f32 (dtype 0) or f64 (dtype 1). */
  void gemm_tile(int dtype, int* mr, int* nr);
  void gemm_serial_f32(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* A, int64_t lda,
                       const float* B, int64_t ldb, float beta, float* C, int64_t ldc);
  void gemm_serial_f64(bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha, const double* A, int64_t lda,
                       const double* B, int64_t ldb, double beta, double* C, int64_t ldc);
)
