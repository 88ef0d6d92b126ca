// Batch normalisation (Ioffe & Szegedy 2015, Algorithm 1) as torch.nn.BatchNorm1d/2d. In training
// a batch is normalised with its own mean and biased variance, and the running estimates move
// towards the batch mean and *unbiased* variance; in evaluation the running estimates are used.
// The normalisation is composed from differentiable ops, so autograd supplies the gradient.
#pragma once

#include <optional>

#include "models/nn/module.h"

namespace strata::nn {

struct BatchNormOptions {
  double eps = 1e-5;
  // Weight of the newest batch in the running estimates; nullopt gives the cumulative average
  // over all batches seen (counted by the num_batches_tracked buffer).
  std::optional<double> momentum = 0.1;
  bool affine = true;
  bool track_running_stats = true;
};

class BatchNorm : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  int64_t num_features() const { return num_features_; }

  Tensor weight, bias;                                    // [C], when affine
  Tensor running_mean, running_var, num_batches_tracked;  // when tracking running stats

 protected:
  // `ranks` lists the input ranks the concrete layer accepts (2 or 3 for 1d, 4 for 2d).
  BatchNorm(const char* name, int64_t num_features, BatchNormOptions options, std::vector<int64_t> ranks);

 private:
  int64_t num_features_;
  BatchNormOptions options_;
  std::vector<int64_t> ranks_;
};

// Input [N, C] or [N, C, L].
class BatchNorm1d final : public BatchNorm {
 public:
  explicit BatchNorm1d(int64_t num_features, BatchNormOptions options = {});
};

// Input [N, C, H, W].
class BatchNorm2d final : public BatchNorm {
 public:
  explicit BatchNorm2d(int64_t num_features, BatchNormOptions options = {});
};

}  // namespace strata::nn
