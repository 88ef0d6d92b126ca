// Numerical integration of dx/dt = f(x, t) from t0 to t1, forward (t1 > t0) or backward (t1 < t0)
// in time, for flows: sampling runs a velocity field's ODE one way, likelihoods the other.
//  - Euler (order 1), Heun (explicit trapezoid, order 2), classical RK4 (order 4): `steps` equal
//    steps, 1, 2 and 4 function evaluations each.
//  - Dopri5: the Dormand-Prince 5(4) embedded pair (Dormand & Prince 1980; the tableau and the step
//    control of Hairer, Norsett & Wanner, "Solving ODEs I", sec. II.4-5), adaptive, first-same-as-last.
//    A step is accepted when the RMS over all components of err_i / (atol + rtol max(|x_i|, |x_new_i|))
//    is at most 1; the next step is h * clamp(0.9 err^(-1/5), 0.2, 10). The first step is Hairer's
//    starting-step heuristic unless given.
// The state is one tensor of any shape (flows append the log-density as a column); f must return a
// tensor of the same shape and dtype. Every result reports its function evaluations.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "engine/tensor.h"

namespace strata::models {

enum class OdeMethod { Euler, Heun, Rk4, Dopri5 };

// "euler", "heun", "rk4", "dopri5".
std::string ode_method_name(OdeMethod method);
OdeMethod parse_ode_method(const std::string& name);

struct OdeOptions {
  OdeMethod method = OdeMethod::Dopri5;
  int64_t steps = 20;          // fixed-step methods: equal steps from t0 to t1
  double rtol = 1e-5;          // dopri5 (the LFM authors' public code samples with rtol = atol = 1e-5)
  double atol = 1e-5;
  double first_step = 0;       // dopri5: |h| of the first attempt; 0: Hairer's heuristic
  int64_t max_steps = 100000;  // dopri5: attempted steps before giving up with an error
  // Throws, naming `owner`, for non-positive steps or tolerances.
  void validate(const std::string& owner) const;
};

struct OdeResult {
  Tensor x;                          // the state at t1
  int64_t function_evaluations = 0;  // calls of f
  int64_t accepted_steps = 0;
  int64_t rejected_steps = 0;        // dopri5 only
};

using OdeFunction = std::function<Tensor(const Tensor& x, double t)>;

OdeResult integrate_ode(const OdeFunction& f, const Tensor& x0, double t0, double t1, const OdeOptions& options);

}  // namespace strata::models
