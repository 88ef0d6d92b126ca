#include "models/flows/ode_solver.h"

#include <algorithm>
#include <cmath>

#include "ops/ops.h"

namespace strata::models {

std::string ode_method_name(OdeMethod method) {
  switch (method) {
    case OdeMethod::Euler: return "euler";
    case OdeMethod::Heun: return "heun";
    case OdeMethod::Rk4: return "rk4";
    case OdeMethod::Dopri5: return "dopri5";
  }
  return "?";
}

OdeMethod parse_ode_method(const std::string& name) {
  for (OdeMethod m : {OdeMethod::Euler, OdeMethod::Heun, OdeMethod::Rk4, OdeMethod::Dopri5})
    if (ode_method_name(m) == name) return m;
  throw Error("unknown ODE solver \"" + name + "\" (valid: euler, heun, rk4, dopri5)");
}

void OdeOptions::validate(const std::string& owner) const {
  STRATA_CHECK(steps >= 1, owner, ": ODE solver steps must be at least 1, got ", steps);
  STRATA_CHECK(rtol > 0 && std::isfinite(rtol) && atol > 0 && std::isfinite(atol), owner,
               ": ODE tolerances must be positive numbers, got rtol ", rtol, " and atol ", atol);
  STRATA_CHECK(first_step >= 0 && std::isfinite(first_step), owner, ": first_step must be >= 0, got ", first_step);
  STRATA_CHECK(max_steps >= 1, owner, ": max_steps must be at least 1, got ", max_steps);
}

namespace {

// x + sum_i c_i k_i, skipping zero coefficients.
Tensor combine(const Tensor& x, std::initializer_list<std::pair<double, const Tensor*>> terms) {
  Tensor out = x;
  for (const auto& [c, k] : terms)
    if (c != 0.0) out = add(out, mul(*k, c));
  return out;
}

class CountedFunction {
 public:
  CountedFunction(const OdeFunction& f, const Tensor& like) : f_(f), like_(like) {}
  Tensor operator()(const Tensor& x, double t) {
    Tensor out = f_(x, t);
    STRATA_CHECK(out.defined() && out.shape() == like_.shape() && out.dtype() == like_.dtype(),
                 "integrate_ode: the function returned ", out.defined() ? shape_str(out.shape()) : "nothing",
                 " for a state of shape ", shape_str(like_.shape()), " (dtype ", dtype_name(like_.dtype()), ")");
    ++evaluations;
    return out;
  }
  int64_t evaluations = 0;

