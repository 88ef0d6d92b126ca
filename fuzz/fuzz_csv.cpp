// libFuzzer target: CSV matrices (engine/data/csv.h). Any input must either load as a finite
// float32 [N, D] matrix or be rejected with strata::Error (see fuzz_safetensors.cpp for what counts).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "core/error.h"
#include "engine/data/csv.h"
#include "fuzz/fuzz_input_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  strata::fuzz::InputFile file(data, size, ".csv");
  try {
    const strata::Tensor m = strata::read_csv_matrix(file.path().string());
    // What loads must be what the reader promises: a non-empty finite matrix.
    if (m.dim() != 2 || m.size(0) < 1 || m.size(1) < 1) std::abort();
    for (float v : m.to_vector<float>())
      if (!std::isfinite(v)) std::abort();
  } catch (const strata::Error&) {
  }
  return 0;
}
