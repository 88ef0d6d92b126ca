// Turning CUDA and cuBLAS status codes into strata::Error naming the op that failed.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "core/error.h"

namespace strata::cuda {

// A non-sticky error stays the thread's "last error" until read: it is cleared here, before the
// throw, so the next op does not fail with it.
inline void check(cudaError_t status, const char* op) {
  if (status != cudaSuccess) {
    (void)cudaGetLastError();
    throw Error(detail::concat(op, ": CUDA error ", cudaGetErrorName(status), " (", cudaGetErrorString(status), ")"));
  }
}

inline void check(cublasStatus_t status, const char* op) {
  if (status != CUBLAS_STATUS_SUCCESS)
    throw Error(detail::concat(op, ": cuBLAS error ", cublasGetStatusName(status), " (", cublasGetStatusString(status),
                               ")"));
}

}  // namespace strata::cuda
