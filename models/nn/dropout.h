// Dropout (Srivastava et al. 2014) in its inverted form, as torch.nn.Dropout: in training each
// element is zeroed with probability p and the survivors are scaled by 1 / (1 - p), so evaluation
// (where the module is the identity) needs no rescaling.
#pragma once

#include "engine/random.h"
#include "models/nn/module.h"

namespace strata::nn {

class Dropout final : public Module {
 public:
  // Masks are drawn from `gen` (the default generator when null), which must outlive the module.
  explicit Dropout(double p = 0.5, Generator* gen = nullptr);
  Tensor forward(const Tensor& x) override;
  double p() const { return p_; }

 private:
  double p_;
  Generator* gen_;
};

}  // namespace strata::nn
