// Exact k-nearest-neighbour search by brute force, for the k-NN measures of sample quality
// (analysis/sample_quality/precision_recall.h) and the intrinsic-dimension estimators
// (analysis/intrinsic_dimension.h).
//
// Squared Euclidean distances are computed in float64, a block of rows at a time, through the
// engine's matmul as ||a||^2 + ||b||^2 - 2 a.b (clamped at 0: rounding can make the expansion of a
// zero distance slightly negative), so memory is one block, whatever N. Each row keeps its k
// smallest with a bounded max-heap; equal distances are ordered by index (the lower index wins),
// and a point is excluded from its own neighbours by index, so a duplicate of it is a neighbour at
// distance 0. With `exact_distances` the k kept distances are then recomputed directly as
// sum (a_f - b_f)^2 and re-sorted: the expansion's cancellation (an error of about 1e-16 ||a||^2)
// then no longer shows, and a duplicate's distance is exactly 0 rather than a rounding residue.
// Which points are kept is decided on the expansion, so a neighbour could only be swapped with one
// whose squared distance is within that rounding of the k-th.
//
// Cost: N^2 F multiply-adds in BLAS (dgemm) plus N^2 heap tests; 70,000 x 784 (all of
// Fashion-MNIST) takes a few minutes on one core.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "engine/tensor.h"

namespace strata::analysis {

// x as a contiguous float64 [N, F] matrix (F >= 1), after checking it is a finite float32/float64
// matrix; `op` and `what` name the caller and the operand in the error messages.
Tensor float64_matrix(const Tensor& x, const char* op, const char* what);

// Calls fn(first_row, rows, d2) for consecutive blocks of rows of a (float64 [N, F], contiguous)
// against all of b (float64 [M, F]): d2 holds rows x M squared distances, row-major, clamped at 0.
// A block holds about `block_values` distances (at least one row).
void for_each_squared_distance_block(const Tensor& a, const Tensor& b, int64_t block_values,
                                     const std::function<void(int64_t, int64_t, const double*)>& fn);

struct NeighborOptions {
  int64_t block_values = int64_t{1} << 24;  // distances held at once (128 MiB of float64)
  bool exact_distances = true;              // recompute the kept distances directly (see above)
  // Called after each block with the rows done and the total (progress lines of long searches).
  std::function<void(int64_t, int64_t)> progress = {};
};

struct Neighbors {
  int64_t points = 0, k = 0;
  std::vector<int64_t> indices;  // [points, k] row-major: the neighbours of each point, nearest first
  std::vector<double> squared_distances;  // [points, k], ascending along each row

  const int64_t* indices_of(int64_t i) const { return indices.data() + i * k; }
  const double* squared_distances_of(int64_t i) const { return squared_distances.data() + i * k; }
};

// The k nearest other rows of every row of x ([N, F], float32/float64, finite; 1 <= k < N).
Neighbors nearest_neighbors(const Tensor& x, int64_t k, const NeighborOptions& options = {});

}  // namespace strata::analysis
