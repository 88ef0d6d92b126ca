#include "models/flows/flow_model.h"

#include "ops/ops.h"

namespace strata::models {

FlowModel::FlowModel(std::string name, int64_t dim, FlowSolverOptions solver)
    : nn::Module(name), name_(std::move(name)), dim_(dim) {
  STRATA_CHECK(dim >= 1, name_, ": the data dimension must be at least 1, got ", dim);
  set_solver(solver);
}

void FlowModel::set_solver(const FlowSolverOptions& solver) {
  solver.ode.validate(name_);
  solver_ = solver;
}

Tensor FlowModel::sample(int64_t n, Generator* gen) {
  STRATA_CHECK(n >= 1, name_, ".sample: n must be at least 1, got ", n);
  return from_noise(randn({n, dim_}, {parameter_dtype(), device()}, gen));
}

FlowSample FlowModel::sample_with_log_prob(int64_t n, Generator* gen) {
  STRATA_CHECK(n >= 1, name_, ".sample_with_log_prob: n must be at least 1, got ", n);
  return from_noise_with_log_prob(randn({n, dim_}, {parameter_dtype(), device()}, gen), gen);
}

DType FlowModel::parameter_dtype() const {
  const std::vector<Tensor> params = parameters();
  return params.empty() ? DType::Float32 : params[0].dtype();
}

void FlowModel::check_points(const Tensor& x, const char* method) const {
  STRATA_CHECK(x.defined() && x.dim() == 2 && x.size(1) == dim_, name_, ".", method, ": expected points [N, ", dim_,
               "], got ", x.defined() ? shape_str(x.shape()) : "an undefined tensor");
  STRATA_CHECK(is_floating(x.dtype()), name_, ".", method, ": expected floating-point points, got ",
               dtype_name(x.dtype()));
}

Tensor flow_matching_loss(const Tensor& predicted, const Tensor& target) {
  STRATA_CHECK(predicted.dim() == 2 && predicted.shape() == target.shape(),
               "flow_matching_loss: prediction and target must be [N, D] of one shape, got ",
               shape_str(predicted.shape()), " and ", shape_str(target.shape()));
  return div(sum(square(sub(predicted, target))), static_cast<double>(predicted.size(0)));
}

}  // namespace strata::models
