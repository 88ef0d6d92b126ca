// The optimizer base: a list of parameter tensors, a learning rate and per-parameter state buffers.
// Optimizers update the raw parameter buffers through one fused backend kernel per parameter and
// record no graph; they bump each parameter's storage version so a graph that saved the old value
// refuses to backpropagate through it.
//
// State (buffers, per-parameter step counts, the step count and the learning rate) round-trips
// through state_dict()/load_state_dict() as named tensors, so a checkpoint resumes a run exactly.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace strata::optim {

using OptimizerState = std::map<std::string, Tensor>;

class Optimizer {
 public:
  // Every parameter must be a defined, contiguous, floating-point leaf on one device; each at most once.
  Optimizer(const char* name, std::vector<Tensor> params, double lr);
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  // One update of every parameter that has a gradient (parameters without one are skipped, as in PyTorch).
  void step();
  // Drops every parameter's gradient (PyTorch's set_to_none=True).
  void zero_grad();

  double lr() const { return lr_; }
  void set_lr(double lr);
  int64_t step_count() const { return step_count_; }
  const std::vector<Tensor>& params() const { return params_; }
  const char* name() const { return name_; }

  // Named tensors: "step" (int64), "lr" (float64), and per parameter i "i.step" and "i.<buffer>".
  OptimizerState state_dict() const;
  // Restores a state_dict() of an optimizer of the same kind over parameters of the same shapes.
  void load_state_dict(const OptimizerState& state);

 protected:
  // Updates parameter i with its gradient; `step` is that parameter's 1-based update count.
  virtual void update(size_t i, const Tensor& param, const Tensor& grad, int64_t step) = 0;
  // The names of the state buffers parameter i needs (e.g. exp_avg, exp_avg_sq).
  virtual std::vector<std::string> buffer_names() const = 0;
  // State buffer `name` of parameter i, created as zeros like the parameter on first use.
  Tensor& buffer(size_t i, const std::string& name);

 private:
  const char* name_;
  std::vector<Tensor> params_;
  double lr_;
  int64_t step_count_ = 0;
  std::vector<int64_t> param_steps_;
  std::vector<std::map<std::string, Tensor>> buffers_;
};

}  // namespace strata::optim
