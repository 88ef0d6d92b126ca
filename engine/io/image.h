// Pictures of tensors: a batch of images tiled into one grid, and PNG files of single images.
//
// The grid follows torchvision.utils.make_grid: `nrow` images per row, `padding` pixels of
// `pad_value` between the images and around the border, so a grid of N images of H x W is
//   (ceil(N / nrow) * (H + padding) + padding) x (min(nrow, N) * (W + padding) + padding).
// Two deliberate differences: grey images stay one channel (torchvision copies them to RGB; a grey
// PNG is a third of the size) and a batch of one image is padded like any other.
//
// Flat batches such as a model's samples, [N, H*W] or [N, C*H*W], are the caller's to reshape to
// [N, C, H, W] first: only the caller knows the image size.
#pragma once

#include <cstdint>
#include <string>

#include "engine/tensor.h"

namespace strata::io {

// images: floating-point [N, C, H, W] with C = 1 or 3, on any device. Values are clamped to [0, 1];
// NaN is an error (it would silently become black). Returns a CPU tensor [C, H', W'] of the input's dtype.
Tensor make_grid(const Tensor& images, int64_t nrow, int64_t padding = 2, double pad_value = 1.0);

// image: floating-point [C, H, W] with C = 1 or 3, or [H, W] (grey). Values are clamped to [0, 1]
// and rounded to 8 bits (0.5 -> 128). The file is replaced atomically, so a viewer (or a crash)
// never sees half a picture.
void save_png(const std::string& path, const Tensor& image);

// save_png(path, make_grid(images, nrow)).
void save_image_grid(const std::string& path, const Tensor& images, int64_t nrow);

}  // namespace strata::io
