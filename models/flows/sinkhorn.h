// Entropy-regularised optimal transport between two uniform discrete measures (Cuturi 2013,
// "Sinkhorn distances", Algorithm 1): the plan P = diag(a) K diag(b), K = exp(-C / eps), whose row
// sums are 1/n and column sums 1/m, found by alternately rescaling rows and columns.
// For minibatch couplings too large for the exact assignment (O(n^2) per iteration instead of
// O(n^3)). The cost is divided by its largest entry first, so epsilon is relative to the largest
// cost (as the TorchCFM library calls POT: ot.sinkhorn(a, b, M / M.max(), reg)); that keeps
// exp(-C / eps) >= exp(-1 / eps) away from underflow for the usual eps >= 0.02.
#pragma once

#include <cstdint>
#include <vector>

namespace strata::models {

struct SinkhornOptions {
  double epsilon = 0.05;          // entropic regularisation, relative to the largest cost
  int64_t max_iterations = 2000;  // row + column rescalings
  double tolerance = 1e-9;        // stop when every column sum is within this of 1/m (rows are exact)
};

struct SinkhornResult {
  std::vector<double> plan;  // n x m, row-major, sums to 1
  int64_t iterations = 0;
  double marginal_error = 0;  // of the returned plan: max over rows and columns of |sum - 1/n| or |sum - 1/m|
};

SinkhornResult sinkhorn_plan(const std::vector<double>& cost, int64_t n, int64_t m, SinkhornOptions options = {});

}  // namespace strata::models
