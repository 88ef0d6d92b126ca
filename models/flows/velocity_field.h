// What every flow model integrates: a time-dependent vector field v(x, t) on R^D, as a Module so
// its parameters train, checkpoint and convert like any other. Rows are independent examples
// (no batch statistics), which the exact divergence (divergence.h) relies on.
#pragma once

#include "models/nn/module.h"

namespace strata::models {

class VelocityField : public nn::Module {
 public:
  using nn::Module::Module;
  // x [N, D] and t [N] (one time per row) -> v [N, D], differentiable in x.
  virtual Tensor velocity(const Tensor& x, const Tensor& t) = 0;
  virtual int64_t dim() const = 0;
};

}  // namespace strata::models
