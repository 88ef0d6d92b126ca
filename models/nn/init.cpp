#include "models/nn/init.h"

#include <cmath>

#include "engine/autograd.h"
#include "engine/creation.h"
#include "ops/elementwise.h"

namespace strata::nn::init {

namespace {

void check_float(const char* fn, const Tensor& t) {
  STRATA_CHECK(t.defined(), fn, ": tensor is undefined");
  STRATA_CHECK(is_floating(t.dtype()), fn, ": expects a floating-point tensor, got ", dtype_name(t.dtype()),
               " with shape ", shape_str(t.shape()));
}

Tensor& overwrite(Tensor& t, const Tensor& values) {
  NoGradGuard no_grad;
  return copy_(t, values);
}

int64_t fan(const char* fn, const Tensor& t, FanMode mode) {
  check_float(fn, t);
  const auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(t);
  const int64_t f = mode == FanMode::FanIn ? fan_in : fan_out;
  STRATA_CHECK(f > 0, fn, ": tensor of shape ", shape_str(t.shape()), " has a zero fan");
  return f;
}

}  // namespace

double calculate_gain(Nonlinearity nonlinearity, double negative_slope) {
  switch (nonlinearity) {
    case Nonlinearity::Linear:
    case Nonlinearity::Sigmoid:
      return 1.0;
    case Nonlinearity::Tanh:
      return 5.0 / 3.0;
    case Nonlinearity::Relu:
      return std::sqrt(2.0);
    case Nonlinearity::LeakyRelu:
      return std::sqrt(2.0 / (1.0 + negative_slope * negative_slope));
  }
  return 1.0;
}

std::pair<int64_t, int64_t> calculate_fan_in_and_fan_out(const Tensor& t) {
  STRATA_CHECK(t.defined() && t.dim() >= 2,
               "calculate_fan_in_and_fan_out: needs a tensor with at least 2 dims, got ",
               t.defined() ? shape_str(t.shape()) : std::string("an undefined tensor"));
  int64_t receptive = 1;
  for (int64_t d = 2; d < t.dim(); ++d) receptive *= t.size(d);
  return {t.size(1) * receptive, t.size(0) * receptive};
}

Tensor& uniform_(Tensor& t, double low, double high, Generator* gen) {
  check_float("uniform_", t);
  STRATA_CHECK(low <= high, "uniform_: low (", low, ") must not exceed high (", high, ")");
  return overwrite(t, uniform(t.shape(), low, high, {t.dtype(), t.device()}, gen));
}

Tensor& normal_(Tensor& t, double mean, double stddev, Generator* gen) {
  check_float("normal_", t);
  STRATA_CHECK(stddev >= 0.0, "normal_: stddev must be >= 0, got ", stddev);
  return overwrite(t, normal(t.shape(), mean, stddev, {t.dtype(), t.device()}, gen));
}

Tensor& constant_(Tensor& t, double value) {
  check_float("constant_", t);
  NoGradGuard no_grad;
  return fill_(t, value);
}

Tensor& zeros_(Tensor& t) { return constant_(t, 0.0); }
Tensor& ones_(Tensor& t) { return constant_(t, 1.0); }

Tensor& kaiming_uniform_(Tensor& t, double a, FanMode mode, Nonlinearity nonlinearity, Generator* gen) {
  const double gain = calculate_gain(nonlinearity, a);
  const double bound = gain * std::sqrt(3.0 / static_cast<double>(fan("kaiming_uniform_", t, mode)));
  return uniform_(t, -bound, bound, gen);
}

Tensor& kaiming_normal_(Tensor& t, double a, FanMode mode, Nonlinearity nonlinearity, Generator* gen) {
  const double gain = calculate_gain(nonlinearity, a);
  return normal_(t, 0.0, gain / std::sqrt(static_cast<double>(fan("kaiming_normal_", t, mode))), gen);
}

Tensor& xavier_uniform_(Tensor& t, double gain, Generator* gen) {
  check_float("xavier_uniform_", t);
  const auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(t);
  const double bound = gain * std::sqrt(6.0 / static_cast<double>(fan_in + fan_out));
  return uniform_(t, -bound, bound, gen);
}

Tensor& xavier_normal_(Tensor& t, double gain, Generator* gen) {
  check_float("xavier_normal_", t);
  const auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(t);
  return normal_(t, 0.0, gain * std::sqrt(2.0 / static_cast<double>(fan_in + fan_out)), gen);
}

void default_layer_init_(Tensor& weight, Tensor& bias, Generator* gen) {
  kaiming_uniform_(weight, std::sqrt(5.0), FanMode::FanIn, Nonlinearity::LeakyRelu, gen);
  if (!bias.defined()) return;
  const int64_t fan_in = calculate_fan_in_and_fan_out(weight).first;
  const double bound = fan_in > 0 ? 1.0 / std::sqrt(static_cast<double>(fan_in)) : 0.0;
  uniform_(bias, -bound, bound, gen);
}

}  // namespace strata::nn::init
