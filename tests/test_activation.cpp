// Activations, softmax, log_softmax and logsumexp: closed-form values, stability at extremes,
// gradients (contiguous, strided, every softmax dim) and bad input.
#include <cmath>
#include <functional>
#include <limits>
#include <tuple>

#include "test_helpers.h"

using namespace strata;
using namespace strata::test;

namespace {

double ref_sigmoid(double x) { return 1 / (1 + std::exp(-x)); }

struct Activation {
  const char* name;
  std::function<Tensor(const Tensor&)> op;
  std::function<double(double)> ref;
};

std::vector<Activation> activations() {
  return {
      {"relu", [](const Tensor& t) { return relu(t); }, [](double x) { return x > 0 ? x : 0; }},
      {"leaky_relu", [](const Tensor& t) { return leaky_relu(t, 0.1); }, [](double x) { return x > 0 ? x : 0.1 * x; }},
      {"elu", [](const Tensor& t) { return elu(t, 1.5); }, [](double x) { return x > 0 ? x : 1.5 * std::expm1(x); }},
      {"gelu", [](const Tensor& t) { return gelu(t); },
       [](double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); }},
      {"silu", [](const Tensor& t) { return silu(t); }, [](double x) { return x * ref_sigmoid(x); }},
      {"sigmoid", [](const Tensor& t) { return sigmoid(t); }, ref_sigmoid},
      {"tanh", [](const Tensor& t) { return tanh(t); }, [](double x) { return std::tanh(x); }},
      {"softplus", [](const Tensor& t) { return softplus(t); }, [](double x) { return std::log1p(std::exp(x)); }},
      {"log_sigmoid", [](const Tensor& t) { return log_sigmoid(t); }, [](double x) { return std::log(ref_sigmoid(x)); }},
  };
}

}  // namespace

TEST_CASE("activations match their closed forms on a transposed input", "[activation]") {
  // Values in [-3, 3] away from 0 (the kinks of relu, leaky_relu and elu).
  Tensor base = tensor64({-3, -2.5, -1.7, -0.9, -0.3, 0.2, 0.6, 1.1, 1.8, 2.4, 2.9, -0.05}, {3, 4});
  Tensor x = transpose(base, 0, 1);
  const std::vector<double> xs = x.to_vector<double>();
  for (const Activation& a : activations()) {
    INFO(a.name);
    std::vector<double> expected;
    for (double v : xs) expected.push_back(a.ref(v));
    require_values(a.op(x), expected, 1e-12);
    // float32 agrees to float precision.
    require_values(a.op(to_dtype(x, DType::Float32)), expected, 2e-6);
  }
  // Known points.
  require_values(relu(tensor64({-1, 0, 2}, {3})), {0, 0, 2});
  require_values(sigmoid(tensor64({0}, {1})), {0.5});
  require_values(gelu(tensor64({0, 1}, {2})), {0, 0.8413447460685429});
  require_values(softplus(tensor64({0}, {1})), {std::log(2.0)});
  require_values(leaky_relu(tensor64({-2}, {1})), {-0.02});  // default slope 0.01
}

TEST_CASE("activations are stable at extreme inputs", "[activation]") {
  Tensor x = tensor32({-1000, -100, 100, 1000}, {4});
  require_values(sigmoid(x), {0, 0, 1, 1});
  require_values(softplus(x), {0, 0, 100, 1000});
  require_values(log_sigmoid(x), {-1000, -100, 0, 0});
  require_values(silu(x), {0, 0, 100, 1000});
  require_values(tanh(x), {-1, -1, 1, 1});
  require_values(elu(x), {-1, -1, 100, 1000});
  for (double v : softplus(x).to_vector<double>()) REQUIRE(std::isfinite(v));
}

