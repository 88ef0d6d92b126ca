#include "models/nn/flatten.h"

#include "ops/shape.h"

namespace strata::nn {

Tensor Flatten::forward(const Tensor& x) { return flatten(x, start_dim_, end_dim_); }

Unflatten::Unflatten(int64_t dim, Shape sizes) : Module("Unflatten"), dim_(dim), sizes_(std::move(sizes)) {
  STRATA_CHECK(!sizes_.empty(), "Unflatten: sizes must not be empty");
  for (int64_t s : sizes_) STRATA_CHECK(s > 0, "Unflatten: sizes ", shape_str(sizes_), " must all be > 0");
}

Tensor Unflatten::forward(const Tensor& x) {
  STRATA_CHECK(x.defined() && x.dim() > 0, "Unflatten: expects a tensor with at least one dim");
  const int64_t d = dim_ < 0 ? dim_ + x.dim() : dim_;
  STRATA_CHECK(d >= 0 && d < x.dim(), "Unflatten: dim ", dim_, " is out of range for input of shape ",
               shape_str(x.shape()));
  STRATA_CHECK(numel_of(sizes_) == x.size(d), "Unflatten: sizes ", shape_str(sizes_), " do not multiply to ",
               x.size(d), ", the size of dim ", dim_, " of input ", shape_str(x.shape()));
  Shape shape(x.shape().begin(), x.shape().begin() + d);
  shape.insert(shape.end(), sizes_.begin(), sizes_.end());
  shape.insert(shape.end(), x.shape().begin() + d + 1, x.shape().end());
  return reshape(x, shape);
}

}  // namespace strata::nn
