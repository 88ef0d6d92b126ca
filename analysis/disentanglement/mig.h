// MIG, the mutual information gap (Chen, Li, Grosse & Duvenaud, NeurIPS 2018, "Isolating Sources of
// Disentanglement in Variational Autoencoders", Section 4.1, eq. 5):
//   MIG = (1/K) sum_k ( I(z_{j(1)}; v_k) - I(z_{j(2)}; v_k) ) / H(v_k),
// j(1), j(2) the codes with the largest and second-largest mutual information with factor v_k.
// As disentanglement_lib's mig.py (shared/papers/metrics.md): each code is discretised into 20
// equal-width bins over its own observed range and I, H are discrete (plug-in) estimates in nats
// over the sampled points. Default sample: 10,000 points (MigOptions::num_train, for the caller's
// sample_codes).
#pragma once

#include <cstdint>
#include <vector>

#include "engine/tensor.h"

namespace strata::analysis {

struct MigOptions {
  int64_t num_train = 10000;  // points to sample (used by callers drawing codes with sample_codes)
  int64_t num_bins = 20;      // equal-width histogram bins per code
};

struct MigResult {
  double score = 0;                        // MIG
  std::vector<double> per_factor;          // the normalised gap of each factor (K)
  std::vector<double> mutual_information;  // m[j, k], L x K row-major, nats
  std::vector<double> factor_entropy;      // H(v_k), nats (K)
  int64_t num_codes = 0, num_factors = 0;
};

// codes float32/float64 [N, L] (L >= 2), factors int64 [N, K]; every factor must take at least two
// values in the sample (its entropy divides).
MigResult mig(const Tensor& codes, const Tensor& factors, const MigOptions& options = {});

}  // namespace strata::analysis
