// The BetaVAE score (Higgins et al., ICLR 2017, "beta-VAE: Learning Basic Visual Concepts with a
// Constrained Variational Framework", Section 3 and Appendix A.4), computed as disentanglement_lib's
// beta_vae.py (shared/papers/metrics.md): one point = a factor k drawn uniformly, batch_size = 64
// pairs (x1, x2) whose factors are drawn at random except that each pair shares v_k; the feature is
// the mean over the batch of |mu(x1) - mu(x2)| (L values), the label k. A multinomial logistic
// regression (logistic_regression.h: sklearn's defaults, L2 with C = 1, fitted by L-BFGS) is trained
// on num_train = 10,000 points; the score is its accuracy on num_eval = 5,000 fresh points.
// Factor rows are drawn independently and uniformly per factor with randint from `gen`.
#pragma once

#include <cstdint>

#include "analysis/disentanglement/factor_codes.h"
#include "analysis/disentanglement/logistic_regression.h"

namespace strata::analysis {

struct BetaVaeOptions {
  int64_t batch_size = 64;
  int64_t num_train = 10000;
  int64_t num_eval = 5000;
  LogisticRegressionOptions classifier = {};
  int64_t points_per_call = 8;  // points rendered and encoded together (memory only, not results)
};

struct BetaVaeResult {
  double eval_accuracy = 0;  // the score
  double train_accuracy = 0;
  int64_t iterations = 0;  // L-BFGS iterations the classifier took
};

BetaVaeResult beta_vae_score(const FactorDataset& dataset, const Representation& representation,
                             Generator* gen, const BetaVaeOptions& options = {});

}  // namespace strata::analysis
