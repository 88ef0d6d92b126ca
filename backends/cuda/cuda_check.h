// Turning CUDA and cuBLAS status codes into strata::Error naming the op that failed.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "core/error.h"

namespace strata::cuda {

inline void check(cudaError_t status, const char* op) {
  if (status != cudaSuccess)
    throw Error(detail::concat(op, ": CUDA error ", cudaGetErrorName(status), " (", cudaGetErrorString(status), ")"));
}

inline void check(cublasStatus_t status, const char* op) {
  if (status != CUBLAS_STATUS_SUCCESS)
    throw Error(detail::concat(op, ": cuBLAS error ", cublasGetStatusName(status), " (", cublasGetStatusString(status),
                               ")"));
}

}  // namespace strata::cuda
