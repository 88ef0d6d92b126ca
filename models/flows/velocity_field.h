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

  // Class-conditional fields (classifier-free guidance, flow_matching.h): the number of classes K
  // (0: not conditional) and v(x, t, labels) for int64 labels [N] in 0..K, K itself being the null
  // label ("no label"); velocity(x, t) of a conditional field is the null-label one.
  virtual int64_t num_classes() const { return 0; }
  virtual Tensor labelled_velocity(const Tensor& x, const Tensor& t, const Tensor& labels);
};

inline Tensor VelocityField::labelled_velocity(const Tensor&, const Tensor&, const Tensor&) {
  throw Error(type_name() + ": labelled_velocity(x, t, labels) needs a class-conditional velocity field "
              "(num_classes > 0)");
}

}  // namespace strata::models
