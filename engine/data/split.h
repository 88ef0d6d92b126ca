// A held-out split drawn from one matrix of examples, for datasets that come as a single table
// (CSV, .npy): which rows are held out depends only on the seed, so a run and its resumption (and
// `strata eval` later) see the same split.
#pragma once

#include <cstdint>

#include "engine/data/dataset.h"

namespace strata {

struct TrainValidationSplit {
  TensorDataset train;
  TensorDataset validation;
};

// Holds out round(fraction * N) examples (at least one when fraction > 0), drawn uniformly without
// replacement with a Generator seeded by `seed`; both splits keep the file's row order. fraction
// must be in [0, 1) and leave at least one training example; 0 holds nothing out and returns the
// training examples as the validation split too (callers say so in their messages).
TrainValidationSplit random_split(const TensorDataset& data, double fraction, uint64_t seed);

}  // namespace strata
