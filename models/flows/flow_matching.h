// Global flow matching (Lipman et al., ICLR 2023, "Flow Matching for Generative Modeling", eq. 5
// with the conditional paths of probability_path.h; rectified flow, Liu et al. 2023, for the linear
// path): one velocity network carries noise x0 ~ N(0, I) at t = 0 to data x1 at t = 1. Per batch of
// data x1, with x0 ~ N(0, I) (optionally re-paired by a minibatch OT coupling, coupling.h) and
// t ~ U(0, 1):   loss = mean_i || v(I_t, t) - dI_t/dt ||^2.
// Sampling solves dx/dt = v from t = 0 to 1; log_prob solves it backward from the data point with
// the divergence integral: log p(x) = log N(x(0); 0, I) + int_1^0 div v dt (continuous_flow.h).
// The baseline of the Local Flow Matching paper (Xu, Cheng & Xie 2024).
#pragma once

#include <memory>

#include "models/flows/coupling.h"
#include "models/flows/flow_model.h"
#include "models/flows/probability_path.h"
#include "models/flows/velocity_field.h"

namespace strata::models {

struct FlowMatchingOptions {
  Interpolant interpolant = Interpolant::Linear;
  Coupling coupling = Coupling::Independent;
  double sinkhorn_epsilon = 0.05;  // relative to the largest pair cost (sinkhorn.h)
  FlowSolverOptions solver = {};
};

class FlowMatching final : public FlowModel {
 public:
  FlowMatching(std::shared_ptr<VelocityField> velocity, FlowMatchingOptions options = {});
  // {"loss"}.
  LossTerms loss(const Tensor& x, Generator* gen = nullptr) override;
  std::vector<std::string> loss_names() const override { return {"loss"}; }
  Tensor to_noise(const Tensor& x) override;    // t: 1 -> 0
  Tensor from_noise(const Tensor& z) override;  // t: 0 -> 1
  Tensor log_prob(const Tensor& x, Generator* gen = nullptr) override;

  VelocityField& velocity() { return *velocity_; }
  const FlowMatchingOptions& options() const { return options_; }

 private:
  std::shared_ptr<VelocityField> velocity_;
  FlowMatchingOptions options_;
};

}  // namespace strata::models
