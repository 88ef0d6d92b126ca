// One row-major gemm for both float types, so kernels call BLAS without repeating the dispatch.
#pragma once

#include <cblas.h>

#include <cstdint>
#include <cstring>
#include <type_traits>

namespace strata::cpu {

// c = alpha * op(a) op(b) + beta * c, row-major; op(x) = x^T when its flag is set.
template <class T>
void gemm_rowmajor(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda,
                   const T* b, int64_t ldb, T beta, T* c, int64_t ldc) {
  const auto opa = trans_a ? CblasTrans : CblasNoTrans, opb = trans_b ? CblasTrans : CblasNoTrans;
  // For beta = 0 OpenBLAS first clears C and then accumulates the product into it. On its
  // Haswell and Zen kernels that clearing is generic/gemm_beta.c, one scalar store per element:
  // 5.8% of W1's samples on an AMD EPYC (Zen 3). memset clears C with vector stores, and beta = 1
  // then skips OpenBLAS's pass; the arithmetic is the same (0 + alpha * op(a) op(b)), so the
  // result is too.
  if (beta == T(0)) {
    if (ldc == n) {
      std::memset(c, 0, sizeof(T) * static_cast<size_t>(m * n));
    } else {
      for (int64_t r = 0; r < m; ++r) std::memset(c + r * ldc, 0, sizeof(T) * static_cast<size_t>(n));
    }
    beta = T(1);
  }
  if constexpr (std::is_same_v<T, float>) {
    cblas_sgemm(CblasRowMajor, opa, opb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  } else {
    static_assert(std::is_same_v<T, double>, "gemm_rowmajor: float or double only");
    cblas_dgemm(CblasRowMajor, opa, opb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  }
}

}  // namespace strata::cpu
