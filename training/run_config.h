// The settings of one training run. The same settings come from command-line flags or from a JSON
// file (--config), and the fully resolved set is written back into the run folder as config.json,
// so `strata train --config runs/NAME/config.json` repeats a run exactly.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace strata::training {

struct RunConfig {
  std::string model = "vae";             // see model_names()
  std::string data = "fashion-mnist";    // see dataset_names(), or tensors:FILE.safetensors
  int64_t epochs = 1;
  int64_t batch_size = 128;
  double lr = 1e-3;
  int64_t latent = 32;
  std::vector<int64_t> hidden = {512, 256};
  uint64_t seed = 0;
  std::string out = "runs/vae";
  int threads = 0;                       // 0: every core
  int64_t limit_train = 0;               // use only the first N training examples (0: all)
  int64_t log_every = 50;                // steps between plain progress lines when not on a terminal
  int64_t samples = 64;                  // images in each sample / reconstruction grid
};

nlohmann::json to_json(const RunConfig& config);
// Keys absent from `j` keep their defaults; unknown keys and wrongly typed values are errors that
// name the key, `source` (the file) and the valid keys.
RunConfig config_from_json(const nlohmann::json& j, const std::string& source);
RunConfig load_config(const std::string& path);
// Checks every value (positive sizes, known model and dataset, ...), naming the valid choices.
void validate(const RunConfig& config);

}  // namespace strata::training
