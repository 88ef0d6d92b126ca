// libFuzzer target: safetensors files (checkpoints, tensors:FILE datasets). Any input must either
// load or be rejected with strata::Error; a crash, a sanitizer report, another exception type,
// a timeout or an allocation over libFuzzer's -rss_limit_mb / -malloc_limit_mb is a finding.
#include <cstddef>
#include <cstdint>

#include "core/error.h"
#include "engine/io/safetensors.h"
#include "fuzz/fuzz_input_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  strata::fuzz::InputFile file(data, size, ".safetensors");
  try {
    const strata::io::SafetensorsFile loaded = strata::io::load_safetensors(file.path());
    // Touch every element so that a tensor smaller than its shape says would be caught by ASan.
    volatile unsigned char sink = 0;
    for (const auto& [name, t] : loaded.tensors) {
      const auto* bytes = static_cast<const unsigned char*>(t.raw_data());
      const size_t n = static_cast<size_t>(t.numel()) * strata::dtype_size(t.dtype());
      for (size_t i = 0; i < n; ++i) sink = sink ^ bytes[i];
    }
  } catch (const strata::Error&) {
  }
  return 0;
}
