// libFuzzer target: .npy matrices (engine/data/npy.h). Any input must either load as a finite
// float32 [N, D] matrix whose size the file holds, or be rejected with strata::Error (see
// fuzz_safetensors.cpp for what counts); the -malloc_limit_mb of scripts/fuzz.sh catches a header
// that makes the reader allocate more than the file could hold.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "core/error.h"
#include "engine/data/npy.h"
#include "fuzz/fuzz_input_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  strata::fuzz::InputFile file(data, size, ".npy");
  try {
    const strata::Tensor m = strata::read_npy_matrix(file.path().string());
    if (m.dim() != 2 || static_cast<size_t>(m.numel()) * 4 > size) std::abort();
    for (float v : m.to_vector<float>())
      if (!std::isfinite(v)) std::abort();
  } catch (const strata::Error&) {
  }
  return 0;
}
