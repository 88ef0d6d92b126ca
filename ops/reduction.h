// Reductions over all elements or over given dims (negative dims count from the end).
#pragma once

#include <vector>

#include "engine/tensor.h"

namespace strata {

Tensor sum(const Tensor& x);  // all elements -> 0-dim tensor
Tensor sum(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim = false);
Tensor sum(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor mean(const Tensor& x);
Tensor mean(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim = false);
Tensor mean(const Tensor& x, int64_t dim, bool keepdim = false);
// Variance and standard deviation over `dims` (all dims when empty); unbiased divides by n - 1
// (Bessel), else by n. One overload only, so var(x, {1}) cannot bind to a bool by accident.
// Like torch::std, strata::std must be called qualified where `using namespace strata` is in force.
Tensor var(const Tensor& x, const std::vector<int64_t>& dims = {}, bool unbiased = true, bool keepdim = false);
Tensor std(const Tensor& x, const std::vector<int64_t>& dims = {}, bool unbiased = true, bool keepdim = false);

struct ValuesIndices {
  Tensor values;
  Tensor indices;  // int64
};
// Max/min over one dim with the index of the (first) extremum; the gradient flows to that element.
ValuesIndices max(const Tensor& x, int64_t dim, bool keepdim = false);
ValuesIndices min(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor max(const Tensor& x);  // over all elements; gradient split evenly among ties
Tensor min(const Tensor& x);
Tensor argmax(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor argmin(const Tensor& x, int64_t dim, bool keepdim = false);
// The p-norm over all elements (p = 2 by default) or over dims.
Tensor norm(const Tensor& x, double p = 2.0);
Tensor norm(const Tensor& x, double p, const std::vector<int64_t>& dims, bool keepdim = false);

// Sums `grad` down to `shape` (the inverse of broadcasting); used by backward formulas.
Tensor sum_to(const Tensor& grad, const Shape& shape);

}  // namespace strata
