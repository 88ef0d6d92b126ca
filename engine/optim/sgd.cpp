#include "engine/optim/sgd.h"

#include "engine/dispatch.h"

namespace strata::optim {

SGD::SGD(std::vector<Tensor> params, SGDOptions o) : Optimizer("SGD", std::move(params), o.lr), options_(o) {
  STRATA_CHECK(o.momentum >= 0.0, "SGD: momentum must be >= 0, got ", o.momentum);
  STRATA_CHECK(o.weight_decay >= 0.0, "SGD: weight_decay must be >= 0, got ", o.weight_decay);
  STRATA_CHECK(!o.nesterov || (o.momentum > 0.0 && o.dampening == 0.0),
               "SGD: Nesterov momentum needs momentum > 0 and dampening 0, got momentum ", o.momentum,
               " and dampening ", o.dampening);
}

std::vector<std::string> SGD::buffer_names() const {
  if (options_.momentum == 0.0) return {};
  return {"momentum_buffer"};
}

void SGD::update(size_t i, const Tensor& param, const Tensor& grad, int64_t step) {
  void* buf = options_.momentum != 0.0 ? buffer(i, "momentum_buffer").raw_data() : nullptr;
  backend_for(param.device())
      .sgd_update(param.dtype(), param.numel(), param.raw_data(), grad.raw_data(), buf, lr(),
                  options_.momentum, options_.dampening, options_.weight_decay, options_.nesterov, step == 1);
}

}  // namespace strata::optim
