// libFuzzer target: JSON run configs (strata train --config FILE), loaded and then validated as
// the command does. Any input must either load or be rejected with strata::Error.
#include <cstddef>
#include <cstdint>

#include "core/error.h"
#include "fuzz/fuzz_input_file.h"
#include "training/run_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  strata::fuzz::InputFile file(data, size, ".json");
  try {
    const strata::training::RunConfig config = strata::training::load_config(file.path().string());
    strata::training::validate(config);
    // What train writes back as RUN/config.json must load again to the same settings.
    const nlohmann::json written = strata::training::to_json(config);
    if (strata::training::to_json(strata::training::config_from_json(written, "round trip")) != written)
      __builtin_trap();
  } catch (const strata::Error&) {
  }
  return 0;
}
