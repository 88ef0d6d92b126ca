// k-nearest-neighbour measures of sample quality in a feature space, between N real feature vectors
// x_i and M generated ones y_j (shared/papers/metrics.md, "Sample quality without downloaded
// networks"). r_k(p) is the distance from p to its k-th nearest neighbour within its own set, the
// point itself excluded; B(p, r) = {q : d(p, q) <= r}.
//
//  - Improved precision and recall (Kynkaanniemi et al. 2019, "Improved Precision and Recall Metric
//    for Assessing Generative Models", eqs. 1-2; k = 3):
//      precision = (1/M) sum_j 1[y_j in some B(x_i, r_k(x_i))]   (the real manifold's estimate)
//      recall    = (1/N) sum_i 1[x_i in some B(y_j, r_k(y_j))]   (the generated manifold's estimate)
//  - Density and coverage (Naeem et al. 2020, "Reliable Fidelity and Diversity Metrics for Generative
//    Models", eqs. 3-4; k = 5), from the real balls alone:
//      density  = (1/(k M)) sum_j sum_i 1[y_j in B(x_i, r_k(x_i))]      (can exceed 1)
//      coverage = (1/N) sum_i 1[min_j d(x_i, y_j) < r_k(x_i)]           (strict, as the paper)
//
// Distances are Euclidean, computed in float64 in row blocks through the engine's matmul as
// ||a||^2 + ||b||^2 - 2 a.b (clamped at 0), and compared squared (d^2 <= r^2), so no square root
// enters a comparison. A ball is always tested on distances computed with its centre as the row
// operand, as its radius was: a matmul need not round d(a, b) and d(b, a) alike, and for identical
// sets the k-th neighbour lies exactly on the boundary (each ball then holds at least k + 1 points,
// so density >= (k + 1) / k). Memory is one block of about 4M distances, whatever N and M.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/tensor.h"

namespace strata::analysis {

// Squared Euclidean distances between the rows of a [N, F] and b [M, F]: float64 [N, M].
Tensor pairwise_squared_distances(const Tensor& a, const Tensor& b);
// r_k of every row of x [N, F] within x (k-th nearest other row; N > k), not squared.
std::vector<double> kth_neighbour_distances(const Tensor& x, int64_t k);

struct PrecisionRecall {
  double precision = 0;
  double recall = 0;
  int64_t k = 0, real = 0, fake = 0;  // k and the set sizes N, M
};
// real [N, F], fake [M, F] (float32/float64, N and M > k).
PrecisionRecall precision_recall(const Tensor& real, const Tensor& fake, int64_t k = 3);

struct DensityCoverage {
  double density = 0;
  double coverage = 0;
  int64_t k = 0, real = 0, fake = 0;
};
// real [N, F] (N > k), fake [M, F] (M >= 1).
DensityCoverage density_coverage(const Tensor& real, const Tensor& fake, int64_t k = 5);

}  // namespace strata::analysis
