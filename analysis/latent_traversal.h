// Latent traversals, the picture people look at first for disentanglement (Higgins et al., ICLR
// 2017, "beta-VAE", fig. 1 and 7): one latent dimension is swept over a range while the others stay
// at a fixed code, and each code is decoded. Row i of the result sweeps dims[i] over `steps` evenly
// spaced values from -limit to +limit (columns); every other dimension keeps its value in `center`
// (the posterior mean of a chosen example, or 0, the prior's mean).
#pragma once

#include <cstdint>
#include <vector>

#include "models/autoencoders/autoencoder.h"

namespace strata::analysis {

struct TraversalOptions {
  std::vector<int64_t> dims = {};  // the latent dimensions to sweep, one row each; empty: all of them
  int64_t steps = 11;         // columns
  double limit = 3.0;         // the sweep covers [-limit, limit]
  int64_t label = -1;         // class-conditional models (CVAE): the class every image is decoded under
};

// The codes [rows * steps, L] in row-major order: code (i, j) is `center` [L] with dims[i] set to
// -limit + 2 limit j / (steps - 1). Checks the dims against L and steps >= 2, naming `model`.
Tensor traversal_codes(const Tensor& center, const TraversalOptions& options, const std::string& model);

// The likelihood means [rows * steps, D] decoded from traversal_codes(center, options), without
// recording a graph; the model's train/eval mode is left as it was.
Tensor latent_traversal(models::Autoencoder& model, const Tensor& center, const TraversalOptions& options);

}  // namespace strata::analysis
