// Gradient clipping by global norm, as torch.nn.utils.clip_grad_norm_.
#pragma once

#include <vector>

#include "engine/tensor.h"

namespace strata::optim {

// Scales every defined gradient of `params` in place by min(1, max_norm / (total + 1e-6)), where
// total is the p-norm of all gradients taken together (norm_type = +infinity for the max-abs
// norm). Returns that total norm, measured before clipping. Parameters without a gradient are skipped.
double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, double norm_type = 2.0);

}  // namespace strata::optim
