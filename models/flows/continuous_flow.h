// Moving points and densities along a velocity field's ODE dx/dt = v(x, t) (the building block of
// FM and of every LFM block).
//  - transport: x(t1) from x(t0) = x.
//  - transport_with_divergence: also the integral of div v along the path, the instantaneous change of
//    variables (Chen et al. 2018, Theorem 1) in integrated form:
//        log p_{t0}(x(t0)) = log p_{t1}(x(t1)) + int_{t0}^{t1} div v(x(t), t) dt,
//    solved as one ODE on the state [x, integral] ([N, D + 1]), so the adaptive solver controls the
//    error of both. Hutchinson's estimator uses one probe per example fixed along the whole path,
//    as FFJORD does (Grathwohl et al. 2019, sec. 3.1).
#pragma once

#include <string>

#include "engine/random.h"
#include "models/flows/ode_solver.h"
#include "models/flows/velocity_field.h"

namespace strata::models {

enum class DivergenceMethod { Auto, Exact, Hutchinson };

// "auto", "exact", "hutchinson".
std::string divergence_method_name(DivergenceMethod method);
DivergenceMethod parse_divergence_method(const std::string& name);
// Auto: exact up to kMaxExactDivergenceDim dimensions (D backward passes per evaluation), Hutchinson above.
constexpr int64_t kMaxExactDivergenceDim = 16;
DivergenceMethod resolve_divergence_method(DivergenceMethod method, int64_t dim);

struct TransportResult {
  Tensor x;                          // x(t1) [N, D]
  Tensor divergence_integral;        // int_{t0}^{t1} div v dt [N]; undefined from transport()
  int64_t function_evaluations = 0;  // evaluations of v (each also a divergence for the second form)
};

// Both run without recording a graph of the solve; x is not modified.
TransportResult transport(VelocityField& v, const Tensor& x, double t0, double t1, const OdeOptions& ode);
// gen: the Hutchinson probes (Rademacher); unused for the exact divergence.
TransportResult transport_with_divergence(VelocityField& v, const Tensor& x, double t0, double t1,
                                          const OdeOptions& ode, DivergenceMethod method, Generator* gen);

// log N(x; 0, I) per row of x [N, D]: -(D log(2 pi) + ||x||^2) / 2.
Tensor standard_normal_log_density(const Tensor& x);

}  // namespace strata::models
