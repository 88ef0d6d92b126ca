// Parameter initialisation, as torch.nn.init. Each function overwrites `t` in place (under
// NoGradGuard, so parameters that require grad can be initialised), draws from `gen` (the default
// generator when null) and returns `t`.
#pragma once

#include <utility>

#include "engine/random.h"
#include "engine/tensor.h"

namespace strata::nn::init {

enum class Nonlinearity { Linear, Sigmoid, Tanh, Relu, LeakyRelu };
enum class FanMode { FanIn, FanOut };

// The gain that keeps activations' variance stable through `nonlinearity` (PyTorch's table):
// 1 for linear/sigmoid, 5/3 for tanh, sqrt(2) for relu, sqrt(2 / (1 + slope^2)) for leaky_relu.
double calculate_gain(Nonlinearity nonlinearity, double negative_slope = 0.01);
// (fan_in, fan_out) of a weight with at least 2 dims: size(1) and size(0) times the receptive
// field (the product of the remaining dims).
std::pair<int64_t, int64_t> calculate_fan_in_and_fan_out(const Tensor& t);

Tensor& uniform_(Tensor& t, double low = 0.0, double high = 1.0, Generator* gen = nullptr);
Tensor& normal_(Tensor& t, double mean = 0.0, double stddev = 1.0, Generator* gen = nullptr);
Tensor& constant_(Tensor& t, double value);
Tensor& zeros_(Tensor& t);
Tensor& ones_(Tensor& t);

// He et al. 2015: U(-b, b) with b = gain * sqrt(3 / fan), gain from `nonlinearity` with slope `a`.
Tensor& kaiming_uniform_(Tensor& t, double a = 0.0, FanMode mode = FanMode::FanIn,
                         Nonlinearity nonlinearity = Nonlinearity::LeakyRelu, Generator* gen = nullptr);
// He et al. 2015: N(0, std^2) with std = gain / sqrt(fan).
Tensor& kaiming_normal_(Tensor& t, double a = 0.0, FanMode mode = FanMode::FanIn,
                        Nonlinearity nonlinearity = Nonlinearity::LeakyRelu, Generator* gen = nullptr);
// Glorot & Bengio 2010: U(-b, b) with b = gain * sqrt(6 / (fan_in + fan_out)).
Tensor& xavier_uniform_(Tensor& t, double gain = 1.0, Generator* gen = nullptr);
// Glorot & Bengio 2010: N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out)).
Tensor& xavier_normal_(Tensor& t, double gain = 1.0, Generator* gen = nullptr);

// PyTorch's default for Linear and Conv layers: weight kaiming_uniform_(a = sqrt(5)), i.e.
// U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and bias (when defined) U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
void default_layer_init_(Tensor& weight, Tensor& bias, Generator* gen = nullptr);

}  // namespace strata::nn::init
