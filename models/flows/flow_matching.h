// Global flow matching (Lipman et al., ICLR 2023, "Flow Matching for Generative Modeling", eq. 5
// with the conditional paths of probability_path.h; rectified flow, Liu et al. 2023, for the linear
// path): one velocity network carries noise x0 ~ N(0, I) at t = 0 to data x1 at t = 1. Per batch of
// data x1, with x0 ~ N(0, I) (optionally re-paired by a minibatch OT coupling, coupling.h) and
// t ~ U(0, 1):   loss = mean_i || v(I_t, t) - dI_t/dt ||^2.
// Sampling solves dx/dt = v from t = 0 to 1; log_prob solves it backward from the data point with
// the divergence integral: log p(x) = log N(x(0); 0, I) + int_1^0 div v dt (continuous_flow.h).
// The baseline of the Local Flow Matching paper (Xu, Cheng & Xie 2024).
//
// Classifier-free guidance (Ho & Salimans 2022, "Classifier-Free Diffusion Guidance"), for a
// class-conditional velocity field (num_classes() = K > 0, labels 0..K-1 and the null label K): one
// network learns the conditional field v(x, t | c) and the unconditional v(x, t | null) together,
// labelled_loss replacing each training label by the null label with probability p_uncond (the
// paper's 0.1). labelled_sample integrates the guided field
//     v_w(x, t | c) = v(x, t | null) + w (v(x, t | c) - v(x, t | null)),
// so w = 1 is the plain conditional field, w = 0 the unconditional one and w > 1 guides harder. (The
// paper writes (1 + w') eps(z, c) - w' eps(z): its w' is our w - 1.) Without labels (loss,
// sample, log_prob) a conditional field is used with the null label, i.e. unconditionally.
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
  double p_uncond = 0.1;  // labelled_loss: probability of training a row with the null label
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
  FlowSample from_noise_with_log_prob(const Tensor& z, Generator* gen) override;

  // Classifier-free guidance (conditional velocity fields only). labels: int64 [N] in 0..num_classes().
  int64_t num_classes() const { return velocity_->num_classes(); }
  // {"loss"}: the flow-matching loss of v(I_t, t | drop_labels(labels)).
  LossTerms labelled_loss(const Tensor& x, const Tensor& labels, Generator* gen = nullptr);
  // Each label replaced by the null label num_classes() with probability p_uncond (uniforms from gen).
  Tensor drop_labels(const Tensor& labels, Generator* gen = nullptr) const;
  // v(x, t | null) + w (v(x, t | labels) - v(x, t | null)); exactly v(x, t | labels) for w = 1 and
  // v(x, t | null) for w = 0 (one evaluation each), otherwise both in one batch of 2N rows.
  Tensor guided_velocity(const Tensor& x, const Tensor& t, const Tensor& labels, double guidance_scale);
  // from_noise along the guided field; labelled_sample draws z ~ N(0, I) [N, D] from gen first.
  Tensor labelled_from_noise(const Tensor& z, const Tensor& labels, double guidance_scale);
  Tensor labelled_sample(const Tensor& labels, double guidance_scale, Generator* gen = nullptr);

  VelocityField& velocity() { return *velocity_; }
  const FlowMatchingOptions& options() const { return options_; }

 private:
  // labels int64 [rows] (rows < 0: any number) in 0..num_classes(); throws naming `method`.
  void check_labels(const Tensor& labels, int64_t rows, const char* method) const;

  std::shared_ptr<VelocityField> velocity_;
  FlowMatchingOptions options_;
};

}  // namespace strata::models
