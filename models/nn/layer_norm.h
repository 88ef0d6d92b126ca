// Layer normalisation (Ba et al. 2016, eq. 4) over the trailing `normalized_shape` dims, as
// torch.nn.LayerNorm: biased variance, elementwise affine weight and bias of normalized_shape.
#pragma once

#include "models/nn/module.h"

namespace strata::nn {

class LayerNorm final : public Module {
 public:
  explicit LayerNorm(Shape normalized_shape, double eps = 1e-5, bool elementwise_affine = true);
  Tensor forward(const Tensor& x) override;

  Tensor weight, bias;  // normalized_shape, when elementwise_affine

 private:
  Shape normalized_shape_;
  double eps_;
};

}  // namespace strata::nn
