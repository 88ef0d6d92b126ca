#include "engine/optim/rmsprop.h"

#include "engine/dispatch.h"

namespace strata::optim {

RMSprop::RMSprop(std::vector<Tensor> params, RMSpropOptions o)
    : Optimizer("RMSprop", std::move(params), o.lr), options_(o) {
  STRATA_CHECK(o.alpha >= 0.0 && o.alpha <= 1.0, "RMSprop: alpha must lie in [0, 1], got ", o.alpha);
  STRATA_CHECK(o.eps >= 0.0, "RMSprop: eps must be >= 0, got ", o.eps);
  STRATA_CHECK(o.weight_decay >= 0.0, "RMSprop: weight_decay must be >= 0, got ", o.weight_decay);
  STRATA_CHECK(o.momentum >= 0.0, "RMSprop: momentum must be >= 0, got ", o.momentum);
}

std::vector<std::string> RMSprop::buffer_names() const {
  if (options_.momentum > 0.0) return {"square_avg", "momentum_buffer"};
  return {"square_avg"};
}

void RMSprop::update(size_t i, const Tensor& param, const Tensor& grad, int64_t) {
  void* square_avg = buffer(i, "square_avg").raw_data();
  void* buf = options_.momentum > 0.0 ? buffer(i, "momentum_buffer").raw_data() : nullptr;
  backend_for(param.device())
      .rmsprop_update(param.dtype(), param.numel(), param.raw_data(), grad.raw_data(), square_avg, buf, lr(),
                      options_.alpha, options_.eps, options_.weight_decay, options_.momentum);
}

}  // namespace strata::optim
