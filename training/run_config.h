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
  double validation_fraction = 0.1;      // csv:FILE and npy:FILE: share of rows held out (drawn with seed)
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
  double clip_grad_norm = 0;             // global L2 norm the gradients are clipped to (0: off)
  int64_t checkpoint_every = 0;          // steps between mid-epoch checkpoints (0: epoch ends only)
  bool detect_anomaly = false;           // name the first op producing NaN/Inf (autograd AnomalyMode)
  // Autoencoder-family settings (models/autoencoders/); each model reads the ones it has.
  std::string arch = "auto";             // mlp, conv, or auto (conv for cae, mlp otherwise)
  std::string likelihood = "bernoulli";  // bernoulli, gaussian (sigma = gaussian_sigma), gaussian-learned
  double gaussian_sigma = 1.0;
  double beta = 0;                       // KL weight; 0: the model's default (vae 1, beta-vae 4)
  double capacity_max = 0;               // C_max in nats of Burgess et al. (0: off); they use 25
  int64_t capacity_steps = 100000;       // steps over which C grows linearly to capacity_max
  double capacity_gamma = 1000;          // gamma of gamma * |KL - C|
  std::string kl_warmup = "none";        // none, linear, cyclical
  int64_t kl_warmup_steps = 10000;       // linear: steps to full weight; cyclical: steps per cycle
  std::string corruption = "gaussian";   // dae: gaussian, masking, salt-and-pepper
  double noise_sigma = 0.3;              // dae, gaussian corruption
  double corruption_fraction = 0.25;     // dae, masking and salt-and-pepper
};

nlohmann::json to_json(const RunConfig& config);
// Keys absent from `j` keep their defaults; unknown keys and wrongly typed values are errors that
// name the key, `source` (the file) and the valid keys.
RunConfig config_from_json(const nlohmann::json& j, const std::string& source);
RunConfig load_config(const std::string& path);
// Checks every value (positive sizes, known model and dataset, ...), naming the valid choices.
void validate(const RunConfig& config);

}  // namespace strata::training
