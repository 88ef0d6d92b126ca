// Flatten and Unflatten as modules (torch.nn.Flatten / Unflatten): the bridge between
// convolutional [N, C, H, W] and dense [N, features] layers in a Sequential.
#pragma once

#include "models/nn/module.h"

namespace strata::nn {

// Merges dims start_dim..end_dim (negative counts from the end); the default keeps the batch dim.
class Flatten final : public Module {
 public:
  explicit Flatten(int64_t start_dim = 1, int64_t end_dim = -1)
      : Module("Flatten"), start_dim_(start_dim), end_dim_(end_dim) {}
  Tensor forward(const Tensor& x) override;

 private:
  int64_t start_dim_, end_dim_;
};

// Splits dim `dim` into `sizes` (whose product must equal that dim's size).
class Unflatten final : public Module {
 public:
  Unflatten(int64_t dim, Shape sizes);
  Tensor forward(const Tensor& x) override;

 private:
  int64_t dim_;
  Shape sizes_;
};

}  // namespace strata::nn
