#include "engine/optim/clip_grad.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/dispatch.h"

namespace strata::optim {

namespace {

// A one-dimensional view of a contiguous tensor's elements.
View flat_view(const Tensor& t) {
  View v = t.view();
  v.ndim = 1;
  v.shape[0] = t.numel();
  v.strides[0] = 1;
  return v;
}

// sum(|g|^p) (or max |g| when `inf`) over one gradient, as a double.
double grad_reduction(const Tensor& g, double p, bool inf) {
  Backend& be = backend_for(g.device());
  Tensor tmp = Tensor::empty({g.numel()}, g.dtype(), g.device());
  const View t = flat_view(tmp);
  be.unary(UnaryOp::Abs, flat_view(g), t, 0.0, 0.0);
  if (!inf) be.unary(p == 2.0 ? UnaryOp::Square : UnaryOp::PowScalar, t, t, p, 0.0);
  Tensor out = Tensor::empty({1}, g.dtype(), g.device());
  be.reduce(inf ? ReduceOp::Max : ReduceOp::Sum, t, 1u, out.view());
  return out.to_vector<double>()[0];
}

}  // namespace

double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, double norm_type) {
  const bool inf = std::isinf(norm_type) && norm_type > 0;
  STRATA_CHECK(inf || (std::isfinite(norm_type) && norm_type > 0),
               "clip_grad_norm_: norm_type must be > 0 or "
               "+infinity, got ",
               norm_type);
  STRATA_CHECK(std::isfinite(max_norm) && max_norm >= 0,
               "clip_grad_norm_: max_norm must be finite and >= 0, got ", max_norm);
  std::vector<Tensor> grads;
  for (size_t i = 0; i < params.size(); ++i) {
    STRATA_CHECK(params[i].defined(), "clip_grad_norm_: parameter ", i, " is undefined");
    const Tensor g = params[i].grad();
    if (!g.defined() || g.numel() == 0) continue;
    STRATA_CHECK(is_floating(g.dtype()) && g.is_contiguous(), "clip_grad_norm_: gradient of parameter ", i,
                 " (", dtype_name(g.dtype()), " ", shape_str(g.shape()),
                 ") must be a contiguous float tensor");
    grads.push_back(g);
  }
  double total = 0.0;
  for (const Tensor& g : grads) {
    const double r = grad_reduction(g, norm_type, inf);
    total = inf ? std::max(total, r) : total + r;
  }
  if (!inf) total = std::pow(total, 1.0 / norm_type);
  // The 1e-6 keeps a zero gradient from dividing by zero; PyTorch uses the same constant.
  const double coef = max_norm / (total + 1e-6);
  if (coef < 1.0) {
    for (const Tensor& g : grads) {
      const View v = flat_view(g);
      backend_for(g.device()).unary(UnaryOp::MulScalar, v, v, coef, 0.0);
      g.bump_version();
    }
  }
  return total;
}

}  // namespace strata::optim
