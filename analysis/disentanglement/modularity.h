// Modularity and explicitness (Ridgeway & Mozer, NeurIPS 2018, "Learning Deep Disentangled
// Embeddings With the F-Statistic Loss", Section 3), computed as disentanglement_lib's
// modularity_explicitness.py (shared/papers/metrics.md):
//  - modularity: m[j, k] = mutual information of code j (20 equal-width histogram bins, as MIG) and
//    factor k; for each code, delta_j = (sum_k m[j,k]^2 - max_k m[j,k]^2) / (max_k m[j,k]^2 (K - 1)),
//    modularity_j = 1 - delta_j (0 when max_k m[j,k] = 0); modularity = mean over codes.
//  - explicitness: codes standardised with the training mean and standard deviation (ddof 0; a
//    constant code is only centred); per factor one multinomial logistic regression
//    (logistic_regression.h, sklearn defaults, L-BFGS) and the macro ROC-AUC of its class
//    probabilities, one-vs-rest over the classes present in both the training and the test points
//    (AUC by the Mann-Whitney statistic, ties counted 1/2); explicitness = mean over factors.
// Defaults: 10,000 training and 5,000 test points.
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

#include "analysis/disentanglement/logistic_regression.h"
#include "engine/tensor.h"

namespace strata::analysis {

struct ModularityOptions {
  int64_t num_train = 10000;  // points to sample for training (callers' sample_codes)
  int64_t num_test = 5000;    // points to sample for testing (explicitness only)
  int64_t num_bins = 20;
  LogisticRegressionOptions classifier = {};
};

struct ModularityResult {
  double modularity = 0;
  std::vector<double> per_code;            // modularity_j (L)
  std::vector<double> mutual_information;  // m[j, k], L x K row-major, nats
  // Filled by modularity_explicitness only (NaN from modularity()).
  double explicitness_train = std::numeric_limits<double>::quiet_NaN();
  double explicitness_test = std::numeric_limits<double>::quiet_NaN();
  std::vector<double> explicitness_per_factor;  // test AUC per factor
};

// Modularity of codes float32/float64 [N, L] against factors int64 [N, K] (K >= 2).
ModularityResult modularity(const Tensor& codes, const Tensor& factors,
                            const ModularityOptions& options = {});
// Modularity on the training pair plus explicitness (train and test AUC).
ModularityResult modularity_explicitness(const Tensor& train_codes, const Tensor& train_factors,
                                         const Tensor& test_codes, const Tensor& test_factors,
                                         const ModularityOptions& options = {});

// Modularity of a mutual-information matrix (L x K row-major, K >= 2).
double modularity_from_mutual_information(const std::vector<double>& mi, int64_t num_codes,
                                          int64_t num_factors, std::vector<double>* per_code = nullptr);
// One-vs-rest ROC-AUC of `scores` for the rows whose label is `positive` (Mann-Whitney, ties 1/2);
// NaN when either side is empty.
double roc_auc(const std::vector<double>& scores, const std::vector<bool>& positive);

}  // namespace strata::analysis
