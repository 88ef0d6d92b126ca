#include "models/flows/probability_path.h"

#include <cmath>
#include <numbers>
#include <vector>

#include "ops/ops.h"

namespace strata::models {

std::string interpolant_name(Interpolant kind) { return kind == Interpolant::Linear ? "linear" : "trig"; }

Interpolant parse_interpolant(const std::string& name) {
  if (name == "linear") return Interpolant::Linear;
  if (name == "trig") return Interpolant::Trig;
  throw Error("unknown interpolant \"" + name + "\" (valid: linear, trig)");
}

PathPoint interpolate(Interpolant kind, const Tensor& x0, const Tensor& x1, const Tensor& t) {
  STRATA_CHECK(x0.dim() == 2 && x0.shape() == x1.shape(), "interpolate: x0 and x1 must be [N, D] of one shape, got ",
               shape_str(x0.shape()), " and ", shape_str(x1.shape()));
  STRATA_CHECK(t.numel() == x0.size(0), "interpolate: one time per row expected: x0 ", shape_str(x0.shape()), ", t ",
               shape_str(t.shape()));
  const Tensor tc = reshape(to_dtype(t, x0.dtype()), {x0.size(0), 1});
  if (kind == Interpolant::Linear) return {add(mul(rsub(1.0, tc), x0), mul(tc, x1)), sub(x1, x0)};
  // cos and sin of the times on the host: t carries no gradient.
  const std::vector<double> times = tc.to_vector<double>();
  std::vector<double> c(times.size()), s(times.size());
  for (size_t i = 0; i < times.size(); ++i) {
    c[i] = std::cos(std::numbers::pi / 2 * times[i]);
    s[i] = std::sin(std::numbers::pi / 2 * times[i]);
  }
  const Shape column{x0.size(0), 1};
  const Tensor cos_t = to_dtype(from_vector(c, column, x0.device()), x0.dtype());
  const Tensor sin_t = to_dtype(from_vector(s, column, x0.device()), x0.dtype());
  return {add(mul(cos_t, x0), mul(sin_t, x1)), mul(sub(mul(cos_t, x1), mul(sin_t, x0)), std::numbers::pi / 2)};
}

Tensor ou_step(const Tensor& x, double h, Generator* gen) {
  STRATA_CHECK(h > 0 && std::isfinite(h), "ou_step: the step size must be a positive number, got ", h);
  const Tensor z = randn(x.shape(), {x.dtype(), x.device()}, gen);
  return add(mul(x, std::exp(-h)), mul(z, std::sqrt(-std::expm1(-2 * h))));
}

}  // namespace strata::models
