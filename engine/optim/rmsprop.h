// RMSprop (Hinton, Coursera lecture 6e) as torch.optim.RMSprop (non-centred): a running mean of
// squared gradients scales each step, with optional L2 weight decay and momentum.
#pragma once

#include "engine/optim/optimizer.h"

namespace strata::optim {

struct RMSpropOptions {
  double lr = 1e-2;
  double alpha = 0.99;
  double eps = 1e-8;
  double weight_decay = 0.0;
  double momentum = 0.0;
};

class RMSprop final : public Optimizer {
 public:
  RMSprop(std::vector<Tensor> params, RMSpropOptions options);
  const RMSpropOptions& options() const { return options_; }

 protected:
  void update(size_t i, const Tensor& param, const Tensor& grad, int64_t step) override;
  std::vector<std::string> buffer_names() const override;

 private:
  RMSpropOptions options_;
};

}  // namespace strata::optim
