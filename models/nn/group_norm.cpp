#include "models/nn/group_norm.h"

#include "engine/creation.h"
#include "ops/elementwise.h"
#include "ops/reduction.h"
#include "ops/shape.h"

namespace strata::nn {

GroupNorm::GroupNorm(int64_t num_groups, int64_t num_channels, double eps, bool affine)
    : Module("GroupNorm"), num_groups_(num_groups), num_channels_(num_channels), eps_(eps) {
  STRATA_CHECK(num_groups > 0 && num_channels > 0 && num_channels % num_groups == 0,
               "GroupNorm: num_channels (", num_channels, ") must be a positive multiple of num_groups (",
               num_groups, ")");
  STRATA_CHECK(eps > 0.0, "GroupNorm: eps must be > 0, got ", eps);
  if (affine) {
    weight = ones({num_channels});
    bias = zeros({num_channels});
  }
  register_parameter("weight", weight);
  register_parameter("bias", bias);
}

Tensor GroupNorm::forward(const Tensor& x) {
  STRATA_CHECK(x.defined() && x.dim() >= 2 && x.size(1) == num_channels_, "GroupNorm: expects input [N, ",
               num_channels_, ", *], got ", x.defined() ? shape_str(x.shape()) : std::string("undefined"));
  const Tensor grouped = reshape(x, {x.size(0), num_groups_, -1});
  const Tensor mu = mean(grouped, {2}, /*keepdim=*/true);
  const Tensor sigma2 = var(grouped, {2}, /*unbiased=*/false, /*keepdim=*/true);
  Tensor y = reshape(mul(sub(grouped, mu), rsqrt(add(sigma2, eps_))), x.shape());
  if (weight.defined()) {
    Shape channel_shape(static_cast<size_t>(x.dim()), 1);
    channel_shape[1] = num_channels_;
    y = add(mul(y, reshape(weight, channel_shape)), reshape(bias, channel_shape));
  }
  return y;
}

}  // namespace strata::nn
