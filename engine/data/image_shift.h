// Translation augmentation for images given flat: each image moved by whole pixels, the pixels that
// come in from outside the frame set to 0 (Fashion-MNIST's background), the ones pushed out dropped.
// The "simple augmentation" baseline of the VAE generalization study (training/generalization_report.h).
#pragma once

#include <cstdint>
#include <vector>

#include "engine/random.h"
#include "engine/tensor.h"

namespace strata {

// images: float32 or float64 [N, C * height * width] (or [N, C, height, width]) on the CPU; image i
// is moved dx[i] pixels right and dy[i] pixels down (negative: left, up). Returns a new tensor of
// the input's shape and dtype: out(c, y, x) = in(c, y - dy, x - dx), 0 where that is outside.
Tensor shift_images(const Tensor& images, int64_t height, int64_t width, const std::vector<int64_t>& dx,
                    const std::vector<int64_t>& dy);

// shift_images with dx, dy drawn independently and uniformly from {-max_shift, ..., max_shift} for
// each image (from gen, the default generator when null); max_shift >= 0.
Tensor random_shift_images(const Tensor& images, int64_t height, int64_t width, int64_t max_shift,
                           Generator* gen = nullptr);

}  // namespace strata
