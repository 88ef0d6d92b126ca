// One row-major gemm for both float types, so kernels call BLAS without repeating the dispatch.
#pragma once

#include <cblas.h>

#include <cstdint>
#include <type_traits>

namespace strata::cpu {

// c = alpha * op(a) op(b) + beta * c, row-major; op(x) = x^T when its flag is set.
template <class T>
void gemm_rowmajor(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda,
                   const T* b, int64_t ldb, T beta, T* c, int64_t ldc) {
  const auto opa = trans_a ? CblasTrans : CblasNoTrans, opb = trans_b ? CblasTrans : CblasNoTrans;
  if constexpr (std::is_same_v<T, float>) {
    cblas_sgemm(CblasRowMajor, opa, opb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  } else {
    static_assert(std::is_same_v<T, double>, "gemm_rowmajor: float or double only");
    cblas_dgemm(CblasRowMajor, opa, opb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  }
}

}  // namespace strata::cpu
