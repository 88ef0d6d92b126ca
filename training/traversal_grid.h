// The latent traversal picture of a run (analysis/latent_traversal.h as a PNG grid): one row per
// latent dimension, its columns sweeping that dimension over [-3, 3] with the others at the center
// code. The trainer writes RUN/traversals/epoch_NNN.png after every epoch; `strata sample --traversal`
// draws one from the best checkpoint. Image data only (the grid shows decoded images).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "training/registry.h"
#include "training/trainable.h"

namespace strata::training {

struct TraversalRequest {
  std::vector<int64_t> dims = {};  // latent dimensions to sweep, one row each; empty: all
  int64_t steps = 11;         // columns, evenly spaced over [-3, 3]
  int64_t example = 0;        // the held-out example whose code (posterior mean) is the center
  bool prior_center = false;  // center at 0, the mean of the prior, instead (models with a prior)
};

// Writes the grid for `model` on `data`'s images to `path` (atomically; parent folders created).
void write_traversal_grid(Trainable& model, const DataSplits& data, const TraversalRequest& request,
                          const std::string& path);

// The grid of RUN's best checkpoint, into `out` (default RUN/traversals/traversal.png); returns the file.
std::string traversal_run_to_png(const std::string& run_dir, const TraversalRequest& request, const std::string& out);

}  // namespace strata::training
