#include "models/flows/divergence.h"

#include <vector>

#include "engine/autograd.h"
#include "ops/ops.h"

namespace strata::models {

namespace {

void check_points(const char* op, const Tensor& x, const Tensor& t) {
  STRATA_CHECK(x.dim() == 2 && x.size(1) >= 1, op, ": x must be [N, D], got ", shape_str(x.shape()));
  STRATA_CHECK(is_floating(x.dtype()), op, ": x must be floating point, got ", dtype_name(x.dtype()));
  STRATA_CHECK(t.numel() == x.size(0), op, ": one time per row expected: x ", shape_str(x.shape()), ", t ",
               shape_str(t.shape()));
}

Tensor checked_velocity(const char* op, const VelocityFunction& v, const Tensor& x, const Tensor& t) {
  Tensor out = v(x, t);
  STRATA_CHECK(out.shape() == x.shape(), op, ": the velocity has shape ", shape_str(out.shape()), " for x of shape ",
               shape_str(x.shape()));
  STRATA_CHECK(out.requires_grad(), op, ": the velocity does not depend on x through the graph");
  return out;
}

}  // namespace

VelocityAndDivergence exact_divergence(const VelocityFunction& v, const Tensor& x, const Tensor& t) {
  check_points("exact_divergence", x, t);
  GradEnabledGuard grad_on;  // evaluation and sampling run under NoGradGuard
  const Tensor leaf = x.detach().set_requires_grad(true);
  const Tensor out = checked_velocity("exact_divergence", v, leaf, t);
  const int64_t d = x.size(1);
  Tensor divergence = zeros({x.size(0)}, {x.dtype(), x.device()});
  for (int64_t i = 0; i < d; ++i) {
    // Row i of each example's Jacobian: d v_i / d x; its i-th entry is a diagonal entry.
    std::vector<double> basis(static_cast<size_t>(x.numel()), 0.0);
    for (int64_t r = 0; r < x.size(0); ++r) basis[r * d + i] = 1.0;
    const Tensor e_i = to_dtype(from_vector(basis, x.shape(), x.device()), x.dtype());
    const Tensor row = autograd::grad({out}, {leaf}, {e_i}, /*retain_graph=*/i + 1 < d)[0];
    divergence = add(divergence, select(row, 1, i));
  }
  return {out.detach(), divergence.detach()};
}

VelocityAndDivergence hutchinson_divergence(const VelocityFunction& v, const Tensor& x, const Tensor& t,
                                            const Tensor& probes) {
  check_points("hutchinson_divergence", x, t);
  STRATA_CHECK(probes.dim() == 3 && probes.size(0) >= 1 && probes.size(1) == x.size(0) && probes.size(2) == x.size(1),
               "hutchinson_divergence: probes must be [K, ", x.size(0), ", ", x.size(1), "] for x of shape ",
               shape_str(x.shape()), ", got ", shape_str(probes.shape()));
  STRATA_CHECK(probes.dtype() == x.dtype(), "hutchinson_divergence: probes are ", dtype_name(probes.dtype()),
               " but x is ", dtype_name(x.dtype()));
  GradEnabledGuard grad_on;  // evaluation and sampling run under NoGradGuard
  const Tensor leaf = x.detach().set_requires_grad(true);
  const Tensor out = checked_velocity("hutchinson_divergence", v, leaf, t);
  const int64_t k = probes.size(0);
  Tensor total = zeros({x.size(0)}, {x.dtype(), x.device()});
  for (int64_t j = 0; j < k; ++j) {
    const Tensor eps = contiguous(select(probes, 0, j));
    const Tensor eps_j = autograd::grad({out}, {leaf}, {eps}, /*retain_graph=*/j + 1 < k)[0];  // eps^T J
    total = add(total, sum(mul(eps_j, eps), 1));
  }
  return {out.detach(), div(total, static_cast<double>(k)).detach()};
}

Tensor divergence_probes(ProbeKind kind, int64_t k, const Shape& shape, DType dtype, Generator* gen, Device device) {
  STRATA_CHECK(k >= 1, "divergence_probes: need at least one probe, got ", k);
  Shape full_shape{k};
  full_shape.insert(full_shape.end(), shape.begin(), shape.end());
  if (kind == ProbeKind::Gaussian) return randn(full_shape, {dtype, device}, gen);
  return sub(mul(bernoulli(full_shape, 0.5, {dtype, device}, gen), 2.0), 1.0);
}

}  // namespace strata::models
