// DCI disentanglement, completeness and informativeness (Eastwood & Williams, ICLR 2018, "A
// Framework for the Quantitative Evaluation of Disentangled Representations", Section 2 and eqs.
// 1-3), computed as disentanglement_lib's dci.py (shared/papers/metrics.md):
//  - R[j, k] >= 0: importance of code j for predicting factor k, from one classifier per factor:
//    strata's gradient-boosted trees (gradient_boosting.h: sklearn's GradientBoostingClassifier
//    defaults, 100 stages of depth-3 trees, learning rate 0.1), |feature_importances_| (each
//    column of R sums to 1). All DCI figures strata reports come from this predictor.
//  - Disentanglement: P[j, k] = R[j, k] / sum_k R[j, k]; D_j = 1 - H_K(P[j, .]) (entropy in base K);
//    D = sum_j rho_j D_j, rho_j = sum_k R[j, k] / sum R.
//  - Completeness: C_k = 1 - H_L(R[., k] / sum_j R[j, k]) (base L = code dimension);
//    C = sum_k rho_k C_k, rho_k = sum_j R[j, k] / sum R.
//  - Informativeness: the classifiers' mean accuracy on the test points (train accuracy also given).
// As disentanglement_lib, 1e-11 is added to every R before the entropies (scipy.stats.entropy
// normalises), and an all-zero R weighs codes and factors equally.
// With one factor D_j = 1, with one code C_k = 1 (a base-1 entropy is undefined; disentanglement_lib
// would divide by log 1 = 0).
// Defaults: 10,000 training and 5,000 test points. Cost: 100 x (classes) depth-3 trees per factor;
// at the defaults with 10 codes and dSprites' factors (3, 6, 40, 32, 32 classes: 11,300 trees) about
// 23 s on two busy cores.
#pragma once

#include <cstdint>
#include <vector>

#include "analysis/disentanglement/gradient_boosting.h"
#include "engine/tensor.h"

namespace strata::analysis {

struct DciOptions {
  int64_t num_train = 10000;  // points to sample for training (callers' sample_codes)
  int64_t num_test = 5000;    // points to sample for testing
  GradientBoostingOptions trees = {};
};

struct DciScores {
  double disentanglement = 0, completeness = 0;
  std::vector<double> per_code;    // D_j (L)
  std::vector<double> per_factor;  // C_k (K)
};

struct DciResult {
  double disentanglement = 0, completeness = 0;
  double informativeness = 0;         // mean test accuracy over factors
  double train_accuracy = 0;          // mean training accuracy over factors
  std::vector<double> importance;     // R[j, k], L x K row-major
  std::vector<double> per_code;       // D_j
  std::vector<double> per_factor;     // C_k
  std::vector<double> test_accuracy;  // per factor
  int64_t num_codes = 0, num_factors = 0;
};

// codes float32/float64 [N, L], factors int64 [N, K]; every factor must take two or more values in
// the training points.
DciResult dci(const Tensor& train_codes, const Tensor& train_factors, const Tensor& test_codes,
              const Tensor& test_factors, const DciOptions& options = {});

// D and C of an importance matrix R (L x K row-major, values >= 0).
DciScores dci_from_importance(const std::vector<double>& importance, int64_t num_codes, int64_t num_factors);

}  // namespace strata::analysis
