#include "engine/optim/optimizer.h"

#include <cmath>
#include <set>

#include "engine/autograd.h"
#include "engine/creation.h"
#include "engine/dispatch.h"

namespace strata::optim {

namespace {

// A fresh contiguous copy on the same device (state must not alias the caller's tensors).
Tensor copy_of(const Tensor& t) {
  Tensor out = Tensor::empty(t.shape(), t.dtype(), t.device());
  backend_for(t.device()).copy(t.view(), out.view());
  return out;
}

// The single value of a 0-dim or one-element state entry, checked.
template <class T>
T scalar_entry(const char* opt, const OptimizerState& state, const std::string& key, DType dtype) {
  auto it = state.find(key);
  STRATA_CHECK(it != state.end() && it->second.defined(), opt, ".load_state_dict: missing entry '", key, "'");
  STRATA_CHECK(it->second.numel() == 1 && it->second.dtype() == dtype, opt, ".load_state_dict: entry '", key,
               "' must be one ", dtype_name(dtype), " value, got ", dtype_name(it->second.dtype()),
               " of shape ", shape_str(it->second.shape()));
  return it->second.item<T>();
}

}  // namespace

Optimizer::Optimizer(const char* name, std::vector<Tensor> params, double lr)
    : name_(name), params_(std::move(params)), lr_(lr) {
  STRATA_CHECK(!params_.empty(), name_, ": got an empty parameter list");
  set_lr(lr);
  std::set<const TensorImpl*> seen;
  for (size_t i = 0; i < params_.size(); ++i) {
    const Tensor& p = params_[i];
    STRATA_CHECK(p.defined(), name_, ": parameter ", i, " is undefined");
    STRATA_CHECK(is_floating(p.dtype()), name_, ": parameter ", i, " must be floating point, got ",
                 dtype_name(p.dtype()), " of shape ", shape_str(p.shape()));
    STRATA_CHECK(p.is_leaf(), name_, ": parameter ", i, " of shape ", shape_str(p.shape()),
                 " is not a leaf (it is the output of '", p.grad_fn() ? p.grad_fn()->name() : "", "')");
    STRATA_CHECK(p.is_contiguous(), name_, ": parameter ", i, " of shape ", shape_str(p.shape()),
                 " is not contiguous; optimizers update flat buffers");
    STRATA_CHECK(p.device() == params_[0].device(), name_, ": parameter ", i, " is on ", p.device().str(),
                 " but parameter 0 is on ", params_[0].device().str());
    STRATA_CHECK(seen.insert(p.impl()).second, name_, ": parameter ", i, " of shape ", shape_str(p.shape()),
                 " appears more than once");
  }
  param_steps_.assign(params_.size(), 0);
  buffers_.resize(params_.size());
}

void Optimizer::set_lr(double lr) {
  STRATA_CHECK(std::isfinite(lr) && lr >= 0.0, name_, ": learning rate must be finite and >= 0, got ", lr);
  lr_ = lr;
}

void Optimizer::step() {
  NoGradGuard no_grad;
  for (size_t i = 0; i < params_.size(); ++i) {
    const Tensor& p = params_[i];
    const Tensor g = p.grad();
    if (!g.defined()) continue;
    STRATA_CHECK(g.shape() == p.shape() && g.dtype() == p.dtype() && g.device() == p.device(), name_,
                 ": gradient of parameter ", i, " is ", dtype_name(g.dtype()), " ", shape_str(g.shape()),
                 " on ", g.device().str(), " but the parameter is ", dtype_name(p.dtype()), " ",
                 shape_str(p.shape()), " on ", p.device().str());
    STRATA_CHECK(g.is_contiguous(), name_, ": gradient of parameter ", i, " of shape ", shape_str(g.shape()),
                 " is not contiguous");
    update(i, p, g, ++param_steps_[i]);
    p.bump_version();
  }
  ++step_count_;
}

void Optimizer::zero_grad() {
  for (Tensor& p : params_) p.zero_grad();
}

Tensor& Optimizer::buffer(size_t i, const std::string& name) {
  Tensor& b = buffers_[i][name];
  if (!b.defined()) b = zeros_like(params_[i]);
  return b;
}

OptimizerState Optimizer::state_dict() const {
  OptimizerState state;
  state["step"] = scalar_tensor(static_cast<double>(step_count_), {DType::Int64});
  state["lr"] = scalar_tensor(lr_, {DType::Float64});
  for (size_t i = 0; i < params_.size(); ++i) {
    const std::string prefix = std::to_string(i) + ".";
    state[prefix + "step"] = scalar_tensor(static_cast<double>(param_steps_[i]), {DType::Int64});
    for (const auto& [name, b] : buffers_[i]) state[prefix + name] = copy_of(b);
  }
  return state;
}

void Optimizer::load_state_dict(const OptimizerState& state) {
  const std::vector<std::string> names = buffer_names();
  std::set<std::string> known = {"step", "lr"};
  // Validate everything before changing anything, so a bad checkpoint leaves the optimizer intact.
  const auto step = scalar_entry<int64_t>(name_, state, "step", DType::Int64);
  const double lr = scalar_entry<double>(name_, state, "lr", DType::Float64);
  std::vector<int64_t> steps(params_.size());
  std::vector<std::map<std::string, Tensor>> buffers(params_.size());
  for (size_t i = 0; i < params_.size(); ++i) {
    const std::string prefix = std::to_string(i) + ".";
    known.insert(prefix + "step");
    steps[i] = scalar_entry<int64_t>(name_, state, prefix + "step", DType::Int64);
    STRATA_CHECK(steps[i] >= 0, name_, ".load_state_dict: entry '", prefix, "step' is negative (", steps[i],
                 ")");
    for (const std::string& n : names) {
      const std::string key = prefix + n;
      known.insert(key);
      auto it = state.find(key);
      STRATA_CHECK((it != state.end()) == (steps[i] > 0), name_, ".load_state_dict: entry '", key, "' ",
                   steps[i] > 0 ? "is missing for a parameter that has taken steps"
                                : "is present for a parameter that has taken no step");
      if (it == state.end()) continue;
      const Tensor& t = it->second;
      const Tensor& p = params_[i];
      STRATA_CHECK(t.defined() && t.shape() == p.shape() && t.dtype() == p.dtype(), name_,
                   ".load_state_dict: entry '", key, "' is ",
                   t.defined() ? dtype_name(t.dtype()) : "undefined", " ",
                   t.defined() ? shape_str(t.shape()) : "", " but parameter ", i, " is ",
                   dtype_name(p.dtype()), " ", shape_str(p.shape()));
      STRATA_CHECK(t.device() == p.device(), name_, ".load_state_dict: entry '", key, "' is on ",
                   t.device().str(), " but parameter ", i, " is on ", p.device().str());
      buffers[i][n] = copy_of(t);
    }
  }
  for (const auto& [key, value] : state)
    STRATA_CHECK(
        known.count(key), name_, ".load_state_dict: unexpected entry '", key, "' (this ", name_, " has ",
        params_.size(), " parameters and buffers {",
        [&] {
          std::string s;
          for (const std::string& n : names) s += (s.empty() ? "" : ", ") + n;
          return s;
        }(),
        "})");
  STRATA_CHECK(step >= 0, name_, ".load_state_dict: entry 'step' is negative (", step, ")");
  set_lr(lr);
  step_count_ = step;
  param_steps_ = std::move(steps);
  buffers_ = std::move(buffers);
}

}  // namespace strata::optim
