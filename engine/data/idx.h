// Reader for IDX files, the format of MNIST and Fashion-MNIST: a big-endian header (two zero bytes,
// an element-type code, the number of dims, then each dim as a uint32) followed by the raw elements.
// Files may be gzip-compressed or plain; zlib reads both transparently.
//
// Everything the file says is checked against what it holds: a wrong magic number, an unsupported
// element type, an unexpected number of dims, or sizes that do not match the bytes present throw
// strata::Error naming the file. Memory grows with the bytes actually read, never with what the
// header claims, so a lying header cannot trigger a huge allocation.
#pragma once

#include <string>

#include "engine/tensor.h"

namespace strata {

// Images of unsigned bytes (type 0x08, 3 dims) as float32 in [0, 1]: [N, rows, cols], or
// [N, rows * cols] when `flatten`. On the CPU.
Tensor read_idx_images(const std::string& path, bool flatten = false);

// Labels of unsigned bytes (type 0x08, 1 dim) as int64 [N]. On the CPU.
Tensor read_idx_labels(const std::string& path);

}  // namespace strata
