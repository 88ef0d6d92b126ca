#include "models/nn/module.h"

#include <set>

#include "engine/autograd.h"
#include "ops/elementwise.h"
#include "ops/shape.h"

namespace strata::nn {

Tensor Module::forward(const Tensor&) {
  throw Error(type_name_ + ": this module has no single-input forward(); call its own methods instead");
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [name, child] : children_) child->train(on);
}

template <class Fn>
void Module::visit(bool params, const std::string& prefix, Fn&& fn) const {
  for (const auto& [name, slot] : params ? params_ : buffers_) fn(prefix + name, *slot);
  for (const auto& [name, child] : children_) child->visit(params, prefix + name + ".", fn);
}

namespace {

// (name, tensor) pairs of the visited slots, each tensor once (the first name wins, as in PyTorch).
template <class Visit>
std::vector<std::pair<std::string, Tensor>> collect(Visit&& visit) {
  std::vector<std::pair<std::string, Tensor>> out;
  std::set<const TensorImpl*> seen;
  visit([&](const std::string& name, Tensor& t) {
    if (t.defined() && seen.insert(t.impl()).second) out.emplace_back(name, t);
  });
  return out;
}

std::vector<Tensor> values(const std::vector<std::pair<std::string, Tensor>>& named) {
  std::vector<Tensor> out;
  out.reserve(named.size());
  for (const auto& [name, t] : named) out.push_back(t);
  return out;
}

}  // namespace

std::vector<std::pair<std::string, Tensor>> Module::named_parameters() const {
  return collect([&](auto&& fn) { visit(true, "", fn); });
}

std::vector<std::pair<std::string, Tensor>> Module::named_buffers() const {
  return collect([&](auto&& fn) { visit(false, "", fn); });
}

std::vector<Tensor> Module::parameters() const { return values(named_parameters()); }
std::vector<Tensor> Module::buffers() const { return values(named_buffers()); }

std::vector<std::pair<std::string, std::shared_ptr<Module>>> Module::named_children() const {
  return children_;
}

StateDict Module::state_dict() const {
  StateDict out;
  auto add = [&](const std::string& name, Tensor& t) {
    if (t.defined()) out[name] = t.detach();
  };
  visit(true, "", add);
  visit(false, "", add);
  return out;
}

void Module::load_state_dict(const StateDict& state, bool strict) {
  std::vector<std::pair<std::string, Tensor*>> slots;
  auto gather = [&](const std::string& name, Tensor& t) { slots.emplace_back(name, &t); };
  visit(true, "", gather);
  visit(false, "", gather);

  // Check everything first so that a bad state leaves the module untouched.
  std::set<std::string> known;
  std::string missing;
  for (const auto& [name, slot] : slots) {
    known.insert(name);
    auto it = state.find(name);
    if (it == state.end()) {
      missing += (missing.empty() ? "" : ", ") + name;
      continue;
    }
    const Tensor& src = it->second;
    STRATA_CHECK(src.defined(), type_name_, ".load_state_dict: entry '", name, "' is undefined");
    STRATA_CHECK(src.shape() == slot->shape(), type_name_, ".load_state_dict: entry '", name, "' has shape ",
                 shape_str(src.shape()), " but the module expects ", shape_str(slot->shape()));
    STRATA_CHECK(src.dtype() == slot->dtype(), type_name_, ".load_state_dict: entry '", name, "' has dtype ",
                 dtype_name(src.dtype()), " but the module expects ", dtype_name(slot->dtype()),
                 " (convert the module with to() or the tensor with to_dtype())");
    STRATA_CHECK(src.device() == slot->device(), type_name_, ".load_state_dict: entry '", name, "' is on ",
                 src.device().str(), " but the module's tensor is on ", slot->device().str());
  }
  if (strict) {
    STRATA_CHECK(missing.empty(), type_name_, ".load_state_dict: missing entries: ", missing);
    std::string unexpected;
    for (const auto& [name, t] : state)
      if (!known.count(name)) unexpected += (unexpected.empty() ? "" : ", ") + name;
    STRATA_CHECK(unexpected.empty(), type_name_, ".load_state_dict: unexpected entries: ", unexpected);
  }

  NoGradGuard no_grad;
  for (const auto& [name, slot] : slots) {
    auto it = state.find(name);
    if (it != state.end()) copy_(*slot, it->second);
  }
}

void Module::zero_grad() {
  for (Tensor& p : parameters()) p.zero_grad();
}

void Module::to(DType dtype) {
  STRATA_CHECK(is_floating(dtype), type_name_, ".to: target dtype must be floating point, got ",
               dtype_name(dtype));
  NoGradGuard no_grad;
  // A tensor shared between modules must stay shared: convert each storage once.
  std::map<const TensorImpl*, Tensor> converted;
  auto convert = [&](bool is_param) {
    return [&, is_param](const std::string&, Tensor& t) {
      if (!t.defined() || !is_floating(t.dtype()) || t.dtype() == dtype) return;
      auto [it, fresh] = converted.try_emplace(t.impl());
      if (fresh) {
        it->second = to_dtype(t, dtype);
        if (is_param) it->second.set_requires_grad(true);
      }
      t = it->second;
    };
  };
  visit(true, "", convert(true));
  visit(false, "", convert(false));
}

void Module::to(Device device) {
  NoGradGuard no_grad;
  std::map<const TensorImpl*, Tensor> moved;  // shared tensors stay shared
  auto move = [&](bool is_param) {
    return [&, is_param](const std::string&, Tensor& t) {
      if (!t.defined() || t.device() == device) return;
      auto [it, fresh] = moved.try_emplace(t.impl());
      if (fresh) {
        it->second = to_device(t, device);
        if (is_param) it->second.set_requires_grad(true);
      }
      t = it->second;
    };
  };
  visit(true, "", move(true));
  visit(false, "", move(false));
}

Device Module::device() const {
  for (const Tensor& p : parameters())
    if (p.defined()) return p.device();
  for (const Tensor& b : buffers())
    if (b.defined()) return b.device();
  return Device::cpu();
}

void Module::check_new_name(const std::string& name) const {
  STRATA_CHECK(!name.empty() && name.find('.') == std::string::npos, type_name_, ": invalid name '", name,
               "' (names must be non-empty and contain no '.')");
  auto taken = [&](const auto& list) {
    for (const auto& entry : list)
      if (entry.first == name) return true;
    return false;
  };
  STRATA_CHECK(!taken(params_) && !taken(buffers_) && !taken(children_), type_name_, ": the name '", name,
               "' is already registered");
}

void Module::register_parameter(const std::string& name, Tensor& slot) {
  check_new_name(name);
  if (!slot.defined()) return;
  STRATA_CHECK(is_floating(slot.dtype()), type_name_, ": parameter '", name, "' must be floating point, got ",
               dtype_name(slot.dtype()));
  STRATA_CHECK(slot.is_leaf(), type_name_, ": parameter '", name, "' must be a leaf tensor (use detach())");
  slot.set_requires_grad(true);
  params_.emplace_back(name, &slot);
}

void Module::register_buffer(const std::string& name, Tensor& slot) {
  check_new_name(name);
  STRATA_CHECK(slot.defined(), type_name_, ": buffer '", name, "' is undefined");
  buffers_.emplace_back(name, &slot);
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> module) {
  check_new_name(name);
  STRATA_CHECK(module != nullptr, type_name_, ": submodule '", name, "' is null");
  STRATA_CHECK(module.get() != this, type_name_, ": a module cannot contain itself");
  module->train(training_);
  children_.emplace_back(name, std::move(module));
}

}  // namespace strata::nn
