// Matrix products on OpenBLAS. Transposed operands are passed as BLAS transpose flags, never
// copied. A batch of small products runs in parallel over the batch with single-threaded
// OpenBLAS calls; a single or large product lets OpenBLAS use its own threads.
#include "backends/cpu/blas.h"
#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/parallel.h"
#include "core/error.h"

namespace strata {

namespace {

// A batch of products is spread over TBB workers with single-threaded OpenBLAS calls unless each
// product is huge. Measured on 2 cores (bench/blas_threading.cpp, `strata-bench --only threads`):
// 128 products of 64x512x49 take 9.8 ms with OpenBLAS's own threads, 7.0 ms single-threaded in
// sequence and 3.1 ms over TBB; even 4 products of 256^3 run 1.7x faster over TBB. A single large
// product (1024^3, 128x784x512) is ~1.8x faster with OpenBLAS's threads, so it keeps them.
constexpr int64_t kHugeGemmMacs = int64_t{1} << 26;

template <class T>
void gemm_typed(bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha, const void* a, int64_t lda,
                int64_t sa, const void* b, int64_t ldb, int64_t sb, double beta, void* c, int64_t ldc, int64_t sc,
                int64_t batch) {
  const T* pa = static_cast<const T*>(a);
  const T* pb = static_cast<const T*>(b);
  T* pc = static_cast<T*>(c);
  if (m == 0 || n == 0) return;
  if (k == 0) {  // BLAS leaves C untouched when k == 0 only if beta == 1; define it: C = beta * C
    for (int64_t i = 0; i < batch; ++i)
      for (int64_t r = 0; r < m; ++r)
        for (int64_t j = 0; j < n; ++j) pc[i * sc + r * ldc + j] = beta == 0 ? T(0) : static_cast<T>(beta) * pc[i * sc + r * ldc + j];
    return;
  }
  auto one = [&](int64_t i) {
    cpu::gemm_rowmajor<T>(ta, tb, m, n, k, static_cast<T>(alpha), pa + i * sa, lda, pb + i * sb, ldb, static_cast<T>(beta),
                pc + i * sc, ldc);
  };
  if (batch > 1 && m * n * k < kHugeGemmMacs) {
    cpu::BlasSerialScope serial;
    cpu::parallel_for(batch, 1, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) one(i);
    });
  } else {
    for (int64_t i = 0; i < batch; ++i) one(i);
  }
}

}  // namespace

void CpuBackend::gemm(DType dtype, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha,
                      const void* a, int64_t lda, int64_t stride_a, const void* b, int64_t ldb, int64_t stride_b,
                      double beta, void* c, int64_t ldc, int64_t stride_c, int64_t batch) {
  switch (dtype) {
    case DType::Float32:
      return gemm_typed<float>(trans_a, trans_b, m, n, k, alpha, a, lda, stride_a, b, ldb, stride_b, beta, c, ldc,
                               stride_c, batch);
    case DType::Float64:
      return gemm_typed<double>(trans_a, trans_b, m, n, k, alpha, a, lda, stride_a, b, ldb, stride_b, beta, c, ldc,
                                stride_c, batch);
    default: break;
  }
  throw Error(detail::concat("matmul: dtype ", dtype_name(dtype), " is not supported (float32 and float64 only)"));
}

}  // namespace strata