TEST_CASE("softmax and log_softmax over every dim", "[activation]") {
  Tensor x = tensor64({1, 2, 3, 1, 1, 1}, {2, 3});
  const double z = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  require_values(softmax(x), {std::exp(1.0) / z, std::exp(2.0) / z, std::exp(3.0) / z, 1 / 3.0, 1 / 3.0, 1 / 3.0}, 1e-12);
  require_values(log_softmax(x, 1), {1 - std::log(z), 2 - std::log(z), 3 - std::log(z), -std::log(3.0),
                                     -std::log(3.0), -std::log(3.0)}, 1e-12);
  // Over dim 0: each column is a 2-way softmax.
  Tensor s0 = softmax(x, 0);
  REQUIRE(s0.shape() == Shape{2, 3});
  const double e = ref_sigmoid(0.0), f = ref_sigmoid(1.0), g = ref_sigmoid(2.0);
  require_values(s0, {e, f, g, 1 - e, 1 - f, 1 - g}, 1e-12);
  // A middle dim of a 3-D tensor, and a transposed input.
  Tensor y = reshape(arange(0, 24, 1, {DType::Float64}), {2, 3, 4});
  Tensor s1 = softmax(mul(y, 0.1), 1);
  const std::vector<double> sv = s1.to_vector<double>();
  for (int i = 0; i < 2; ++i)
    for (int k = 0; k < 4; ++k) {
      double total = 0;
      for (int j = 0; j < 3; ++j) total += sv[(i * 3 + j) * 4 + k];
      REQUIRE(total == Approx(1.0).epsilon(1e-12));
      const double zz = std::exp(0.1 * (i * 12 + k)) + std::exp(0.1 * (i * 12 + 4 + k)) + std::exp(0.1 * (i * 12 + 8 + k));
      REQUIRE(sv[(i * 3 + 0) * 4 + k] == Approx(std::exp(0.1 * (i * 12 + k)) / zz).epsilon(1e-12));
    }
  require_values(softmax(transpose(x, 0, 1), 0), transpose(softmax(x, 1), 0, 1).to_vector<double>(), 1e-12);
  // Large logits do not overflow; -inf gives probability 0.
  require_values(softmax(tensor32({1000, 1000}, {2})), {0.5, 0.5});
  const double inf = std::numeric_limits<double>::infinity();
  require_values(softmax(tensor64({-inf, 0}, {2})), {0, 1});
  // 0-dim and empty inputs.
  REQUIRE(softmax(scalar_tensor(3.0)).item<float>() == 1.0f);
  REQUIRE(log_softmax(scalar_tensor(3.0)).item<float>() == 0.0f);
  REQUIRE(softmax(zeros({0, 3})).shape() == Shape{0, 3});
}

TEST_CASE("logsumexp matches log(sum(exp)) and survives large values", "[activation]") {
  Tensor x = tensor64({1, 2, 3, -1, 0, 1}, {2, 3});
  const double a = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0));
  const double b = std::log(std::exp(-1.0) + 1 + std::exp(1.0));
  require_values(logsumexp(x, 1), {a, b}, 1e-12);
  REQUIRE(logsumexp(x, 1, true).shape() == Shape{2, 1});
  require_values(logsumexp(x, 0), {std::log(std::exp(1.0) + std::exp(-1.0)), std::log(std::exp(2.0) + 1),
                                   std::log(std::exp(3.0) + std::exp(1.0))}, 1e-12);
  require_values(logsumexp(tensor32({1000, 1000}, {2}), 0), {1000 + std::log(2.0)}, 1e-6);
  const double inf = std::numeric_limits<double>::infinity();
  REQUIRE(logsumexp(tensor64({-inf, -inf}, {2}), 0).item<double>() == -inf);
  require_values(logsumexp(transpose(x, 0, 1), 0), {a, b}, 1e-12);
}

// --- gradients ---

TEST_CASE("gradients of activations, contiguous, strided and broadcast", "[activation][grad]") {
  Tensor x = from_vector(std::vector<double>{-2.1, -1.3, -0.7, -0.2, 0.3, 0.8, 1.4, 2.2, -0.45, 0.55, 1.9, -2.6}, {3, 4});
  x.set_requires_grad(true);
  for (const Activation& a : activations()) {
    INFO(a.name);
    auto fn = a.op;
    require_gradcheck([fn](const std::vector<Tensor>& in) { return fn(in[0]); }, {x});
    require_gradcheck([fn](const std::vector<Tensor>& in) { return fn(slice(transpose(in[0], 0, 1), 0, 1, 4, 2)); }, {x});
    // The incoming gradient is itself broadcast (sum's backward expands it).
    require_gradcheck([fn](const std::vector<Tensor>& in) { return sum(fn(expand(select(in[0], 0, 2), {3, 4})), 0); }, {x});
  }
}

