#include "engine/optim/adam.h"

#include "engine/dispatch.h"

namespace strata::optim {

Adam::Adam(std::vector<Tensor> params, AdamOptions options)
    : Adam("Adam", std::move(params), options, false) {}

Adam::Adam(const char* name, std::vector<Tensor> params, AdamOptions o, bool decoupled)
    : Optimizer(name, std::move(params), o.lr), options_(o), decoupled_(decoupled) {
  STRATA_CHECK(o.beta1 >= 0.0 && o.beta1 < 1.0 && o.beta2 >= 0.0 && o.beta2 < 1.0, name,
               ": betas must lie in [0, 1), got (", o.beta1, ", ", o.beta2, ")");
  STRATA_CHECK(o.eps >= 0.0, name, ": eps must be >= 0, got ", o.eps);
  STRATA_CHECK(o.weight_decay >= 0.0, name, ": weight_decay must be >= 0, got ", o.weight_decay);
}

std::vector<std::string> Adam::buffer_names() const {
  if (options_.amsgrad) return {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"};
  return {"exp_avg", "exp_avg_sq"};
}

void Adam::update(size_t i, const Tensor& param, const Tensor& grad, int64_t step) {
  AdamStep s;
  s.lr = lr();
  s.beta1 = options_.beta1;
  s.beta2 = options_.beta2;
  s.eps = options_.eps;
  s.weight_decay = options_.weight_decay;
  s.step = step;
  s.decoupled = decoupled_;
  s.amsgrad = options_.amsgrad;
  void* exp_avg = buffer(i, "exp_avg").raw_data();
  void* exp_avg_sq = buffer(i, "exp_avg_sq").raw_data();
  void* max_sq = options_.amsgrad ? buffer(i, "max_exp_avg_sq").raw_data() : nullptr;
  backend_for(param.device())
      .adam_update(param.dtype(), param.numel(), param.raw_data(), grad.raw_data(), exp_avg, exp_avg_sq,
                   max_sq, s);
}

AdamW::AdamW(std::vector<Tensor> params, AdamWOptions o)
    : Adam("AdamW", std::move(params), AdamOptions{o.lr, o.beta1, o.beta2, o.eps, o.weight_decay, o.amsgrad},
           true) {}

}  // namespace strata::optim
