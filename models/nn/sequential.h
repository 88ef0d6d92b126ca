// Sequential: a chain of single-input modules applied in order, named "0", "1", ... as in PyTorch.
#pragma once

#include <memory>
#include <vector>

#include "models/nn/module.h"

namespace strata::nn {

class Sequential final : public Module {
 public:
  Sequential() : Module("Sequential") {}
  explicit Sequential(std::vector<std::shared_ptr<Module>> modules);
  Tensor forward(const Tensor& x) override;

  // Appends a module (it is named by its position).
  void push_back(std::shared_ptr<Module> module);
  size_t size() const { return layers_.size(); }
  const std::shared_ptr<Module>& operator[](size_t i) const;

 private:
  std::vector<std::shared_ptr<Module>> layers_;
};

}  // namespace strata::nn
