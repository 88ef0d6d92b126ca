// Matrix products on BLAS: transposed views are passed to gemm as flags, never copied.
#pragma once

#include "engine/tensor.h"

namespace strata {

// 1-D/2-D/batched matmul with NumPy semantics: batch dims broadcast, 1-D operands are promoted
// to a row/column and the added dim removed afterwards.
Tensor matmul(const Tensor& a, const Tensor& b);
Tensor bmm(const Tensor& a, const Tensor& b);  // [B, n, k] x [B, k, m]
// beta * bias + alpha * (a @ b), bias broadcast to [n, m], fused into one gemm.
Tensor addmm(const Tensor& bias, const Tensor& a, const Tensor& b, double beta = 1.0, double alpha = 1.0);
// x @ weight^T + bias, as nn.Linear (weight [out, in]; bias [out] or undefined).
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());
Tensor outer(const Tensor& a, const Tensor& b);
Tensor dot(const Tensor& a, const Tensor& b);

}  // namespace strata