 private:
  const OdeFunction& f_;
  const Tensor& like_;
};

OdeResult fixed_steps(CountedFunction& f, const Tensor& x0, double t0, double t1, const OdeOptions& o) {
  const double h = (t1 - t0) / static_cast<double>(o.steps);
  Tensor x = x0;
  for (int64_t i = 0; i < o.steps; ++i) {
    const double t = t0 + h * static_cast<double>(i);
    switch (o.method) {
      case OdeMethod::Euler: {
        const Tensor k1 = f(x, t);
        x = combine(x, {{h, &k1}});
        break;
      }
      case OdeMethod::Heun: {
        const Tensor k1 = f(x, t);
        const Tensor k2 = f(combine(x, {{h, &k1}}), t + h);
        x = combine(x, {{h / 2, &k1}, {h / 2, &k2}});
        break;
      }
      case OdeMethod::Rk4: {
        const Tensor k1 = f(x, t);
        const Tensor k2 = f(combine(x, {{h / 2, &k1}}), t + h / 2);
        const Tensor k3 = f(combine(x, {{h / 2, &k2}}), t + h / 2);
        const Tensor k4 = f(combine(x, {{h, &k3}}), t + h);
        x = combine(x, {{h / 6, &k1}, {h / 3, &k2}, {h / 3, &k3}, {h / 6, &k4}});
        break;
      }
      case OdeMethod::Dopri5:
        break;
    }
  }
  return {x, f.evaluations, o.steps, 0};
}

// RMS of v / scale over all elements.
double rms_norm(const Tensor& v, const Tensor& scale) { return std::sqrt(mean(square(div(v, scale))).item<double>()); }

Tensor error_scale(const Tensor& a, const Tensor& b, const OdeOptions& o) {
  return add(mul(maximum(abs(a), abs(b)), o.rtol), o.atol);
}

// Hairer, Norsett & Wanner, "Solving ODEs I", sec. II.4, "Starting step size"; one evaluation of f.
double initial_step(CountedFunction& f, const Tensor& x0, const Tensor& f0, double t0, double direction,
                    const OdeOptions& o) {
  const Tensor scale = add(mul(abs(x0), o.rtol), o.atol);
  const double d0 = rms_norm(x0, scale), d1 = rms_norm(f0, scale);
  const double h0 = (d0 < 1e-5 || d1 < 1e-5) ? 1e-6 : 0.01 * d0 / d1;
  const Tensor f1 = f(combine(x0, {{direction * h0, &f0}}), t0 + direction * h0);
  const double d2 = rms_norm(sub(f1, f0), scale) / h0;
  const double dmax = std::max(d1, d2);
  const double h1 = dmax <= 1e-15 ? std::max(1e-6, h0 * 1e-3) : std::pow(0.01 / dmax, 1.0 / 5.0);
  return std::min(100 * h0, h1);
}

OdeResult dopri5(CountedFunction& f, const Tensor& x0, double t0, double t1, const OdeOptions& o) {
  // Dormand & Prince (1980), "A family of embedded Runge-Kutta formulae", Table 2 (RK5(4)7M).
  constexpr double c2 = 1.0 / 5, c3 = 3.0 / 10, c4 = 4.0 / 5, c5 = 8.0 / 9;
  constexpr double a21 = 1.0 / 5;
  constexpr double a31 = 3.0 / 40, a32 = 9.0 / 40;
  constexpr double a41 = 44.0 / 45, a42 = -56.0 / 15, a43 = 32.0 / 9;
  constexpr double a51 = 19372.0 / 6561, a52 = -25360.0 / 2187, a53 = 64448.0 / 6561, a54 = -212.0 / 729;
  constexpr double a61 = 9017.0 / 3168, a62 = -355.0 / 33, a63 = 46732.0 / 5247, a64 = 49.0 / 176,
                   a65 = -5103.0 / 18656;
  // Fifth-order weights (also row 7 of the tableau: first same as last).
  constexpr double b1 = 35.0 / 384, b3 = 500.0 / 1113, b4 = 125.0 / 192, b5 = -2187.0 / 6784, b6 = 11.0 / 84;
  // Fifth minus fourth order weights: the local error estimate.
  constexpr double e1 = b1 - 5179.0 / 57600, e3 = b3 - 7571.0 / 16695, e4 = b4 - 393.0 / 640,
                   e5 = b5 - -92097.0 / 339200, e6 = b6 - 187.0 / 2100, e7 = -1.0 / 40;

  OdeResult result;
  const double span = std::abs(t1 - t0), direction = t1 > t0 ? 1.0 : -1.0;
  Tensor x = x0;
  double t = t0;
  Tensor k1 = f(x, t);
  double h = o.first_step > 0 ? o.first_step : initial_step(f, x, k1, t, direction, o);
  int64_t attempts = 0;
  while (direction * (t1 - t) > 1e-12 * std::max(1.0, span)) {
    STRATA_CHECK(++attempts <= o.max_steps, "dopri5: no solution within ", o.max_steps, " steps (reached t = ", t,
                 " of ", t1, " with step ", h, "); loosen rtol/atol or check the velocity field");
    h = std::min(h, direction * (t1 - t));
    STRATA_CHECK(h > 1e-14 * std::max(1.0, std::abs(t)), "dopri5: step size underflow at t = ", t,
                 " (rtol ", o.rtol, ", atol ", o.atol, ")");
    const double s = direction * h;
    const Tensor k2 = f(combine(x, {{s * a21, &k1}}), t + s * c2);
    const Tensor k3 = f(combine(x, {{s * a31, &k1}, {s * a32, &k2}}), t + s * c3);
    const Tensor k4 = f(combine(x, {{s * a41, &k1}, {s * a42, &k2}, {s * a43, &k3}}), t + s * c4);
    const Tensor k5 = f(combine(x, {{s * a51, &k1}, {s * a52, &k2}, {s * a53, &k3}, {s * a54, &k4}}), t + s * c5);
    const Tensor k6 =
        f(combine(x, {{s * a61, &k1}, {s * a62, &k2}, {s * a63, &k3}, {s * a64, &k4}, {s * a65, &k5}}), t + s);
    const Tensor x_new = combine(x, {{s * b1, &k1}, {s * b3, &k3}, {s * b4, &k4}, {s * b5, &k5}, {s * b6, &k6}});
    const Tensor k7 = f(x_new, t + s);
    const Tensor err = combine(mul(k1, s * e1), {{s * e3, &k3}, {s * e4, &k4}, {s * e5, &k5}, {s * e6, &k6}, {s * e7, &k7}});
    const double err_norm = rms_norm(err, error_scale(x, x_new, o));
    STRATA_CHECK(std::isfinite(err_norm), "dopri5: the error estimate is not finite at t = ", t,
                 " (the velocity field produced NaN or infinity)");
    if (err_norm <= 1.0) {
      x = x_new;
      t = direction * (t1 - (t + s)) <= 0 ? t1 : t + s;
      k1 = k7;
      ++result.accepted_steps;
    } else {
      ++result.rejected_steps;
    }
    const double factor = err_norm == 0 ? 10.0 : std::clamp(0.9 * std::pow(err_norm, -0.2), 0.2, 10.0);
    h *= factor;
  }
  result.x = x;
  result.function_evaluations = f.evaluations;
  return result;
}

}  // namespace

OdeResult integrate_ode(const OdeFunction& f, const Tensor& x0, double t0, double t1, const OdeOptions& options) {
  options.validate("integrate_ode");
  STRATA_CHECK(x0.defined(), "integrate_ode: the initial state is undefined");
  STRATA_CHECK(std::isfinite(t0) && std::isfinite(t1), "integrate_ode: times must be finite, got ", t0, " and ", t1);
  CountedFunction counted(f, x0);
  if (t0 == t1) return {x0, 0, 0, 0};
  if (options.method == OdeMethod::Dopri5) return dopri5(counted, x0, t0, t1, options);
  return fixed_steps(counted, x0, t0, t1, options);
}

}  // namespace strata::models
