// The velocity network of the 2-D flows: an MLP on [x, time features], SiLU between the layers,
// a linear output of D. With the default settings (time as one raw input feature, widths
// 256, 256, 256) and D = 2 it is W3 of shared/bench/WORKLOADS.md, 3 -> 256 -> 256 -> 256 -> 2, and
// the layout of the LFM authors' 2-D velocity MLP (input [t, x], 3 hidden layers of 256).
//
// time_features > 0 replaces the raw t by the sinusoidal embedding of Vaswani et al. (2017) at
// position 1000 t, as DDPM (Ho et al. 2020) embeds its time step (time_embedding.h, shared with the
// image U-Net, velocity_unet.h).
#pragma once

#include <memory>
#include <vector>

#include "engine/random.h"
#include "models/flows/velocity_field.h"
#include "models/nn/sequential.h"

namespace strata::models {

struct VelocityMlpOptions {
  int64_t dim = 2;
  std::vector<int64_t> hidden = {256, 256, 256};
  int64_t time_features = 0;  // 0: t as one raw input feature (W3); otherwise an even number
};

class VelocityMlp final : public VelocityField {
 public:
  // Layers are initialised in order from `init` (the default generator when null).
  explicit VelocityMlp(VelocityMlpOptions options, Generator* init = nullptr);
  Tensor velocity(const Tensor& x, const Tensor& t) override;
  int64_t dim() const override { return options_.dim; }
  const VelocityMlpOptions& options() const { return options_; }

  // The time input of rows with times t [N]: [N, 1] raw, or [N, time_features] sinusoidal.
  Tensor time_input(const Tensor& t, DType dtype) const;

 private:
  VelocityMlpOptions options_;
  std::shared_ptr<nn::Sequential> net_;
};

}  // namespace strata::models
