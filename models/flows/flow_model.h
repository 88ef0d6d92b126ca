// The interface of every flow model (FM, LFM): a training objective on data batches, sampling,
// and a public log_prob(x) in nats by the instantaneous change of variables (continuous_flow.h).
// Models trained in stages (LFM trains its blocks one after another, each on the data pushed
// through the blocks before it) say which stage an epoch belongs to and what data a stage trains
// on; the trainer switches stages only at epoch starts, so checkpoints resume exactly.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "engine/random.h"
#include "models/flows/continuous_flow.h"
#include "models/nn/module.h"

namespace strata::models {

// Named loss terms, the minimised total first (named "loss"); as in autoencoder.h.
using LossTerms = std::vector<std::pair<std::string, Tensor>>;

// How a flow model integrates: the ODE solver and the divergence for log_prob.
struct FlowSolverOptions {
  OdeOptions ode = {};
  DivergenceMethod divergence = DivergenceMethod::Auto;
};

// Samples with their log-density log p(x) [N] in nats, from one solve (sample_with_log_prob).
struct FlowSample {
  Tensor x;
  Tensor log_prob;
};

class FlowModel : public nn::Module {
 public:
  FlowModel(std::string name, int64_t dim, FlowSolverOptions solver);

  // Data x [N, D]; the noise (base samples, times, OU increments) is drawn from `gen`.
  virtual LossTerms loss(const Tensor& x, Generator* gen = nullptr) = 0;
  virtual std::vector<std::string> loss_names() const = 0;
  // n samples [n, D]: from_noise of base draws z ~ N(0, I) from `gen`.
  Tensor sample(int64_t n, Generator* gen = nullptr);
  // Along the flow from data to the N(0, I) base and back (each other's inverse up to the solver's error).
  virtual Tensor to_noise(const Tensor& x) = 0;
  virtual Tensor from_noise(const Tensor& z) = 0;
  // log p(x) per row of x [N, D], in nats; `gen` draws Hutchinson probes when they are used.
  virtual Tensor log_prob(const Tensor& x, Generator* gen = nullptr) = 0;
  // n samples and their log p(x), integrated along the generating path itself (the augmented ODE
  // of continuous_flow.h run from the base towards the data: log p(x(t1)) = log p(x(t0)) -
  // int_{t0}^{t1} div v dt), so the likelihood of a sample costs no second solve; it agrees with
  // log_prob(x) up to the solver's error. `gen` draws z, then any Hutchinson probes.
  FlowSample sample_with_log_prob(int64_t n, Generator* gen = nullptr);
  virtual FlowSample from_noise_with_log_prob(const Tensor& z, Generator* gen) = 0;

  // Staged training; one stage by default.
  virtual int64_t stage_of_epoch(int64_t /*epoch*/) const { return 0; }
  // Makes `stage` the trained one; `starting` is true only when its first step is next (not when a
  // run resumes inside it).
  virtual void set_stage(int64_t /*stage*/, bool /*starting*/) {}
  // The examples stage `stage` trains on, given the data.
  virtual Tensor stage_data(int64_t /*stage*/, const Tensor& data) { return data; }

  int64_t dim() const { return dim_; }
  const std::string& name() const { return name_; }
  const FlowSolverOptions& solver() const { return solver_; }
  void set_solver(const FlowSolverOptions& solver);
  // Velocity evaluations made by the last sample() or log_prob() call (summed over blocks).
  int64_t last_function_evaluations() const { return last_function_evaluations_; }

 protected:
  // The dtype of the parameters (float32 unless converted), for base draws.
  DType parameter_dtype() const;
  // x as [N, D]; throws naming the model and the method.
  void check_points(const Tensor& x, const char* method) const;
  int64_t last_function_evaluations_ = 0;

 private:
  std::string name_;
  int64_t dim_;
  FlowSolverOptions solver_;
};

// The mean over the batch of ||v(I_t, t) - dI_t/dt||^2 (summed over dimensions, as W3 defines it).
Tensor flow_matching_loss(const Tensor& predicted, const Tensor& target);

}  // namespace strata::models
