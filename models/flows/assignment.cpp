#include "models/flows/assignment.h"

#include <cmath>
#include <limits>

#include "core/error.h"

namespace strata::models {

std::vector<int64_t> linear_sum_assignment(const std::vector<double>& cost, int64_t n) {
  STRATA_CHECK(n >= 0 && static_cast<int64_t>(cost.size()) == n * n, "linear_sum_assignment: a ", n, " x ", n,
               " cost matrix needs ", n * n, " values, got ", cost.size());
  for (double c : cost) STRATA_CHECK(std::isfinite(c), "linear_sum_assignment: costs must be finite, got ", c);
  const double inf = std::numeric_limits<double>::infinity();
  // 1-based rows and columns; column 0 is a virtual start column. row_of[j]: row matched to column j;
  // u, v: dual potentials of rows and columns; reduced costs cost[i][j] - u[i] - v[j] stay >= 0.
  std::vector<double> u(n + 1, 0.0), v(n + 1, 0.0);
  std::vector<int64_t> row_of(n + 1, 0), previous(n + 1, 0);
  for (int64_t i = 1; i <= n; ++i) {
    row_of[0] = i;
    int64_t j0 = 0;
    std::vector<double> distance(n + 1, inf);
    std::vector<bool> visited(n + 1, false);
    // Dijkstra from row i over reduced costs until it reaches a free column.
    do {
      visited[j0] = true;
      const int64_t i0 = row_of[j0];
      double delta = inf;
      int64_t j1 = 0;
      for (int64_t j = 1; j <= n; ++j) {
        if (visited[j]) continue;
        const double reduced = cost[(i0 - 1) * n + (j - 1)] - u[i0] - v[j];
        if (reduced < distance[j]) distance[j] = reduced, previous[j] = j0;
        if (distance[j] < delta) delta = distance[j], j1 = j;
      }
      for (int64_t j = 0; j <= n; ++j) {
        if (visited[j]) u[row_of[j]] += delta, v[j] -= delta;
        else distance[j] -= delta;
      }
      j0 = j1;
    } while (row_of[j0] != 0);
    // Augment: shift the matching back along the shortest path.
    do {
      const int64_t j1 = previous[j0];
      row_of[j0] = row_of[j1];
      j0 = j1;
    } while (j0 != 0);
  }
  std::vector<int64_t> sigma(n);
  for (int64_t j = 1; j <= n; ++j) sigma[row_of[j] - 1] = j - 1;
  return sigma;
}

double assignment_cost(const std::vector<double>& cost, int64_t n, const std::vector<int64_t>& sigma) {
  STRATA_CHECK(static_cast<int64_t>(sigma.size()) == n && static_cast<int64_t>(cost.size()) == n * n,
               "assignment_cost: sizes do not match n = ", n);
  double total = 0;
  for (int64_t i = 0; i < n; ++i) total += cost[i * n + sigma[i]];
  return total;
}

}  // namespace strata::models
