#include "models/flows/flow_matching.h"

#include "ops/ops.h"

namespace strata::models {

FlowMatching::FlowMatching(std::shared_ptr<VelocityField> velocity, FlowMatchingOptions options)
    : FlowModel("FM", velocity ? velocity->dim() : 0, options.solver), velocity_(std::move(velocity)),
      options_(options) {
  register_module("velocity", velocity_);
  STRATA_CHECK(options_.sinkhorn_epsilon > 0, "FM: sinkhorn_epsilon must be positive, got ", options_.sinkhorn_epsilon);
}

LossTerms FlowMatching::loss(const Tensor& x, Generator* gen) {
  check_points(x, "loss");
  const int64_t n = x.size(0);
  const Tensor x0 = randn(x.shape(), {x.dtype(), x.device()}, gen);
  const Tensor t = rand({n}, {x.dtype(), x.device()}, gen);
  const Tensor x1 = couple(options_.coupling, x0, x, gen, options_.sinkhorn_epsilon);
  const PathPoint p = interpolate(options_.interpolant, x0, x1, t);
  return {{"loss", flow_matching_loss(velocity_->velocity(p.x, t), p.velocity)}};
}

Tensor FlowMatching::to_noise(const Tensor& x) {
  check_points(x, "to_noise");
  const TransportResult r = transport(*velocity_, x, 1.0, 0.0, solver().ode);
  last_function_evaluations_ = r.function_evaluations;
  return r.x;
}

Tensor FlowMatching::from_noise(const Tensor& z) {
  check_points(z, "from_noise");
  const TransportResult r = transport(*velocity_, z, 0.0, 1.0, solver().ode);
  last_function_evaluations_ = r.function_evaluations;
  return r.x;
}

Tensor FlowMatching::log_prob(const Tensor& x, Generator* gen) {
  check_points(x, "log_prob");
  const TransportResult r =
      transport_with_divergence(*velocity_, x, 1.0, 0.0, solver().ode, solver().divergence, gen);
  last_function_evaluations_ = r.function_evaluations;
  return add(standard_normal_log_density(r.x), r.divergence_integral);
}

}  // namespace strata::models
