// Convolutions, pooling and upsampling on NCHW tensors (im2col + gemm on the CPU).
#pragma once

#include <array>

#include "engine/tensor.h"

namespace strata {

using Pair = std::array<int64_t, 2>;

// x [N, C_in, H, W], weight [C_out, C_in / groups, kH, kW], bias [C_out] or undefined.
// When the weight needs a gradient, the graph keeps the forward's im2col columns for it on backends
// that build them (the CPU's) if they are at most 4x the input (kernel 4, stride 2 is exactly 4x):
// that much more memory until backward, for one column pass fewer.
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(), Pair stride = {1, 1},
              Pair padding = {0, 0}, Pair dilation = {1, 1}, int64_t groups = 1);
// x [N, C_in, H, W], weight [C_in, C_out / groups, kH, kW] (PyTorch's layout), bias [C_out].
// Output size (H - 1) * stride - 2 * padding + dilation * (k - 1) + output_padding + 1.
Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(), Pair stride = {1, 1},
                        Pair padding = {0, 0}, Pair output_padding = {0, 0}, int64_t groups = 1,
                        Pair dilation = {1, 1});
// stride defaults to the kernel size when given as {0, 0}.
Tensor max_pool2d(const Tensor& x, Pair kernel, Pair stride = {0, 0}, Pair padding = {0, 0});
Tensor avg_pool2d(const Tensor& x, Pair kernel, Pair stride = {0, 0}, Pair padding = {0, 0},
                  bool count_include_pad = true);
Tensor upsample_nearest2d(const Tensor& x, Pair scale);

}  // namespace strata
