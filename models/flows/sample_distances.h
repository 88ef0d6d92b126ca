// Distances between two sets of samples, to score generated points against held-out data.
//  - sliced Wasserstein-2 (Rabin et al. 2011; Bonneel et al. 2015): the 1-D W2 distance between
//    the projections on K random unit directions, where it is the distance between sorted samples;
//    SW2 = sqrt(mean over directions of W2^2). Equal sample sizes, so sorted samples pair up.
//  - MMD^2 with a sum of Gaussian kernels k(a, b) = sum_s exp(-||a - b||^2 / (2 s^2)), the biased
//    V-statistic of Gretton et al. 2012 ("A kernel two-sample test", eq. 5: every pair, the diagonals
//    included), as shared/papers/metrics.md specifies for sample quality, over the bandwidths
//    kSampleMmdBandwidths = {0.01, 0.1, 1, 10, 100} there: never negative, and about
//    (number of bandwidths) x (1/n + 1/m) above 0 for two samples of one distribution at the
//    smallest bandwidths, so compare figures at equal sample sizes.
// Computed in double; O(K n log n) and O(n^2 D).
#pragma once

#include <vector>

#include "engine/random.h"
#include "engine/tensor.h"

namespace strata::models {

// a, b: [n, D] with the same n; directions drawn from `gen` (uniform on the sphere).
double sliced_wasserstein2(const Tensor& a, const Tensor& b, int64_t directions, Generator* gen);

inline const std::vector<double> kSampleMmdBandwidths = {0.01, 0.1, 1.0, 10.0, 100.0};

// a [n, D], b [m, D], n, m >= 2; bandwidths s > 0.
double mmd_squared(const Tensor& a, const Tensor& b, const std::vector<double>& bandwidths = kSampleMmdBandwidths);

}  // namespace strata::models
