// The FactorVAE score (Kim & Mnih, ICML 2018, "Disentangling by Factorising", Section 4 and
// Figure 2), computed as disentanglement_lib's factor_vae.py (shared/papers/metrics.md):
//  1. each code's variance (ddof 1) over num_variance_estimate = 10,000 random points; codes whose
//     standard deviation is below 0.05 are dropped as collapsed;
//  2. one vote: a factor k drawn uniformly; a batch of batch_size = 64 points all sharing one random
//     value of v_k, every other factor drawn at random; the active code with the smallest variance
//     (ddof 1) divided by its global variance gives the vote (that code, k);
//  3. a majority-vote classifier code -> factor from num_train = 10,000 votes (each code predicts
//     the factor it voted for most often; ties, and codes without votes, to the lower factor, as
//     np.argmax); the score is its accuracy on
//     num_eval = 5,000 fresh votes (eval_accuracy); train_accuracy is on the training votes.
// With no active code both accuracies are 0 (as disentanglement_lib).
// Factor rows are drawn independently and uniformly per factor with randint from `gen`, so only the
// dataset's virtual interface (factor_sizes, render) is used.
#pragma once

#include <cstdint>
#include <vector>

#include "analysis/disentanglement/factor_codes.h"

namespace strata::analysis {

struct FactorVaeOptions {
  int64_t batch_size = 64;
  int64_t num_train = 10000;
  int64_t num_eval = 5000;
  int64_t num_variance_estimate = 10000;
  double prune_threshold = 0.05;  // on each code's standard deviation
  int64_t votes_per_call = 16;    // votes rendered and encoded together (memory only, not results)
};

struct FactorVaeResult {
  double eval_accuracy = 0;  // the score
  double train_accuracy = 0;
  int64_t num_active_dims = 0;
  std::vector<int64_t> active_dims;      // indices of the codes kept
  std::vector<int64_t> dim_to_factor;    // the classifier: per code, its factor (-1: inactive or no votes)
  std::vector<int64_t> training_votes;   // L x K row-major counts
  std::vector<double> global_variances;  // L
};

FactorVaeResult factor_vae_score(const FactorDataset& dataset, const Representation& representation,
                                 Generator* gen, const FactorVaeOptions& options = {});

}  // namespace strata::analysis
