// The exact Wasserstein distance between two empirical distributions of n points each (uniform
// weights 1/n), the estimator behind the two-step bound of the manifold-hypothesis survey
// (shared/papers/manifold_hypothesis.md: W(P, g#Q) <= E||X - g(f(X))|| + Lip(g) W(f#P, Q)).
//
// Between two uniform measures on n points each, the optimal transport plan can be taken to be a
// permutation (Birkhoff-von Neumann: the plans are the doubly stochastic matrices divided by n,
// whose extreme points are permutations), so
//     W_p(a, b)^p = min_sigma (1/n) sum_i ||a_i - b_sigma(i)||^p,
// a linear assignment problem, solved exactly by models/flows/assignment.h (O(n^3): about a second
// at n = 1000). Distances are Euclidean, from the float64 expansion of
// analysis/sample_quality/precision_recall.h (clamped at 0), so coincident points are about 1e-8
// ||a|| apart rather than exactly 0.
//
// As an estimate of W between the distributions the points are drawn from it is biased upwards:
// two independent samples of ONE distribution are W_p > 0 apart, by an amount that shrinks slowly
// with n in high dimension (about n^(-1/d)). Compare figures at equal n, and beside that floor.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/tensor.h"

namespace strata::analysis {

struct ExactWasserstein {
  double distance = 0;  // W_p
  int64_t n = 0;        // points in each set
  double p = 1;
  std::vector<int64_t> matching;  // matching[i]: the point of b that a_i is sent to
};

// a, b: float32/float64 [n, F] with the same n >= 1 and F, finite; p >= 1.
ExactWasserstein exact_wasserstein(const Tensor& a, const Tensor& b, double p = 1);

}  // namespace strata::analysis
