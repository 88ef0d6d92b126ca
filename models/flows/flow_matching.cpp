#include "models/flows/flow_matching.h"

#include <cmath>
#include <vector>

#include "ops/ops.h"

namespace strata::models {

namespace {

// The guided field of fixed labels and scale, as the ODE solver sees a velocity field.
class GuidedVelocity final : public VelocityField {
 public:
  GuidedVelocity(FlowMatching& fm, Tensor labels, double guidance_scale)
      : VelocityField("GuidedVelocity"), fm_(fm), labels_(std::move(labels)), w_(guidance_scale) {}
  Tensor velocity(const Tensor& x, const Tensor& t) override { return fm_.guided_velocity(x, t, labels_, w_); }
  int64_t dim() const override { return fm_.dim(); }

 private:
  FlowMatching& fm_;
  Tensor labels_;
  double w_;
};

}  // namespace

FlowMatching::FlowMatching(std::shared_ptr<VelocityField> velocity, FlowMatchingOptions options)
    : FlowModel("FM", velocity ? velocity->dim() : 0, options.solver), velocity_(std::move(velocity)),
      options_(options) {
  register_module("velocity", velocity_);
  STRATA_CHECK(options_.sinkhorn_epsilon > 0, "FM: sinkhorn_epsilon must be positive, got ", options_.sinkhorn_epsilon);
  STRATA_CHECK(options_.p_uncond >= 0 && options_.p_uncond <= 1, "FM: p_uncond must lie in [0, 1], got ",
               options_.p_uncond);
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

void FlowMatching::check_labels(const Tensor& labels, int64_t rows, const char* method) const {
  STRATA_CHECK(num_classes() > 0, "FM.", method, ": needs a class-conditional velocity field, but ",
               velocity_->type_name(), " has no classes");
  STRATA_CHECK(labels.defined() && labels.dim() == 1 && labels.dtype() == DType::Int64 && (rows < 0 || labels.size(0) == rows),
               "FM.", method, ": labels must be int64 [", rows < 0 ? std::string("N") : std::to_string(rows),
               "] (one per row), got ",
               labels.defined() ? std::string(dtype_name(labels.dtype())) + " " + shape_str(labels.shape())
                                : std::string("an undefined tensor"));
  for (int64_t c : labels.to_vector<int64_t>())
    STRATA_CHECK(c >= 0 && c <= num_classes(), "FM.", method, ": label ", c, " is outside 0..", num_classes(), " (",
                 num_classes(), " classes and the null label ", num_classes(), ")");
}

Tensor FlowMatching::drop_labels(const Tensor& labels, Generator* gen) const {
  check_labels(labels, -1, "drop_labels");
  std::vector<int64_t> kept = labels.to_vector<int64_t>();
  const std::vector<double> u = rand({labels.size(0)}, {DType::Float64}, gen).to_vector<double>();
  for (size_t i = 0; i < kept.size(); ++i)
    if (u[i] < options_.p_uncond) kept[i] = num_classes();
  return from_vector(kept, {labels.size(0)}, labels.device());
}

LossTerms FlowMatching::labelled_loss(const Tensor& x, const Tensor& labels, Generator* gen) {
  check_points(x, "labelled_loss");
  check_labels(labels, x.size(0), "labelled_loss");
  // Re-pairing would reorder the data rows away from their labels.
  STRATA_CHECK(options_.coupling == Coupling::Independent, "FM.labelled_loss: the conditional objective pairs noise and ",
               "data independently; coupling ", coupling_name(options_.coupling), " would separate rows from their labels");
  const int64_t n = x.size(0);
  const Tensor x0 = randn(x.shape(), {x.dtype(), x.device()}, gen);
  const Tensor t = rand({n}, {x.dtype(), x.device()}, gen);
  const Tensor dropped = drop_labels(labels, gen);
  const PathPoint p = interpolate(options_.interpolant, x0, x, t);
  return {{"loss", flow_matching_loss(velocity_->labelled_velocity(p.x, t, dropped), p.velocity)}};
}

Tensor FlowMatching::guided_velocity(const Tensor& x, const Tensor& t, const Tensor& labels, double guidance_scale) {
  check_points(x, "guided_velocity");
  check_labels(labels, x.size(0), "guided_velocity");
  STRATA_CHECK(std::isfinite(guidance_scale), "FM.guided_velocity: the guidance scale must be a number, got ",
               guidance_scale);
  if (guidance_scale == 1.0) return velocity_->labelled_velocity(x, t, labels);
  const Tensor null = full({x.size(0)}, static_cast<double>(num_classes()), {DType::Int64, x.device()});
  if (guidance_scale == 0.0) return velocity_->labelled_velocity(x, t, null);
  const int64_t n = x.size(0);
  const Tensor both = velocity_->labelled_velocity(cat({x, x}, 0), cat({reshape(t, {n}), reshape(t, {n})}, 0),
                                                   cat({labels, null}, 0));
  const Tensor conditional = narrow(both, 0, 0, n), unconditional = narrow(both, 0, n, n);
  return add(unconditional, mul(sub(conditional, unconditional), guidance_scale));
}

Tensor FlowMatching::labelled_from_noise(const Tensor& z, const Tensor& labels, double guidance_scale) {
  check_points(z, "labelled_from_noise");
  check_labels(labels, z.size(0), "labelled_from_noise");
  GuidedVelocity guided(*this, labels, guidance_scale);
  const TransportResult r = transport(guided, z, 0.0, 1.0, solver().ode);
  last_function_evaluations_ = r.function_evaluations;
  return r.x;
}

Tensor FlowMatching::labelled_sample(const Tensor& labels, double guidance_scale, Generator* gen) {
  check_labels(labels, -1, "labelled_sample");
  STRATA_CHECK(labels.size(0) >= 1, "FM.labelled_sample: needs at least one label, got none");
  return labelled_from_noise(randn({labels.size(0), dim()}, {parameter_dtype(), device()}, gen), labels, guidance_scale);
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

FlowSample FlowMatching::from_noise_with_log_prob(const Tensor& z, Generator* gen) {
  check_points(z, "from_noise_with_log_prob");
  const TransportResult r =
      transport_with_divergence(*velocity_, z, 0.0, 1.0, solver().ode, solver().divergence, gen);
  last_function_evaluations_ = r.function_evaluations;
  return {r.x, sub(standard_normal_log_density(z), r.divergence_integral)};
}

Tensor FlowMatching::log_prob(const Tensor& x, Generator* gen) {
  check_points(x, "log_prob");
  const TransportResult r =
      transport_with_divergence(*velocity_, x, 1.0, 0.0, solver().ode, solver().divergence, gen);
  last_function_evaluations_ = r.function_evaluations;
  return add(standard_normal_log_density(r.x), r.divergence_integral);
}

}  // namespace strata::models
