// Group normalisation (Wu & He 2018, eq. 1-3) as torch.nn.GroupNorm: the channels of each sample
// are split into groups, each normalised with its own mean and biased variance, then a per-channel
// affine map is applied.
#pragma once

#include "models/nn/module.h"

namespace strata::nn {

class GroupNorm final : public Module {
 public:
  GroupNorm(int64_t num_groups, int64_t num_channels, double eps = 1e-5, bool affine = true);
  // x [N, C, *].
  Tensor forward(const Tensor& x) override;

  Tensor weight, bias;  // [C], when affine

 private:
  int64_t num_groups_, num_channels_;
  double eps_;
};

}  // namespace strata::nn
