#include "models/nn/batch_norm.h"

#include "engine/autograd.h"
#include "engine/creation.h"
#include "ops/elementwise.h"
#include "ops/reduction.h"
#include "ops/shape.h"

namespace strata::nn {

BatchNorm::BatchNorm(const char* name, int64_t num_features, BatchNormOptions o, std::vector<int64_t> ranks)
    : Module(name), num_features_(num_features), options_(o), ranks_(std::move(ranks)) {
  STRATA_CHECK(num_features > 0, name, ": num_features must be > 0, got ", num_features);
  STRATA_CHECK(o.eps > 0.0, name, ": eps must be > 0, got ", o.eps);
  STRATA_CHECK(!o.momentum || (*o.momentum >= 0.0 && *o.momentum <= 1.0), name,
               ": momentum must lie in [0, 1], got ", o.momentum.value_or(0.0));
  if (o.affine) {
    weight = ones({num_features});
    bias = zeros({num_features});
  }
  register_parameter("weight", weight);
  register_parameter("bias", bias);
  if (o.track_running_stats) {
    running_mean = zeros({num_features});
    running_var = ones({num_features});
    num_batches_tracked = zeros({}, {DType::Int64});
    register_buffer("running_mean", running_mean);
    register_buffer("running_var", running_var);
    register_buffer("num_batches_tracked", num_batches_tracked);
  }
}

Tensor BatchNorm::forward(const Tensor& x) {
  bool rank_ok = false;
  std::string ranks;
  for (int64_t r : ranks_) {
    rank_ok = rank_ok || (x.defined() && x.dim() == r);
    ranks += (ranks.empty() ? "" : " or ") + std::to_string(r) + "-D";
  }
  STRATA_CHECK(rank_ok && x.size(1) == num_features_, type_name(), ": expects ", ranks, " input with ",
               num_features_, " channels in dim 1, got ",
               x.defined() ? shape_str(x.shape()) : std::string("an undefined tensor"));

  // Per-channel tensors broadcast against x as [1, C, 1, ...].
  Shape channel_shape(static_cast<size_t>(x.dim()), 1);
  channel_shape[1] = num_features_;
  std::vector<int64_t> reduce_dims = {0};
  for (int64_t d = 2; d < x.dim(); ++d) reduce_dims.push_back(d);

  Tensor mean_c, var_c;
  if (is_training() || !options_.track_running_stats) {
    const int64_t count = x.numel() / num_features_;
    STRATA_CHECK(count > 1, type_name(),
                 ": training needs more than one value per channel, got input of shape ",
                 shape_str(x.shape()));
    mean_c = mean(x, reduce_dims, /*keepdim=*/true);
    var_c = var(x, reduce_dims, /*unbiased=*/false, /*keepdim=*/true);
    if (is_training() && options_.track_running_stats) {
      NoGradGuard no_grad;
      fill_(num_batches_tracked, static_cast<double>(num_batches_tracked.item<int64_t>() + 1));
      const double m = options_.momentum ? *options_.momentum
                                         : 1.0 / static_cast<double>(num_batches_tracked.item<int64_t>());
      const double bessel = static_cast<double>(count) / static_cast<double>(count - 1);
      const Tensor batch_mean = to_dtype(reshape(mean_c.detach(), {num_features_}), running_mean.dtype());
      const Tensor batch_var = to_dtype(reshape(var_c.detach(), {num_features_}), running_var.dtype());
      mul_(running_mean, 1.0 - m);
      add_(running_mean, batch_mean, m);
      mul_(running_var, 1.0 - m);
      add_(running_var, batch_var, m * bessel);
    }
  } else {
    mean_c = reshape(running_mean, channel_shape);
    var_c = reshape(running_var, channel_shape);
  }
  Tensor y = mul(sub(x, mean_c), rsqrt(add(var_c, options_.eps)));
  if (options_.affine) y = add(mul(y, reshape(weight, channel_shape)), reshape(bias, channel_shape));
  return y;
}

BatchNorm1d::BatchNorm1d(int64_t num_features, BatchNormOptions options)
    : BatchNorm("BatchNorm1d", num_features, options, {2, 3}) {}

BatchNorm2d::BatchNorm2d(int64_t num_features, BatchNormOptions options)
    : BatchNorm("BatchNorm2d", num_features, options, {4}) {}

}  // namespace strata::nn
