// Matrix products on cuBLAS. cuBLAS is column-major and a row-major matrix read column-major is
// its transpose, so the row-major C = op(A) op(B) is computed as the column-major
// C^T = op(B)^T op(A)^T: the operands swap places and m and n swap, the transpose flags stay.
// Batches are one cublas*gemmStridedBatched call (a batch stride of 0 broadcasts one matrix).
#include "backends/cuda/cuda_kernels.cuh"

namespace strata::cuda {

// C = beta * C for an empty inner dimension (k == 0), defined as on the CPU: beta == 0 writes
// zeros even over NaN. BLAS leaves this case loosely specified, so it is not handed to cuBLAS.
template <class T>
__global__ void scale_matrices(int64_t batch, int64_t m, int64_t n, T* c, int64_t ldc, int64_t stride_c, T beta) {
  STRATA_GRID_STRIDE_LOOP(i, batch * m * n) {
    const int64_t b = i / (m * n), r = (i / n) % m, j = i % n;
    T& x = c[b * stride_c + r * ldc + j];
    x = beta == T(0) ? T(0) : beta * x;
  }
}

}  // namespace strata::cuda

namespace strata {

void CudaBackend::gemm(DType dtype, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha,
                       const void* a, int64_t lda, int64_t stride_a, const void* b, int64_t ldb, int64_t stride_b,
                       double beta, void* c, int64_t ldc, int64_t stride_c, int64_t batch) {
  activate();
  if (m == 0 || n == 0 || batch == 0) return;
  const int64_t limit = INT32_MAX;
  STRATA_CHECK(m <= limit && n <= limit && k <= limit && lda <= limit && ldb <= limit && ldc <= limit &&
                   batch <= limit,
               "matmul: a product of [", m, ", ", k, "] and [", k, ", ", n, "] (batch ", batch,
               ") exceeds cuBLAS's 32-bit sizes");
  if (k == 0) {
    cuda::visit_floating(dtype, "matmul", [&](auto tag) {
      using T = decltype(tag);
      cuda::scale_matrices<T><<<cuda::blocks_for(batch * m * n), cuda::kThreads, 0, stream_>>>(
          batch, m, n, static_cast<T*>(c), ldc, stride_c, static_cast<T>(beta));
    });
    check_launch("matmul");
    return;
  }
  const cublasOperation_t op_a = trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t op_b = trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  const int im = static_cast<int>(m), in = static_cast<int>(n), ik = static_cast<int>(k);
  switch (dtype) {
    case DType::Float32: {
      const float fa = static_cast<float>(alpha), fb = static_cast<float>(beta);
      cuda::check(cublasSgemmStridedBatched(blas_, op_b, op_a, in, im, ik, &fa, static_cast<const float*>(b),
                                            static_cast<int>(ldb), stride_b, static_cast<const float*>(a),
                                            static_cast<int>(lda), stride_a, &fb, static_cast<float*>(c),
                                            static_cast<int>(ldc), stride_c, static_cast<int>(batch)),
                  "matmul");
      return;
    }
    case DType::Float64:
      cuda::check(cublasDgemmStridedBatched(blas_, op_b, op_a, in, im, ik, &alpha, static_cast<const double*>(b),
                                            static_cast<int>(ldb), stride_b, static_cast<const double*>(a),
                                            static_cast<int>(lda), stride_a, &beta, static_cast<double*>(c),
                                            static_cast<int>(ldc), stride_c, static_cast<int>(batch)),
                  "matmul");
      return;
    default: break;
  }
  throw Error(detail::concat("matmul: dtype ", dtype_name(dtype), " is not supported (float32 and float64 only)"));
}

}  // namespace strata
