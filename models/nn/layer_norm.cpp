#include "models/nn/layer_norm.h"

#include "engine/creation.h"
#include "ops/elementwise.h"
#include "ops/reduction.h"

namespace strata::nn {

LayerNorm::LayerNorm(Shape normalized_shape, double eps, bool elementwise_affine)
    : Module("LayerNorm"), normalized_shape_(std::move(normalized_shape)), eps_(eps) {
  STRATA_CHECK(!normalized_shape_.empty(), "LayerNorm: normalized_shape must have at least one dim");
  for (int64_t s : normalized_shape_)
    STRATA_CHECK(s > 0, "LayerNorm: normalized_shape ", shape_str(normalized_shape_),
                 " has a non-positive size");
  STRATA_CHECK(eps > 0.0, "LayerNorm: eps must be > 0, got ", eps);
  if (elementwise_affine) {
    weight = ones(normalized_shape_);
    bias = zeros(normalized_shape_);
  }
  register_parameter("weight", weight);
  register_parameter("bias", bias);
}

Tensor LayerNorm::forward(const Tensor& x) {
  const int64_t k = static_cast<int64_t>(normalized_shape_.size());
  const bool match =
      x.defined() && x.dim() >= k && Shape(x.shape().end() - k, x.shape().end()) == normalized_shape_;
  STRATA_CHECK(match, "LayerNorm: input of shape ",
               x.defined() ? shape_str(x.shape()) : std::string("undefined"),
               " does not end with normalized_shape ", shape_str(normalized_shape_));
  std::vector<int64_t> dims;
  for (int64_t d = x.dim() - k; d < x.dim(); ++d) dims.push_back(d);
  const Tensor mu = mean(x, dims, /*keepdim=*/true);
  const Tensor sigma2 = var(x, dims, /*unbiased=*/false, /*keepdim=*/true);
  Tensor y = mul(sub(x, mu), rsqrt(add(sigma2, eps_)));
  if (weight.defined()) y = add(mul(y, weight), bias);
  return y;
}

}  // namespace strata::nn
