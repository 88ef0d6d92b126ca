// nn::Module: the base of every layer and model. A module owns named parameters (leaf tensors that
// require grad), named buffers (state that is saved but not trained, e.g. BatchNorm's running
// statistics) and named submodules; everything recursive (parameters, state_dict, train/eval, to)
// walks that tree and names entries with dotted paths such as "encoder.0.weight", as PyTorch does.
//
// A layer keeps its tensors as ordinary members and registers their addresses, so both the layer's
// own code and the generic walks see the same handle (to(DType) replaces it in place). Modules
// therefore never move: they are created with std::make_shared and held by std::shared_ptr.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/tensor.h"

namespace strata::nn {

using StateDict = std::map<std::string, Tensor>;

class Module {
 public:
  explicit Module(std::string type_name) : type_name_(std::move(type_name)) {}
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // The module's computation for one input; modules with other signatures define their own
  // methods and leave this one throwing.
  virtual Tensor forward(const Tensor& x);
  Tensor operator()(const Tensor& x) { return forward(x); }

  const std::string& type_name() const { return type_name_; }

  // Training mode (the default) or evaluation mode, for this module and every submodule.
  void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }

  // Recursive, in registration order, each tensor once even when shared between modules.
  std::vector<Tensor> parameters() const;
  std::vector<std::pair<std::string, Tensor>> named_parameters() const;
  std::vector<Tensor> buffers() const;
  std::vector<std::pair<std::string, Tensor>> named_buffers() const;
  // Direct submodules only.
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_children() const;

  // Parameters and buffers by dotted name; the tensors share storage with the module's (detached).
  StateDict state_dict() const;
  // Copies values into the module's tensors. Shapes and dtypes must match exactly; with `strict`,
  // names missing from `state` or unknown to the module are errors too (otherwise ignored).
  void load_state_dict(const StateDict& state, bool strict = true);

  // Drops the gradient of every parameter.
  void zero_grad();
  // Converts every floating-point parameter and buffer to `dtype` (float64 for gradient checks).
  // Optimizers hold tensor handles, so convert before creating one.
  void to(DType dtype);
  // Moves every parameter and buffer to `device` (module.to(device) in PyTorch). Parameters stay
  // leaves that require grad; as with to(DType), create optimizers after moving.
  void to(Device device);
  // The device of the first parameter or buffer (the CPU for a module without tensors).
  Device device() const;

 protected:
  // Registers a tensor member as a parameter (it becomes a leaf that requires grad). Undefined
  // tensors (an absent bias) are not registered.
  void register_parameter(const std::string& name, Tensor& slot);
  void register_buffer(const std::string& name, Tensor& slot);
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
    add_child(name, module);
    return module;
  }

 private:
  void check_new_name(const std::string& name) const;
  void add_child(const std::string& name, std::shared_ptr<Module> module);
  // Calls fn(dotted name, slot) for every parameter (or buffer) slot in the tree.
  template <class Fn>
  void visit(bool params, const std::string& prefix, Fn&& fn) const;

  std::string type_name_;
  bool training_ = true;
  std::vector<std::pair<std::string, Tensor*>> params_;
  std::vector<std::pair<std::string, Tensor*>> buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
};

}  // namespace strata::nn
