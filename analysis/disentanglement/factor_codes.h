// What every disentanglement metric in this folder reads: the codes a representation gives to
// observations rendered from known factors (engine/data/factor_dataset.h).
//
// "Codes" are the encoder's mean vector mu(x) (shared/papers/metrics.md, following
// disentanglement_lib, Locatello et al. ICML 2019). Matrix-level metrics (MIG, SAP, DCI,
// modularity/explicitness) take sampled matrices: codes float32/float64 [N, L] and factor classes
// int64 [N, K]; intervention metrics (FactorVAE score, BetaVAE score) take the dataset itself.
#pragma once

#include <cstdint>
#include <functional>

#include "engine/data/factor_dataset.h"
#include "engine/random.h"
#include "engine/tensor.h"

namespace strata::analysis {

// Observations float32 [N, D] (D = dataset.observation_dim()) -> codes [N, L], float32 or float64.
// It must treat rows independently (the metrics call it on batches of their choosing).
using Representation = std::function<Tensor(const Tensor& observations)>;

struct CodeSample {
  Tensor codes;    // float64 [N, L]
  Tensor factors;  // int64 [N, K]: the factor classes each row was rendered from
};

// n factor rows from dataset.sample_factors(n, gen) (each factor uniform and independent), rendered
// and encoded `batch_size` rows at a time (memory only: results do not depend on it).
CodeSample sample_codes(const FactorDataset& dataset, const Representation& representation, int64_t n,
                        Generator* gen, int64_t batch_size = 1000);

}  // namespace strata::analysis