TEST_CASE("silu and gelu gradients, saved from the forward, match the closed-form derivatives in float32",
          "[activation][grad]") {
  // The CPU computes SiLU and GELU with their derivatives in one pass and the backward multiplies by
  // the saved derivative (gradcheck above covers float64); here float32, a strided input and the
  // extremes, against f'(x) in double: SiLU s (1 + x (1 - s)), GELU Phi(x) + x phi(x).
  const std::vector<double> xs = {-1000, -30, -4.5, -1.2, -0.3, 0, 0.25, 0.9, 2.7, 6, 30, 1000};
  auto silu_derivative = [](double x) {
    const double s = ref_sigmoid(x);
    return s * (1 + x * (1 - s));
  };
  auto gelu_derivative = [](double x) {
    return 0.5 * (1 + std::erf(x / std::sqrt(2.0))) + x * std::exp(-0.5 * x * x) / std::sqrt(2 * M_PI);
  };
  // Relative tolerances from the measured worst errors, where f' cancels: SiLU 3.0e-7 at x = -1.2
  // (1 + x (1 - s) = 0.078), GELU 3.05e-6 at x = -4.5 (float's 1 + erf(x / sqrt 2) keeps few digits).
  // The margin covers GELU's f'(-30) = -4.4e-195, which float rounds to 0.
  const std::vector<
      std::tuple<const char*, std::function<Tensor(const Tensor&)>, std::function<double(double)>, double>>
      cases = {{"silu", [](const Tensor& t) { return silu(t); }, silu_derivative, 1e-6},
               {"gelu", [](const Tensor& t) { return gelu(t); }, gelu_derivative, 4e-6}};
  for (const auto& [name, f, derivative, tolerance] : cases) {
    INFO(name);
    Tensor base = from_vector(std::vector<float>(xs.begin(), xs.end()), {3, 4});
    base.set_requires_grad(true);
    const Tensor xt = transpose(base, 0, 1);  // a strided input to the fused kernel
    Generator gen(5);
    const Tensor w = randn({4, 3}, {}, &gen);  // weights of the summed outputs: grad = w^T f'(x)
    sum(mul(f(xt), w)).backward();
    const std::vector<float> grad = base.grad().to_vector<float>();
    const std::vector<float> wt = transpose(w, 0, 1).to_vector<float>();
    for (size_t i = 0; i < xs.size(); ++i) {
      INFO("x = " << xs[i]);
      const double expected = wt[i] * derivative(xs[i]);
      REQUIRE(std::isfinite(grad[i]));
      REQUIRE(grad[i] == Approx(expected).epsilon(tolerance).margin(1e-30));
    }
  }
}

TEST_CASE("gradients of softmax, log_softmax, logsumexp over every dim", "[activation][grad]") {
  Tensor x = leaf64({2, 3, 4}, 91);
  for (int64_t d : {0, 1, 2, -1}) {
    INFO("dim " << d);
    require_gradcheck([d](const std::vector<Tensor>& in) { return softmax(in[0], d); }, {x});
    require_gradcheck([d](const std::vector<Tensor>& in) { return log_softmax(in[0], d); }, {x});
    require_gradcheck([d](const std::vector<Tensor>& in) { return logsumexp(in[0], d); }, {x});
    require_gradcheck([d](const std::vector<Tensor>& in) { return logsumexp(in[0], d, true); }, {x});
    require_gradcheck([d](const std::vector<Tensor>& in) { return softmax(permute(in[0], {2, 0, 1}), d); }, {x});
    require_gradcheck([d](const std::vector<Tensor>& in) { return log_softmax(slice(in[0], 2, 0, 4, 2), d); }, {x});
  }
  // Composed use: the softmax of a broadcast sum.
  require_gradcheck([](const std::vector<Tensor>& in) { return softmax(add(in[0], in[1]), 1); },
                    {leaf64({3, 1}, 92), leaf64({4}, 93)});
}

// --- bad input ---

TEST_CASE("activations reject integer input and bad dims", "[activation][errors]") {
  Tensor i = ones({2, 3}, {DType::Int64});
  const std::vector<std::pair<const char*, std::function<Tensor()>>> cases = {
      {"relu", [&] { return relu(i); }},
      {"leaky_relu", [&] { return leaky_relu(i); }},
      {"elu", [&] { return elu(i); }},
      {"gelu", [&] { return gelu(i); }},
      {"silu", [&] { return silu(i); }},
      {"sigmoid", [&] { return sigmoid(i); }},
      {"tanh", [&] { return tanh(i); }},
      {"softplus", [&] { return softplus(i); }},
      {"log_sigmoid", [&] { return log_sigmoid(i); }},
      {"softmax", [&] { return softmax(i); }},
      {"log_softmax", [&] { return log_softmax(i); }},
      {"logsumexp", [&] { return logsumexp(i, 0); }},
  };
  for (const auto& [name, fn] : cases) {
    INFO(name);
    require_error(fn, {name, "int64", "[2, 3]"});
  }
  Tensor x = ones({2, 3});
  require_error([&] { softmax(x, 2); }, {"softmax", "dim 2", "rank 2"});
  require_error([&] { log_softmax(x, -3); }, {"log_softmax", "dim -3"});
  require_error([&] { logsumexp(x, 5); }, {"logsumexp", "dim 5"});
  require_error([&] { relu(Tensor()); }, {"relu", "undefined"});
}
