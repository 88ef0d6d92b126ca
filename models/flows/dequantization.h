// Uniform dequantisation of discrete data for continuous flows (Theis, van den Oord & Bethge 2016,
// "A note on the evaluation of generative models", sec. 3.1; Ho et al. 2019, "Flow++", sec. 3.1).
// A flow's density on data that take only `levels` values per dimension (8-bit images: 256) could
// grow without bound on those values, so it is trained on y = (k + u) / levels, u ~ U[0, 1)^D, where
// k = round(x (levels - 1)) recovers the level of x given in [0, 1] as k / (levels - 1) (how the
// loaders give Fashion-MNIST). A density p_Y on [0, 1)^D then assigns the discrete data
//   P(k) = int_[0,1)^D p_Y((k + u) / levels) levels^(-D) du >= exp(E_u[log p_Y(y)] - D log levels)
// (Jensen), so log p_Y(y) - D log(levels) at one draw of u is an unbiased estimate of a lower bound
// on log P(k): in bits per dimension, -(that) / (D ln 2) is comparable with discrete models' figures.
#pragma once

#include "engine/random.h"
#include "engine/tensor.h"

namespace strata::models {

// y = (round(x (levels - 1)) + u) / levels with fresh u ~ U[0, 1) from `gen`; x in [0, 1].
Tensor dequantize_uniform(const Tensor& x, int64_t levels, Generator* gen);

// -D log(levels): the term turning a density of dequantised y into the bound on log P(k) above.
double dequantization_log_volume(int64_t dim, int64_t levels);

}  // namespace strata::models
