#include "analysis/sample_quality/precision_recall.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "analysis/nearest_neighbors.h"
#include "engine/autograd.h"
#include "engine/creation.h"
#include "engine/shape.h"
#include "ops/elementwise.h"
#include "ops/linalg.h"
#include "ops/reduction.h"
#include "ops/shape.h"

namespace strata::analysis {

namespace {

constexpr int64_t kBlockValues = int64_t{1} << 22;  // distances held at once (32 MiB of float64)

void check_pair(const Tensor& a, const Tensor& b, const char* op, const char* a_name, const char* b_name) {
  STRATA_CHECK(a.size(1) == b.size(1), op, ": ", a_name, " ", shape_str(a.shape()), " and ", b_name, " ",
               shape_str(b.shape()), " have different feature counts");
}

void check_k(int64_t k, const Tensor& x, const char* op, const char* what) {
  STRATA_CHECK(k >= 1, op, ": k must be at least 1, got ", k);
  STRATA_CHECK(x.size(0) > k, op, ": the k-th nearest neighbour (k = ", k, ") needs more than k ", what,
               " vectors, got ", shape_str(x.shape()));
}

template <class Fn>
void for_each_distance_block(const Tensor& a, const Tensor& b, Fn&& fn) {
  for_each_squared_distance_block(a, b, kBlockValues, fn);
}

// Squared r_k of every row of x (float64 [N, F]) within x, the row itself excluded by index (so a
// duplicate of a point is a neighbour at distance 0). The radii are the blocks' own distances (not
// recomputed), so a ball's radius and the distances tested against it are rounded alike.
std::vector<double> kth_squared_radii(const Tensor& x, int64_t k) {
  const Neighbors nn = nearest_neighbors(x, k, {.block_values = kBlockValues, .exact_distances = false});
  std::vector<double> radii(static_cast<size_t>(nn.points));
  for (int64_t i = 0; i < nn.points; ++i) radii[static_cast<size_t>(i)] = nn.squared_distances_of(i)[k - 1];
  return radii;
}

}  // namespace

Tensor pairwise_squared_distances(const Tensor& a, const Tensor& b) {
  const Tensor a64 = float64_matrix(a, "pairwise_squared_distances", "a");
  const Tensor b64 = float64_matrix(b, "pairwise_squared_distances", "b");
  check_pair(a64, b64, "pairwise_squared_distances", "a", "b");
  const int64_t m = b64.size(0);
  std::vector<double> out(static_cast<size_t>(a64.size(0) * m));
  for_each_distance_block(a64, b64, [&](int64_t start, int64_t rows, const double* d2) {
    std::copy(d2, d2 + rows * m, out.begin() + start * m);
  });
  return from_vector(out, {a64.size(0), m});
}

std::vector<double> kth_neighbour_distances(const Tensor& x, int64_t k) {
  const Tensor x64 = float64_matrix(x, "kth_neighbour_distances", "x");
  check_k(k, x64, "kth_neighbour_distances", "x");
  std::vector<double> r = kth_squared_radii(x64, k);
  for (double& v : r) v = std::sqrt(v);
  return r;
}

PrecisionRecall precision_recall(const Tensor& real, const Tensor& fake, int64_t k) {
  const Tensor x = float64_matrix(real, "precision_recall", "real features");
  const Tensor y = float64_matrix(fake, "precision_recall", "fake features");
  check_pair(x, y, "precision_recall", "real features", "fake features");
  check_k(k, x, "precision_recall", "real");
  check_k(k, y, "precision_recall", "fake");
  const int64_t n = x.size(0), m = y.size(0);
  // Each ball is tested in the orientation its radius was computed in (rows = centres): gemm need
  // not round d2(a, b) and d2(b, a) alike, and for identical sets the k-th neighbour lies exactly on
  // the boundary.
  std::vector<char> precise(static_cast<size_t>(m), 0), recalled(static_cast<size_t>(n), 0);
  const std::vector<double> real_radii = kth_squared_radii(x, k);
  for_each_distance_block(x, y, [&](int64_t start, int64_t rows, const double* d2) {
    for (int64_t r = 0; r < rows; ++r) {
      const double radius = real_radii[static_cast<size_t>(start + r)];
      for (int64_t j = 0; j < m; ++j)
        if (d2[r * m + j] <= radius) precise[static_cast<size_t>(j)] = 1;
    }
  });
  const std::vector<double> fake_radii = kth_squared_radii(y, k);
  for_each_distance_block(y, x, [&](int64_t start, int64_t rows, const double* d2) {
    for (int64_t r = 0; r < rows; ++r) {
      const double radius = fake_radii[static_cast<size_t>(start + r)];
      for (int64_t i = 0; i < n; ++i)
        if (d2[r * n + i] <= radius) recalled[static_cast<size_t>(i)] = 1;
    }
  });
  return {
      .precision =
          static_cast<double>(std::count(precise.begin(), precise.end(), 1)) / static_cast<double>(m),
      .recall = static_cast<double>(std::count(recalled.begin(), recalled.end(), 1)) / static_cast<double>(n),
      .k = k,
      .real = n,
      .fake = m};
}

DensityCoverage density_coverage(const Tensor& real, const Tensor& fake, int64_t k) {
  const Tensor x = float64_matrix(real, "density_coverage", "real features");
  const Tensor y = float64_matrix(fake, "density_coverage", "fake features");
  check_pair(x, y, "density_coverage", "real features", "fake features");
  check_k(k, x, "density_coverage", "real");
  STRATA_CHECK(y.size(0) >= 1, "density_coverage: needs at least one fake feature vector, got ",
               shape_str(y.shape()));
  const int64_t n = x.size(0), m = y.size(0);
  const std::vector<double> radii = kth_squared_radii(x, k);
  int64_t inside = 0, covered = 0;  // pairs (i, j) with y_j in B(x_i, r_k(x_i)); covered x_i
  // Rows are the real centres, as when their radii were computed (see precision_recall).
  for_each_distance_block(x, y, [&](int64_t start, int64_t rows, const double* d2) {
    for (int64_t r = 0; r < rows; ++r) {
      const double radius = radii[static_cast<size_t>(start + r)];
      double nearest = std::numeric_limits<double>::infinity();
      for (int64_t j = 0; j < m; ++j) {
        inside += d2[r * m + j] <= radius ? 1 : 0;
        nearest = std::min(nearest, d2[r * m + j]);
      }
      covered += nearest < radius ? 1 : 0;
    }
  });
  return {.density = static_cast<double>(inside) / static_cast<double>(k * m),
          .coverage = static_cast<double>(covered) / static_cast<double>(n),
          .k = k,
          .real = n,
          .fake = m};
}

}  // namespace strata::analysis
