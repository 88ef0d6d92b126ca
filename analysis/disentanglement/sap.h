// SAP, the separated attribute predictability score (Kumar, Sattigeri & Balakrishnan, ICLR 2018,
// "Variational Inference of Disentangled Latent Concepts from Unlabeled Observations", Section 3,
// "SAP score"): S[j, k] = how well code j alone predicts factor k; SAP = mean over k of the gap
// between the largest and second-largest S[., k].
//
// Discrete factors (the default): S[j, k] is the held-out accuracy of a one-dimensional multiclass
// classifier of v_k from z_j. disentanglement_lib fits LinearSVC(C = 0.01, class_weight = balanced)
// on the single feature; strata uses a closed-form classifier of the same family instead: linear
// discriminant analysis in one dimension with a shared variance and equal ("balanced") class
// priors. Its discriminants z mu_c / s^2 - mu_c^2 / (2 s^2) are linear in z, like the one-vs-rest
// SVM's, and their argmax is the class whose training mean mu_c is nearest to z (ties: the lower
// class). It has no hyper-parameter, needs no optimiser, and is the Bayes classifier when each
// class of v_k gives z_j a normal distribution of one common variance. Classes absent from the
// training points are never predicted; test points of such classes count as errors.
// The two classifiers give different S: on 1,000/500 points of a noisy linear code (4 codes, 3
// factors), sklearn 1.9's LinearSVC(C = 0.01) gave SAP 0.192 and this classifier 0.258 (the strongly
// regularised SVM on an unscaled feature underfits), so SAP figures are comparable only between runs
// of the same implementation.
// Continuous factors (SapOptions::continuous_factors): S[j, k] = squared Pearson correlation of z_j
// and v_k on the training points (0 when z_j's variance is below 1e-12), as disentanglement_lib.
//
// Defaults (shared/papers/metrics.md): 10,000 training and 5,000 test points.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/tensor.h"

namespace strata::analysis {

struct SapOptions {
  int64_t num_train = 10000;  // points to sample for the training matrices (callers' sample_codes)
  int64_t num_test = 5000;    // points for the test matrices
  bool continuous_factors = false;
};

struct SapResult {
  double score = 0;
  std::vector<double> per_factor;    // the top-two gap of each factor (K)
  std::vector<double> score_matrix;  // S[j, k], L x K row-major
  int64_t num_codes = 0, num_factors = 0;
};

// codes float32/float64 [N, L] (L >= 2), factors int64 [N, K]; the test pair is read only for
// discrete factors (pass the training pair again or empty tensors when continuous_factors).
SapResult sap(const Tensor& train_codes, const Tensor& train_factors, const Tensor& test_codes,
              const Tensor& test_factors, const SapOptions& options = {});

// The 1-D nearest-class-mean (balanced 1-D LDA) classifier: held-out accuracy of predicting `y_test`
// from `z_test` after fitting on (z_train, y_train).
double nearest_class_mean_accuracy(const std::vector<double>& z_train, const std::vector<int64_t>& y_train,
                                   const std::vector<double>& z_test, const std::vector<int64_t>& y_test);

}  // namespace strata::analysis
