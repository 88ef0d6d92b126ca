#include "analysis/nearest_neighbors.h"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>
#include <utility>

#include "engine/autograd.h"
#include "engine/shape.h"
#include "ops/elementwise.h"
#include "ops/linalg.h"
#include "ops/reduction.h"
#include "ops/shape.h"

namespace strata::analysis {

Tensor float64_matrix(const Tensor& x, const char* op, const char* what) {
  STRATA_CHECK(x.defined(), op, ": ", what, " are undefined");
  STRATA_CHECK(x.dim() == 2 && x.size(1) >= 1, op, ": ", what, " must be [N, F] with F >= 1, got ",
               shape_str(x.shape()));
  STRATA_CHECK(x.dtype() == DType::Float32 || x.dtype() == DType::Float64, op, ": ", what,
               " must be float32 or float64, got ", dtype_name(x.dtype()));
  Tensor out = contiguous(to_dtype(x, DType::Float64));
  const double* p = out.data_ptr<double>();
  for (int64_t i = 0; i < out.numel(); ++i)
    STRATA_CHECK(std::isfinite(p[i]), op, ": ", what, " ", shape_str(x.shape()), " hold a non-finite value (",
                 p[i], ") in row ", i / x.size(1));
  return out;
}

void for_each_squared_distance_block(const Tensor& a, const Tensor& b, int64_t block_values,
                                     const std::function<void(int64_t, int64_t, const double*)>& fn) {
  NoGradGuard no_grad;
  const int64_t n = a.size(0), m = b.size(0);
  const Tensor a_norms = contiguous(sum(square(a), 1));
  const Tensor b_norms = contiguous(sum(square(b), 1));
  const double* an = a_norms.data_ptr<double>();
  const double* bn = b_norms.data_ptr<double>();
  const Tensor bt = t(b);
  const int64_t block = std::max<int64_t>(1, block_values / std::max<int64_t>(m, 1));
  for (int64_t start = 0; start < n; start += block) {
    const int64_t rows = std::min(block, n - start);
    Tensor d2 = contiguous(matmul(narrow(a, 0, start, rows), bt));
    double* p = d2.data_ptr<double>();
    // (-2 a.b) + (||a||^2 + ||b||^2), in this order, clamped at 0.
    tbb::parallel_for(tbb::blocked_range<int64_t>(0, rows), [&](const tbb::blocked_range<int64_t>& range) {
      for (int64_t r = range.begin(); r < range.end(); ++r) {
        double* row = p + r * m;
        const double a2 = an[start + r];
        for (int64_t j = 0; j < m; ++j) row[j] = std::max(row[j] * -2.0 + (a2 + bn[j]), 0.0);
      }
    });
    fn(start, rows, static_cast<const double*>(p));
  }
}

Neighbors nearest_neighbors(const Tensor& x, int64_t k, const NeighborOptions& options) {
  const Tensor x64 = float64_matrix(x, "nearest_neighbors", "points");
  const int64_t n = x64.size(0), f = x64.size(1);
  STRATA_CHECK(k >= 1, "nearest_neighbors: k must be at least 1, got ", k);
  STRATA_CHECK(k < n, "nearest_neighbors: k = ", k, " neighbours need at least k + 1 = ", k + 1,
               " points, got ", shape_str(x.shape()));
  STRATA_CHECK(options.block_values >= 1, "nearest_neighbors: block_values must be at least 1, got ",
               options.block_values);
  Neighbors out;
  out.points = n;
  out.k = k;
  out.indices.assign(static_cast<size_t>(n * k), 0);
  out.squared_distances.assign(static_cast<size_t>(n * k), 0.0);
  using Entry = std::pair<double, int64_t>;  // (squared distance, index): lexicographic, so ties go by index
  for_each_squared_distance_block(
      x64, x64, options.block_values, [&](int64_t start, int64_t rows, const double* d2) {
        tbb::parallel_for(
            tbb::blocked_range<int64_t>(0, rows), [&](const tbb::blocked_range<int64_t>& range) {
              std::vector<Entry> heap;
              heap.reserve(static_cast<size_t>(k));
              for (int64_t r = range.begin(); r < range.end(); ++r) {
                const int64_t self = start + r;
                const double* row = d2 + r * n;
                heap.clear();
                // A max-heap of the k best so far; j only grows, so an equal distance never displaces.
                for (int64_t j = 0; j < n; ++j) {
                  if (j == self) continue;
                  if (static_cast<int64_t>(heap.size()) < k) {
                    heap.emplace_back(row[j], j);
                    std::push_heap(heap.begin(), heap.end());
                  } else if (row[j] < heap.front().first) {
                    std::pop_heap(heap.begin(), heap.end());
                    heap.back() = {row[j], j};
                    std::push_heap(heap.begin(), heap.end());
                  }
                }
                if (options.exact_distances) {
                  const double* xi = x64.data_ptr<double>() + self * f;
                  for (Entry& e : heap) {
                    const double* xj = x64.data_ptr<double>() + e.second * f;
                    double s = 0;
                    for (int64_t c = 0; c < f; ++c) s += (xi[c] - xj[c]) * (xi[c] - xj[c]);
                    e.first = s;
                  }
                }
                std::sort(heap.begin(), heap.end());
                for (int64_t j = 0; j < k; ++j) {
                  out.squared_distances[static_cast<size_t>(self * k + j)] =
                      heap[static_cast<size_t>(j)].first;
                  out.indices[static_cast<size_t>(self * k + j)] = heap[static_cast<size_t>(j)].second;
                }
              }
            });
        if (options.progress) options.progress(start + rows, n);
      });
  return out;
}

}  // namespace strata::analysis
