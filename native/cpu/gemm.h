// General matrix multiply on row-major data, the CPU's workhorse (matmul, conv2d via im2col, and
// their gradients):  C[m,n] = alpha * op(A)[m,k] @ op(B)[k,n] + beta * C[m,n]
// where op(A) = A (stored m x k, row stride lda) or A^T (stored k x m, row stride lda) when transA,
// and likewise for B. beta = 0 never reads C (so C may be uninitialised).
// Thread-safe; splits large problems over the pool itself (call it from a single thread, or from
// inside parallel_for where it then runs single-threaded).
#pragma once
#include <cstdint>

namespace mg::cpu {

void gemm_f32(bool transA, bool transB, int64_t m, int64_t n, int64_t k, float alpha, const float* A, int64_t lda,
              const float* B, int64_t ldb, float beta, float* C, int64_t ldc);
void gemm_f64(bool transA, bool transB, int64_t m, int64_t n, int64_t k, double alpha, const double* A, int64_t lda,
              const double* B, int64_t ldb, double beta, double* C, int64_t ldc);

template <class T> inline void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, T alpha, const T* A, int64_t lda, const T* B, int64_t ldb, T beta, T* C, int64_t ldc);
template <> inline void gemm<float>(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  gemm_f32(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
}
template <> inline void gemm<double>(bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha, const double* A, int64_t lda, const double* B, int64_t ldb, double beta, double* C, int64_t ldc) {
  gemm_f64(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
}

}  // namespace mg::cpu
