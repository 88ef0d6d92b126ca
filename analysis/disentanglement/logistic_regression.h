// Multinomial logistic regression with an L2 penalty, as scikit-learn's LogisticRegression defaults
// (which disentanglement_lib's BetaVAE score and explicitness use): minimises
//   sum_i -log softmax(W x_i + b)_{y_i} + ||W||^2 / (2 C),   C = 1, the intercepts b not penalised,
// over all classes at once (a softmax over every class, also for two classes). Optimiser: L-BFGS
// (Nocedal 1980; memory 10) on the objective divided by n, with a backtracking line search that
// enforces Armijo's sufficient decrease (c1 = 1e-4), from W = 0, b = 0; it stops when the largest
// gradient component is below `tolerance` (1e-4, sklearn's tol) or after max_iterations (100, sklearn's
// max_iter). Deterministic. Checked against sklearn 1.9.1's LogisticRegression() on 1,000 points
// (4 features, 5 classes): the same held-out accuracy, 76 iterations against its 70, and
// explicitness (modularity.h) AUCs within 4e-6 of sklearn's.
#pragma once

#include <cstdint>
#include <vector>

namespace strata::analysis {

struct LogisticRegressionOptions {
  double c = 1.0;  // inverse regularisation strength
  int64_t max_iterations = 100;
  double tolerance = 1e-4;
  int64_t memory = 10;  // L-BFGS correction pairs
};

class LogisticRegression {
 public:
  explicit LogisticRegression(LogisticRegressionOptions options = {}) : options_(options) {}

  // x: n x d row-major; y: n labels (any int64 values, at least two distinct).
  void fit(const std::vector<double>& x, int64_t n, int64_t d, const std::vector<int64_t>& y);
  // n x classes().size() row-major probabilities, columns in the order of classes().
  std::vector<double> predict_proba(const std::vector<double>& x, int64_t n) const;
  std::vector<int64_t> predict(const std::vector<double>& x, int64_t n) const;
  const std::vector<int64_t>& classes() const { return classes_; }
  int64_t iterations() const { return iterations_; }

 private:
  LogisticRegressionOptions options_;
  int64_t d_ = 0;
  std::vector<int64_t> classes_;
  std::vector<double> w_;  // (d + 1) x C row-major, last row the intercepts
  int64_t iterations_ = 0;
};

}  // namespace strata::analysis
