// Named tensors in the safetensors format (https://github.com/huggingface/safetensors), byte for
// byte as the Python library writes it, so files move freely between strata and PyTorch/NumPy:
//
//   8 bytes      N, the header length, unsigned little-endian
//   N bytes      JSON: {"__metadata__": {str: str}, "<name>": {"dtype": "F32", "shape": [2, 3],
//                "data_offsets": [begin, end]}, ...}, padded with spaces to a multiple of 8
//   the rest     the raw little-endian data of every tensor, back to back, offsets relative to here
//
// strata reads and writes the dtypes it has: F32, F64, I64 and BOOL. Loading trusts nothing in
// the file: every size is checked against the file's length before anything is allocated, and any
// inconsistency is an Error naming the file and the tensor.
#pragma once

#include <filesystem>
#include <map>
#include <string>

#include "engine/tensor.h"

namespace strata::io {

using TensorMap = std::map<std::string, Tensor>;
using Metadata = std::map<std::string, std::string>;

struct SafetensorsFile {
  TensorMap tensors;  // contiguous CPU tensors
  Metadata metadata;  // the "__metadata__" entry (empty when absent)
};

// Writes atomically (see atomic_file.h): a failed or interrupted save leaves any old file intact.
// Tensors may live on any device and be non-contiguous; the file holds their logical contents.
// An empty `metadata` writes no "__metadata__" entry, as the Python library does for None.
void save_safetensors(const std::filesystem::path& path, const TensorMap& tensors,
                      const Metadata& metadata = {});

SafetensorsFile load_safetensors(const std::filesystem::path& path);

}  // namespace strata::io
