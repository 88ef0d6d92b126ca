// libFuzzer target: IDX files (plain or gzip), read both as images and as labels. Any input must
// either load or be rejected with strata::Error (see fuzz_safetensors.cpp for what counts).
#include <cstddef>
#include <cstdint>

#include "core/error.h"
#include "engine/data/idx.h"
#include "fuzz/fuzz_input_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  strata::fuzz::InputFile file(data, size, ".idx");
  try {
    strata::read_idx_images(file.path().string(), size % 2 == 0);
  } catch (const strata::Error&) {
  }
  try {
    strata::read_idx_labels(file.path().string());
  } catch (const strata::Error&) {
  }
  return 0;
}
