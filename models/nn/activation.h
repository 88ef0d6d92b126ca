// Activation functions as modules, for use inside Sequential; each forwards to the op of the same
// name in ops/activation.h.
#pragma once

#include "models/nn/module.h"

namespace strata::nn {

class ReLU final : public Module {
 public:
  ReLU() : Module("ReLU") {}
  Tensor forward(const Tensor& x) override;
};

class LeakyReLU final : public Module {
 public:
  explicit LeakyReLU(double negative_slope = 0.01) : Module("LeakyReLU"), negative_slope_(negative_slope) {}
  Tensor forward(const Tensor& x) override;

 private:
  double negative_slope_;
};

class ELU final : public Module {
 public:
  explicit ELU(double alpha = 1.0) : Module("ELU"), alpha_(alpha) {}
  Tensor forward(const Tensor& x) override;

 private:
  double alpha_;
};

class GELU final : public Module {  // exact (erf) form
 public:
  GELU() : Module("GELU") {}
  Tensor forward(const Tensor& x) override;
};

class SiLU final : public Module {
 public:
  SiLU() : Module("SiLU") {}
  Tensor forward(const Tensor& x) override;
};

class Sigmoid final : public Module {
 public:
  Sigmoid() : Module("Sigmoid") {}
  Tensor forward(const Tensor& x) override;
};

class Tanh final : public Module {
 public:
  Tanh() : Module("Tanh") {}
  Tensor forward(const Tensor& x) override;
};

class Softplus final : public Module {  // log(1 + exp(x)), PyTorch's beta = 1
 public:
  Softplus() : Module("Softplus") {}
  Tensor forward(const Tensor& x) override;
};

}  // namespace strata::nn
