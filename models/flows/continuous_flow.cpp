#include "models/flows/continuous_flow.h"

#include <cmath>
#include <numbers>

#include "models/flows/divergence.h"
#include "ops/ops.h"

namespace strata::models {

std::string divergence_method_name(DivergenceMethod method) {
  switch (method) {
    case DivergenceMethod::Auto: return "auto";
    case DivergenceMethod::Exact: return "exact";
    case DivergenceMethod::Hutchinson: return "hutchinson";
  }
  return "?";
}

DivergenceMethod parse_divergence_method(const std::string& name) {
  for (DivergenceMethod m : {DivergenceMethod::Auto, DivergenceMethod::Exact, DivergenceMethod::Hutchinson})
    if (divergence_method_name(m) == name) return m;
  throw Error("unknown divergence method \"" + name + "\" (valid: auto, exact, hutchinson)");
}

DivergenceMethod resolve_divergence_method(DivergenceMethod method, int64_t dim) {
  if (method != DivergenceMethod::Auto) return method;
  return dim <= kMaxExactDivergenceDim ? DivergenceMethod::Exact : DivergenceMethod::Hutchinson;
}

namespace {

void check_points(const VelocityField& v, const Tensor& x, const char* what) {
  STRATA_CHECK(x.dim() == 2 && x.size(1) == v.dim(), what, ": points must be [N, ", v.dim(), "] for this ",
               v.type_name(), ", got ", shape_str(x.shape()));
}

Tensor times_like(const Tensor& x, double t) { return full({x.size(0)}, t, {x.dtype(), x.device()}); }

}  // namespace

TransportResult transport(VelocityField& v, const Tensor& x, double t0, double t1, const OdeOptions& ode) {
  check_points(v, x, "transport");
  NoGradGuard no_grad;
  const OdeResult r = integrate_ode([&](const Tensor& s, double t) { return v.velocity(s, times_like(s, t)); },
                                    x.detach(), t0, t1, ode);
  return {r.x, Tensor(), r.function_evaluations};
}

TransportResult transport_with_divergence(VelocityField& v, const Tensor& x, double t0, double t1,
                                          const OdeOptions& ode, DivergenceMethod method, Generator* gen) {
  check_points(v, x, "transport_with_divergence");
  NoGradGuard no_grad;
  const int64_t n = x.size(0), d = x.size(1);
  const VelocityFunction field = [&](const Tensor& p, const Tensor& t) { return v.velocity(p, t); };
  const bool exact = resolve_divergence_method(method, d) == DivergenceMethod::Exact;
  const Tensor probes = exact ? Tensor() : divergence_probes(ProbeKind::Rademacher, 1, {n, d}, x.dtype(), gen, x.device());
  const auto augmented = [&](const Tensor& state, double t) {
    const Tensor p = narrow(state, 1, 0, d);
    const VelocityAndDivergence vd =
        exact ? exact_divergence(field, p, times_like(p, t)) : hutchinson_divergence(field, p, times_like(p, t), probes);
    return cat({vd.velocity, unsqueeze(vd.divergence, 1)}, 1);
  };
  const Tensor start = cat({x.detach(), zeros({n, 1}, {x.dtype(), x.device()})}, 1);
  const OdeResult r = integrate_ode(augmented, start, t0, t1, ode);
  return {contiguous(narrow(r.x, 1, 0, d)), contiguous(select(r.x, 1, d)), r.function_evaluations};
}

Tensor standard_normal_log_density(const Tensor& x) {
  STRATA_CHECK(x.dim() == 2, "standard_normal_log_density: x must be [N, D], got ", shape_str(x.shape()));
  const double d = static_cast<double>(x.size(1));
  return mul(add(sum(square(x), 1), d * std::log(2 * std::numbers::pi)), -0.5);
}

}  // namespace strata::models
