// Checks an op's backward against central finite differences, as torch.autograd.gradcheck does.
// Inputs must be float64 leaves that require grad; the function must return a float64 tensor.
// For a random cotangent v it compares the vector-Jacobian product from autograd with
// (f(x + eps e_i) - f(x - eps e_i)) . v / (2 eps) for every input element i.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace strata {

struct GradcheckOptions {
  double eps = 1e-6;
  double atol = 1e-5;
  double rtol = 1e-4;
  uint64_t seed = 0;  // for the random cotangent
};

struct GradcheckResult {
  bool ok = true;
  std::string message;  // the first mismatch: input, element, analytic and numeric values
  double max_abs_error = 0.0;
};

using GradcheckFn = std::function<Tensor(const std::vector<Tensor>&)>;

GradcheckResult gradcheck(const GradcheckFn& f, const std::vector<Tensor>& inputs, GradcheckOptions options = {});

}  // namespace strata
