// Reader for NumPy .npy files holding a 2-D float matrix (one example per row), as float32 [N, D] on
// the CPU, for models of flat data (`strata train --data npy:FILE`).
//
// The format (numpy/lib/format.py, "NEP 1"): the magic "\x93NUMPY", a major and minor version (1.0,
// 2.0 or 3.0), the header length (uint16 little-endian in version 1, uint32 in 2 and 3), then the
// header, a Python dict literal such as
//     {'descr': '<f4', 'fortran_order': False, 'shape': (100, 8), }
// padded with spaces and ended by '\n', then the raw elements.
//
// Accepted: descr '<f4' or '<f8' (float64 is converted to float32), fortran_order False, a 2-D shape.
// The header is parsed strictly (exactly those three keys, each once) and the data size it implies
// is checked against the file's length before anything is allocated, so a lying header is an error
// rather than a huge allocation. NaN, infinities and float64 values outside the float32 range are
// refused, naming the row and column. Errors are strata::Error naming the file.
#pragma once

#include <string>

#include "engine/tensor.h"

namespace strata {

Tensor read_npy_matrix(const std::string& path);

}  // namespace strata
