// Linear: y = x W^T + b over the last dim, W [out_features, in_features], as torch.nn.Linear.
#pragma once

#include "engine/random.h"
#include "models/nn/module.h"

namespace strata::nn {

class Linear final : public Module {
 public:
  Linear(int64_t in_features, int64_t out_features, bool bias = true, Generator* gen = nullptr);
  Tensor forward(const Tensor& x) override;

  int64_t in_features() const { return in_features_; }
  int64_t out_features() const { return out_features_; }

  Tensor weight;
  Tensor bias;  // undefined when built without bias

 private:
  int64_t in_features_, out_features_;
};

}  // namespace strata::nn
