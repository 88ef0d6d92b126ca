#include "models/flows/sinkhorn.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace strata::models {

SinkhornResult sinkhorn_plan(const std::vector<double>& cost, int64_t n, int64_t m, SinkhornOptions o) {
  STRATA_CHECK(n >= 1 && m >= 1 && static_cast<int64_t>(cost.size()) == n * m, "sinkhorn: a ", n, " x ", m,
               " cost matrix needs ", n * m, " values, got ", cost.size());
  STRATA_CHECK(o.epsilon > 0 && std::isfinite(o.epsilon), "sinkhorn: epsilon must be a positive number, got ", o.epsilon);
  STRATA_CHECK(o.max_iterations >= 1, "sinkhorn: max_iterations must be at least 1, got ", o.max_iterations);
  double largest = 0;
  for (double c : cost) {
    STRATA_CHECK(std::isfinite(c) && c >= 0, "sinkhorn: costs must be finite and >= 0, got ", c);
    largest = std::max(largest, c);
  }
  const double scale = largest > 0 ? 1.0 / (largest * o.epsilon) : 0.0;
  std::vector<double> kernel(cost.size());
  for (size_t i = 0; i < cost.size(); ++i) kernel[i] = std::exp(-cost[i] * scale);
  const double a = 1.0 / static_cast<double>(n), b = 1.0 / static_cast<double>(m);
  std::vector<double> u(n, 1.0), v(m, 1.0), column(m);
  SinkhornResult r;
  for (r.iterations = 1; r.iterations <= o.max_iterations; ++r.iterations) {
    // Rows: u_i = a / (K v)_i, after which every row sums to a exactly.
    for (int64_t i = 0; i < n; ++i) {
      double s = 0;
      for (int64_t j = 0; j < m; ++j) s += kernel[i * m + j] * v[j];
      STRATA_CHECK(s > 0, "sinkhorn: row ", i, " of the kernel underflowed to 0; use a larger epsilon than ", o.epsilon);
      u[i] = a / s;
    }
    std::fill(column.begin(), column.end(), 0.0);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < m; ++j) column[j] += kernel[i * m + j] * u[i];
    r.marginal_error = 0;
    for (int64_t j = 0; j < m; ++j) r.marginal_error = std::max(r.marginal_error, std::abs(column[j] * v[j] - b));
    if (r.marginal_error <= o.tolerance) break;
    // Columns: v_j = b / (K^T u)_j.
    for (int64_t j = 0; j < m; ++j) {
      STRATA_CHECK(column[j] > 0, "sinkhorn: column ", j, " of the kernel underflowed to 0; use a larger epsilon than ",
                   o.epsilon);
      v[j] = b / column[j];
    }
  }
  r.iterations = std::min(r.iterations, o.max_iterations);
  r.plan.resize(cost.size());
  std::vector<double> rows(n, 0.0);
  std::fill(column.begin(), column.end(), 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < m; ++j) {
      const double p = u[i] * kernel[i * m + j] * v[j];
      r.plan[i * m + j] = p;
      rows[i] += p;
      column[j] += p;
    }
  r.marginal_error = 0;
  for (int64_t i = 0; i < n; ++i) r.marginal_error = std::max(r.marginal_error, std::abs(rows[i] - a));
  for (int64_t j = 0; j < m; ++j) r.marginal_error = std::max(r.marginal_error, std::abs(column[j] - b));
  return r;
}

}  // namespace strata::models
