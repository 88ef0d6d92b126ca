// Reductions and their backward formulas.
#include "ops/reduction.h"

#include <cmath>
#include <limits>

#include "engine/creation.h"
#include "ops/detail.h"
#include "ops/elementwise.h"
#include "ops/shape.h"

namespace strata {

using detail::backend_of;

namespace {

// Bit mask of the (normalised, distinct) dims to reduce; all dims when `dims` is empty.
uint32_t dim_mask(const char* op, const Tensor& x, const std::vector<int64_t>& dims) {
  detail::check_defined(op, x, "input");
  STRATA_CHECK(x.dim() <= kMaxDims, op, ": tensor of rank ", x.dim(), " exceeds the supported ", kMaxDims);
  if (dims.empty()) return x.dim() == 0 ? 0u : (1u << x.dim()) - 1;
  uint32_t mask = 0;
  for (int64_t d : dims) {
    const int nd = normalize_dim(d, x.dim(), op);
    STRATA_CHECK(!(mask & (1u << nd)), op, ": dim ", d, " is repeated in the reduction dims");
    mask |= 1u << nd;
  }
  return mask;
}

Shape keepdim_shape(const Shape& shape, uint32_t mask) {
  Shape out = shape;
  for (size_t d = 0; d < shape.size(); ++d)
    if (mask & (1u << d)) out[d] = 1;
  return out;
}

Shape reduced_shape(const Shape& shape, uint32_t mask, bool keepdim) {
  if (keepdim) return keepdim_shape(shape, mask);
  Shape out;
  for (size_t d = 0; d < shape.size(); ++d)
    if (!(mask & (1u << d))) out.push_back(shape[d]);
  return out;
}

int64_t reduced_count(const Shape& shape, uint32_t mask) {
  int64_t n = 1;
  for (size_t d = 0; d < shape.size(); ++d)
    if (mask & (1u << d)) n *= shape[d];
  return n;
}

// A contiguous tensor re-described with another shape of the same numel (no graph).
Tensor reshaped_alias(const Tensor& contiguous_tensor, const Shape& shape) {
  return Tensor::make_view(contiguous_tensor, shape, contiguous_strides(shape), contiguous_tensor.offset());
}

Tensor reduce_forward(const char* op, ReduceOp kind, const Tensor& x, uint32_t mask, bool keepdim) {
  Tensor out = Tensor::empty(keepdim_shape(x.shape(), mask), x.dtype(), x.device());
  if (x.numel() == 0 && kind != ReduceOp::Sum) {
    STRATA_CHECK(reduced_count(x.shape(), mask) > 0, op, ": cannot reduce an empty dimension of shape ",
                 shape_str(x.shape()));
  }
  backend_of(x).reduce(kind, x.view(), mask, out.view());
  return keepdim ? out : reshaped_alias(out, reduced_shape(x.shape(), mask, false));
}

// Expands a reduced gradient back over the reduced dims of `shape`.
Tensor expand_back(const Tensor& g, const Shape& shape, uint32_t mask) {
  return expand(reshape(g, keepdim_shape(shape, mask)), shape);
}

Tensor sum_impl(const Tensor& x, uint32_t mask, bool keepdim) {
  detail::check_defined("sum", x, "input");
  const Tensor input = x.dtype() == DType::Bool ? to_dtype(x, DType::Int64) : x;
  Tensor out = reduce_forward("sum", ReduceOp::Sum, input, mask, keepdim);
  if (needs_grad(x)) {
    record("sum", out, {&x}, [shape = x.shape(), mask](const Tensor& g) -> std::vector<Tensor> {
      return {expand_back(g, shape, mask)};
    });
  }
  return out;
}

Tensor mean_impl(const Tensor& x, uint32_t mask, bool keepdim) {
  detail::check_defined("mean", x, "input");
  detail::check_floating("mean", x);
  const int64_t n = reduced_count(x.shape(), mask);
  return div(sum_impl(x, mask, keepdim), static_cast<double>(n));
}

Tensor var_impl(const Tensor& x, uint32_t mask, bool unbiased, bool keepdim) {
  detail::check_floating("var", x);
  const int64_t n = reduced_count(x.shape(), mask);
  const Tensor centered = sub(x, mean_impl(x, mask, true));
  const double denom = static_cast<double>(unbiased ? n - 1 : n);
  return div(sum_impl(square(centered), mask, keepdim), denom);
}

ValuesIndices extremum_dim(const char* op, bool is_max, const Tensor& x, int64_t dim, bool keepdim) {
  detail::check_defined(op, x, "input");
  const int d = normalize_dim(dim, x.dim(), op);
  const uint32_t mask = x.dim() == 0 ? 0u : 1u << d;
  STRATA_CHECK(x.dim() == 0 || x.shape()[d] > 0, op, ": cannot reduce dim ", dim, " of size 0 in shape ",
               shape_str(x.shape()));
  const Shape kshape = keepdim_shape(x.shape(), mask);
  Tensor values = Tensor::empty(kshape, x.dtype(), x.device());
  Tensor indices = Tensor::empty(kshape, DType::Int64, x.device());
  if (x.dim() == 0) {
    backend_of(x).copy(x.view(), values.view());
    backend_of(x).fill(indices.view(), 0.0);
  } else {
    backend_of(x).arg_reduce(is_max, x.view(), d, values.view(), indices.view());
  }
  if (needs_grad(x)) {
    record(op, values, {&x}, [shape = x.shape(), si = SavedTensor(indices), d](const Tensor& g) -> std::vector<Tensor> {
      // Scatter each gradient to the position of its extremum.
      Tensor grad = zeros(shape, {g.dtype(), g.device()});
      if (shape.empty()) return {contiguous(g)};
      int64_t outer = 1, inner = 1;
      for (int i = 0; i < d; ++i) outer *= shape[i];
      for (size_t i = d + 1; i < shape.size(); ++i) inner *= shape[i];
      Tensor gc = contiguous(g);
      backend_for(g.device()).scatter_add(gc.view(), outer, shape[d], inner, si.get().data_ptr<int64_t>(), 1,
                                          grad.view());
      return {grad};
    });
  }
  if (!keepdim) {
    const Shape rshape = reduced_shape(x.shape(), mask, false);
    return {reshape(values, rshape), reshaped_alias(indices, rshape)};
  }
  return {values, indices};
}

Tensor extremum_all(const char* op, ReduceOp kind, const Tensor& x) {
  detail::check_defined(op, x, "input");
  STRATA_CHECK(x.numel() > 0, op, ": cannot reduce an empty tensor of shape ", shape_str(x.shape()));
  Tensor out = reduce_forward(op, kind, x, dim_mask(op, x, {}), false);
  if (needs_grad(x)) {
    record(op, out, {&x}, [sx = SavedTensor(x), so = SavedTensor(out)](const Tensor& g) -> std::vector<Tensor> {
      // Ties share the gradient equally, as PyTorch does for full reductions.
      Tensor hit = to_dtype(eq(sx.get(), so.get()), g.dtype());
      return {mul(hit, div(g, sum(hit)))};
    });
  }
  return out;
}

}  // namespace

Tensor sum(const Tensor& x) { return sum_impl(x, dim_mask("sum", x, {}), false); }
Tensor sum(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  return sum_impl(x, dim_mask("sum", x, dims), keepdim);
}
Tensor sum(const Tensor& x, int64_t dim, bool keepdim) { return sum(x, std::vector<int64_t>{dim}, keepdim); }

Tensor mean(const Tensor& x) { return mean_impl(x, dim_mask("mean", x, {}), false); }
Tensor mean(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  return mean_impl(x, dim_mask("mean", x, dims), keepdim);
}
Tensor mean(const Tensor& x, int64_t dim, bool keepdim) { return mean(x, std::vector<int64_t>{dim}, keepdim); }

Tensor var(const Tensor& x, const std::vector<int64_t>& dims, bool unbiased, bool keepdim) {
  return var_impl(x, dim_mask("var", x, dims), unbiased, keepdim);
}
Tensor std(const Tensor& x, const std::vector<int64_t>& dims, bool unbiased, bool keepdim) {
  return sqrt(var(x, dims, unbiased, keepdim));
}

ValuesIndices max(const Tensor& x, int64_t dim, bool keepdim) { return extremum_dim("max", true, x, dim, keepdim); }
ValuesIndices min(const Tensor& x, int64_t dim, bool keepdim) { return extremum_dim("min", false, x, dim, keepdim); }
Tensor max(const Tensor& x) { return extremum_all("max", ReduceOp::Max, x); }
Tensor min(const Tensor& x) { return extremum_all("min", ReduceOp::Min, x); }

Tensor argmax(const Tensor& x, int64_t dim, bool keepdim) {
  NoGradGuard no_grad;
  return extremum_dim("argmax", true, x, dim, keepdim).indices;
}
Tensor argmin(const Tensor& x, int64_t dim, bool keepdim) {
  NoGradGuard no_grad;
  return extremum_dim("argmin", false, x, dim, keepdim).indices;
}

Tensor norm(const Tensor& x, double p) { return norm(x, p, {}, false); }

Tensor norm(const Tensor& x, double p, const std::vector<int64_t>& dims, bool keepdim) {
  detail::check_defined("norm", x, "input");
  detail::check_floating("norm", x);
  STRATA_CHECK(p > 0, "norm: p must be positive, got ", p);
  const uint32_t mask = dim_mask("norm", x, dims);
  if (std::isinf(p)) {
    Tensor a = abs(x);
    if (dims.empty() && !keepdim) return max(a);
    Tensor out = reduce_forward("norm", ReduceOp::Max, a, mask, keepdim);
    if (needs_grad(a)) {
      record("norm", out, {&a}, [sa = SavedTensor(a), so = SavedTensor(out), mask](const Tensor& g) -> std::vector<Tensor> {
        // As max(): ties within a reduced slice share its gradient equally.
        const Tensor& A = sa.get();
        Tensor hit = to_dtype(eq(A, expand_back(so.get(), A.shape(), mask)), g.dtype());
        Tensor share = div(reshape(g, keepdim_shape(A.shape(), mask)), sum_impl(hit, mask, true));
        return {mul(hit, expand(share, A.shape()))};
      });
    }
    return out;
  }
  if (p == 2.0) {
    Tensor out;
    {
      NoGradGuard no_grad;
      out = sqrt(sum_impl(square(x), mask, keepdim));
    }
    if (needs_grad(x)) {
      record("norm", out, {&x},
             [sx = SavedTensor(x), so = SavedTensor(out), mask](const Tensor& g) -> std::vector<Tensor> {
               // d||x||/dx = x / ||x||, taken as 0 where the norm is 0 (the subgradient PyTorch picks).
               const Tensor& X = sx.get();
               Tensor n = expand_back(so.get(), X.shape(), mask);
               Tensor safe = where(eq(n, 0.0), ones_like(n), n);
               return {mul(expand_back(g, X.shape(), mask), div(X, safe))};
             });
    }
    return out;
  }
  return pow(sum_impl(pow(abs(x), p), mask, keepdim), 1.0 / p);
}

Tensor sum_to(const Tensor& grad, const Shape& shape) {
  if (grad.shape() == shape) return grad;
  const int64_t nd = grad.dim(), extra = nd - static_cast<int64_t>(shape.size());
  STRATA_CHECK(extra >= 0, "sum_to: cannot sum shape ", shape_str(grad.shape()), " to the larger ", shape_str(shape));
  std::vector<int64_t> dims;
  for (int64_t d = 0; d < nd; ++d) {
    if (d < extra) {
      dims.push_back(d);
    } else {
      const int64_t target = shape[d - extra];
      STRATA_CHECK(target == grad.shape()[d] || target == 1, "sum_to: shape ", shape_str(grad.shape()),
                   " does not broadcast from ", shape_str(shape));
      if (target == 1 && grad.shape()[d] != 1) dims.push_back(d);
    }
  }
  Tensor s = dims.empty() ? grad : sum(grad, dims, true);
  return reshape(s, shape);
}

}  // namespace strata
