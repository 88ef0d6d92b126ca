// The sinusoidal time features of the velocity networks (VelocityMlp with time_features > 0,
// VelocityUnet): the positional encoding of Vaswani et al. (2017, "Attention is all you need",
// sec. 3.5) at position 1000 t, as DDPM (Ho et al. 2020) embeds its time step:
//   [sin(1000 t w_k) for k < F / 2, cos(1000 t w_k) for k < F / 2],  w_k = 10000^(-2k / F),
// F = features (even). t carries no gradient (flows differentiate in x only), so the features are
// computed on the host.
#pragma once

#include "engine/tensor.h"

namespace strata::models {

// Times t (any shape, N values) -> [N, features] of `dtype`; features must be even and at least 2.
Tensor sinusoidal_time_embedding(const Tensor& t, int64_t features, DType dtype);

}  // namespace strata::models
