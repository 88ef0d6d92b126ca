// Intrinsic-dimension estimators from nearest neighbours (shared/papers/manifold_hypothesis.md,
// "Intrinsic-dimension estimators a library should provide"). Each takes the exact neighbours of
// analysis/nearest_neighbors.h; T_j(x) is the distance from x to its j-th nearest other point.
//
//  - MLE (Levina & Bickel 2004, eq. 8) with the MacKay & Ghahramani (2005) global estimate: the
//    inverse local estimate m(x) = (1/(k-1)) sum_{j=1}^{k-1} log(T_k(x) / T_j(x)) (normaliser k - 1,
//    for which m(x) is unbiased for 1/d under the local Poisson model), averaged over the points,
//    and the average inverted: d = 1 / mean_x m(x). (Averaging the inverses rather than the local
//    estimates keeps a point whose k neighbours are equidistant, m = 0, from dominating.)
//  - TwoNN (Facco et al. 2017): mu = T_2 / T_1. "twonn" is the maximum-likelihood form
//    d = N / sum log mu; "twonn-fit" the paper's estimate, the least-squares line through the origin
//    of -log(1 - F(mu)) against log mu (F the empirical CDF, F(mu_(i)) = i / N), the largest 10% of mu
//    discarded.
//  - Local PCA: for each point, the covariance of the point and its k neighbours (k + 1 points about
//    their mean); the local dimension is the number of largest eigenvalues needed to explain
//    `variance_fraction` (default 95%) of its trace; the estimate is the mean over points. k + 1
//    points span at most k dimensions, so the estimate is at most k: it needs k well above d.
//
// Duplicates: a point with a duplicate has T_1 = 0, where log(T_k / T_1) and mu are infinite. Such
// points are skipped (counted in `skipped`) by MLE and TwoNN, as are points with T_k = 0; local PCA
// skips points whose neighbourhood has no variance at all. Zero distances among a point's other
// neighbours cannot happen without T_1 = 0.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "analysis/nearest_neighbors.h"
#include "engine/tensor.h"

namespace strata::analysis {

struct DimensionEstimate {
  double estimate = 0;
  int64_t points = 0;   // points the estimate averages over
  int64_t skipped = 0;  // points left out (see the header comment)
};

// The normaliser of the inverse local estimate: k - 1 (above; the default) or k - 2, the normaliser
// of Levina & Bickel's per-point estimate that is unbiased for d, which the code behind Pope et al.
// (2021) also uses inside the inverse average, so its figures are (k - 2) / (k - 1) times ours
// (one half at k = 3). KMinus2 needs k >= 3.
enum class MleNormaliser { KMinus1, KMinus2 };

// MLE with k neighbours (2 <= k <= neighbors.k).
DimensionEstimate mle_dimension(const Neighbors& neighbors, int64_t k,
                                MleNormaliser normaliser = MleNormaliser::KMinus1);
// The inverse local estimates m(x) (0 for a skipped point, and `skipped` set): for tests and plots.
std::vector<double> mle_inverse_local_estimates(const Neighbors& neighbors, int64_t k,
                                                std::vector<char>* skipped,
                                                MleNormaliser normaliser = MleNormaliser::KMinus1);

// TwoNN (neighbors.k >= 2).
DimensionEstimate twonn_dimension(const Neighbors& neighbors);
DimensionEstimate twonn_fit_dimension(const Neighbors& neighbors, double discard_fraction = 0.1);

// Local PCA of x (the points the neighbours were found in, [N, F]) for each k of `ks` (1 <= k <=
// neighbors.k), sharing the neighbourhood Gram matrices between the k.
std::vector<DimensionEstimate> local_pca_dimensions(const Tensor& x, const Neighbors& neighbors,
                                                    const std::vector<int64_t>& ks,
                                                    double variance_fraction = 0.95);

}  // namespace strata::analysis
