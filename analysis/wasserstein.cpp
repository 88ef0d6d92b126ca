#include "analysis/wasserstein.h"

#include <cmath>

#include "analysis/nearest_neighbors.h"
#include "analysis/sample_quality/precision_recall.h"
#include "core/error.h"
#include "engine/shape.h"
#include "models/flows/assignment.h"

namespace strata::analysis {

ExactWasserstein exact_wasserstein(const Tensor& a, const Tensor& b, double p) {
  const Tensor a64 = float64_matrix(a, "exact_wasserstein", "a");
  const Tensor b64 = float64_matrix(b, "exact_wasserstein", "b");
  STRATA_CHECK(a64.shape() == b64.shape(),
               "exact_wasserstein: the two sets must have one shape (n points each), got ",
               shape_str(a.shape()), " and ", shape_str(b.shape()));
  STRATA_CHECK(p >= 1 && std::isfinite(p), "exact_wasserstein: p must be a number >= 1, got ", p);
  const int64_t n = a64.size(0);
  std::vector<double> cost = pairwise_squared_distances(a64, b64).to_vector<double>();
  for (double& c : cost) c = p == 2 ? c : std::pow(std::sqrt(c), p);
  ExactWasserstein w;
  w.n = n;
  w.p = p;
  w.matching = models::linear_sum_assignment(cost, n);
  w.distance = std::pow(models::assignment_cost(cost, n, w.matching) / static_cast<double>(n), 1.0 / p);
  return w;
}

}  // namespace strata::analysis
