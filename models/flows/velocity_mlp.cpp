#include "models/flows/velocity_mlp.h"

#include "models/flows/time_embedding.h"
#include "models/nn/activation.h"
#include "models/nn/linear.h"
#include "ops/ops.h"

namespace strata::models {

VelocityMlp::VelocityMlp(VelocityMlpOptions options, Generator* init)
    : VelocityField("VelocityMlp"), options_(std::move(options)) {
  STRATA_CHECK(options_.dim >= 1, "VelocityMlp: dim must be at least 1, got ", options_.dim);
  STRATA_CHECK(!options_.hidden.empty(), "VelocityMlp: needs at least one hidden layer");
  for (int64_t w : options_.hidden) STRATA_CHECK(w >= 1, "VelocityMlp: hidden widths must be at least 1, got ", w);
  STRATA_CHECK(options_.time_features >= 0 && options_.time_features % 2 == 0,
               "VelocityMlp: time_features must be 0 (raw t) or an even number, got ", options_.time_features);
  net_ = std::make_shared<nn::Sequential>();
  int64_t width = options_.dim + std::max<int64_t>(1, options_.time_features);
  for (int64_t h : options_.hidden) {
    net_->push_back(std::make_shared<nn::Linear>(width, h, true, init));
    net_->push_back(std::make_shared<nn::SiLU>());
    width = h;
  }
  net_->push_back(std::make_shared<nn::Linear>(width, options_.dim, true, init));
  register_module("net", net_);
}

Tensor VelocityMlp::time_input(const Tensor& t, DType dtype) const {
  if (options_.time_features == 0) return to_dtype(from_vector(t.to_vector<double>(), {t.numel(), 1}, t.device()), dtype);
  return sinusoidal_time_embedding(t, options_.time_features, dtype);
}

Tensor VelocityMlp::velocity(const Tensor& x, const Tensor& t) {
  STRATA_CHECK(x.dim() == 2 && x.size(1) == options_.dim, "VelocityMlp: x must be [N, ", options_.dim, "], got ",
               shape_str(x.shape()));
  STRATA_CHECK(t.numel() == x.size(0), "VelocityMlp: one time per row expected: x ", shape_str(x.shape()), ", t ",
               shape_str(t.shape()));
  return net_->forward(cat({x, time_input(t, x.dtype())}, 1));
}

}  // namespace strata::models
