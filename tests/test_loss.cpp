// Losses and log-likelihoods: hand-computed values, every reduction, float64 gradchecks, errors.
#include <cmath>
#include <numbers>

#include "test_helpers.h"

using namespace strata;
using namespace strata::test;

namespace {

const double kLog2Pi = std::log(2.0 * std::numbers::pi);

double softplus_ref(double x) { return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x)); }
double sigmoid_ref(double x) { return 1.0 / (1.0 + std::exp(-x)); }

const Reduction kReductions[] = {Reduction::None, Reduction::Mean, Reduction::Sum};

void require_all_finite(const Tensor& t) {
  for (double v : t.to_vector<double>()) REQUIRE(std::isfinite(v));
}

}  // namespace

TEST_CASE("mse_loss and l1_loss match hand-computed values for every reduction", "[loss]") {
  const Tensor input = tensor64({1, 2, 3, 4}, {2, 2});
  const Tensor target = tensor64({0, 2, 5, 1}, {2, 2});  // differences 1, 0, -2, 3
  require_values(mse_loss(input, target, Reduction::None), {1, 0, 4, 9});
  require_values(mse_loss(input, target, Reduction::Sum), {14});
  require_values(mse_loss(input, target), {3.5});
  require_values(l1_loss(input, target, Reduction::None), {1, 0, 2, 3});
  require_values(l1_loss(input, target, Reduction::Sum), {6});
  require_values(l1_loss(input, target), {1.5});
  REQUIRE(mse_loss(input, target).dim() == 0);
  REQUIRE(mse_loss(input, target, Reduction::None).shape() == Shape{2, 2});
}

TEST_CASE("mse_loss and l1_loss pass gradcheck for every reduction", "[loss]") {
  for (Reduction r : kReductions) {
    Tensor input = leaf64({3, 4}, 1);
    Tensor target = leaf64({3, 4}, 2);
    require_gradcheck([r](const std::vector<Tensor>& in) { return mse_loss(in[0], in[1], r); },
                      {input, target});
    require_gradcheck([r](const std::vector<Tensor>& in) { return l1_loss(in[0], in[1], r); },
                      {input, target});
  }
}

TEST_CASE("binary_cross_entropy_with_logits matches the closed form, including extreme logits", "[loss]") {
  const std::vector<double> x = {0.0, 1.0, -1.0, 100.0, -100.0, 100.0, -100.0, 2.5};
  const std::vector<double> y = {0.3, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.25};
  std::vector<double> expected;
  for (size_t i = 0; i < x.size(); ++i) expected.push_back(softplus_ref(x[i]) - x[i] * y[i]);
  // Spot values that need no reference function: log 2 at x = 0, and 100 for a confident mistake.
  REQUIRE(expected[0] == Approx(std::log(2.0)));
  REQUIRE(expected[3] == Approx(100.0));

  for (DType dtype : {DType::Float64, DType::Float32}) {
    const Tensor logits = to_dtype(tensor64(x, {8}), dtype);
    const Tensor target = to_dtype(tensor64(y, {8}), dtype);
    const Tensor none = binary_cross_entropy_with_logits(logits, target, Reduction::None);
    REQUIRE(none.dtype() == dtype);
    require_all_finite(none);
    require_values(none, expected, 1e-6);
    double total = 0;
    for (double e : expected) total += e;
    require_values(binary_cross_entropy_with_logits(logits, target, Reduction::Sum), {total}, 1e-5);
    require_values(binary_cross_entropy_with_logits(logits, target), {total / 8}, 1e-5);
  }
}

TEST_CASE("binary_cross_entropy_with_logits gradient is sigmoid(x) - y and stays finite", "[loss]") {
  const std::vector<double> x = {0.0, 1.0, -1.0, 100.0, -100.0, 100.0, -100.0};
  const std::vector<double> y = {0.3, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0};
  Tensor logits = tensor64(x, {7}).set_requires_grad(true);
  Tensor target = tensor64(y, {7}).set_requires_grad(true);
  binary_cross_entropy_with_logits(logits, target, Reduction::Sum).backward();
  std::vector<double> dx, dy;
  for (size_t i = 0; i < x.size(); ++i) {
    dx.push_back(sigmoid_ref(x[i]) - y[i]);
    dy.push_back(-x[i]);
  }
  require_all_finite(logits.grad());
  require_values(logits.grad(), dx, 1e-12);
  require_values(target.grad(), dy, 1e-12);

  // Mean divides by the element count; the float32 path sees the same gradient.
  Tensor logits32 = to_dtype(tensor64(x, {7}), DType::Float32).set_requires_grad(true);
  binary_cross_entropy_with_logits(logits32, to_dtype(tensor64(y, {7}), DType::Float32)).backward();
  for (double& d : dx) d /= 7.0;
  require_all_finite(logits32.grad());
  require_values(logits32.grad(), dx, 1e-6);
}

TEST_CASE("binary_cross_entropy_with_logits passes gradcheck for logits and target", "[loss]") {
  for (Reduction r : kReductions) {
    Tensor logits = leaf64({4, 5}, 3, 2.0);
    Tensor target = leaf64({4, 5}, 4, 0.2, 0.5);
    require_gradcheck(
        [r](const std::vector<Tensor>& in) { return binary_cross_entropy_with_logits(in[0], in[1], r); },
        {logits, target});
  }
  // A target that needs no gradient (the usual case) leaves only the logits path.
  Tensor logits = leaf64({6}, 5, 3.0);
  const Tensor target = tensor64({0, 1, 0, 1, 1, 0}, {6});
  require_gradcheck(
      [&](const std::vector<Tensor>& in) {
        return binary_cross_entropy_with_logits(in[0], target, Reduction::Mean);
      },
      {logits});
}

TEST_CASE("mse, l1 and bce reject mismatched shapes and dtypes", "[loss][errors]") {
  const Tensor a = tensor64({1, 2, 3, 4, 5, 6}, {2, 3});
  const Tensor b = tensor64({1, 2, 3}, {3});
  require_error([&] { mse_loss(a, b); }, {"mse_loss", "[2, 3]", "[3]", "same shape"});
  require_error([&] { l1_loss(b, a); }, {"l1_loss", "[3]", "[2, 3]"});
  require_error([&] { binary_cross_entropy_with_logits(a, b); },
                {"binary_cross_entropy_with_logits", "[2, 3]", "[3]"});
  require_error([&] { mse_loss(a, to_dtype(a, DType::Float32)); }, {"mse_loss", "float64", "float32"});
  const Tensor labels = from_vector(std::vector<int64_t>{0, 1, 0}, {3});
  require_error([&] { binary_cross_entropy_with_logits(labels, labels); },
                {"binary_cross_entropy_with_logits", "floating-point", "int64"});
}

TEST_CASE("cross_entropy matches log-sum-exp minus the true logit", "[loss]") {
  const Tensor logits = tensor64({1, 2, 3, 1, 1, 1, -50, 0, 50}, {3, 3});
  const Tensor target = from_vector(std::vector<int64_t>{2, 0, 0}, {3});
  const double l0 = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0)) - 3.0;
  const double l1 = std::log(3.0);
  const double l2 = 100.0 + std::log1p(std::exp(-50.0) + std::exp(-100.0));  // stable with large logits
  require_values(cross_entropy(logits, target, Reduction::None), {l0, l1, l2}, 1e-10);
  require_values(cross_entropy(logits, target, Reduction::Sum), {l0 + l1 + l2}, 1e-10);
  require_values(cross_entropy(logits, target), {(l0 + l1 + l2) / 3}, 1e-10);
  require_values(cross_entropy(to_dtype(logits, DType::Float32), target), {(l0 + l1 + l2) / 3}, 1e-5);
}

TEST_CASE("cross_entropy gradient is (softmax - one_hot) / N", "[loss]") {
  Tensor logits = tensor64({1, 2, 3, 0, 0, 0}, {2, 3}).set_requires_grad(true);
  const Tensor target = from_vector(std::vector<int64_t>{2, 1}, {2});
  cross_entropy(logits, target).backward();
  const double z = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  require_values(logits.grad(),
                 {std::exp(1.0) / z / 2, std::exp(2.0) / z / 2, (std::exp(3.0) / z - 1) / 2, 1.0 / 6,
                  (1.0 / 3 - 1) / 2, 1.0 / 6},
                 1e-12);
}

TEST_CASE("cross_entropy and nll_loss pass gradcheck for every reduction", "[loss]") {
  const Tensor target = from_vector(std::vector<int64_t>{3, 0, 2, 2, 1}, {5});
  for (Reduction r : kReductions) {
    Tensor logits = leaf64({5, 4}, 6, 2.0);
    require_gradcheck([&](const std::vector<Tensor>& in) { return cross_entropy(in[0], target, r); },
                      {logits});
    require_gradcheck(
        [&](const std::vector<Tensor>& in) { return nll_loss(log_softmax(in[0], 1), target, r); }, {logits});
  }
}

TEST_CASE("nll_loss picks the negated log-probability of each target", "[loss]") {
  const Tensor log_probs = tensor64({-0.1, -2.0, -3.0, -1.5, -0.5, -4.0}, {2, 3});
  const Tensor target = from_vector(std::vector<int64_t>{0, 2}, {2});
  require_values(nll_loss(log_probs, target, Reduction::None), {0.1, 4.0});
  require_values(nll_loss(log_probs, target, Reduction::Sum), {4.1});
  require_values(nll_loss(log_probs, target), {2.05});
}

TEST_CASE("cross_entropy and nll_loss reject bad targets naming the value and class count",
          "[loss][errors]") {
  const Tensor logits = tensor64({1, 2, 3, 4, 5, 6}, {2, 3});
  const Tensor too_big = from_vector(std::vector<int64_t>{0, 3}, {2});
  const Tensor negative = from_vector(std::vector<int64_t>{-1, 0}, {2});
  require_error([&] { cross_entropy(logits, too_big); }, {"cross_entropy", "class index 3", "3 classes"});
  require_error([&] { nll_loss(logits, negative); }, {"nll_loss", "class index -1", "3 classes"});
  require_error([&] { cross_entropy(logits, tensor64({0, 1}, {2})); }, {"cross_entropy", "int64", "float64"});
  require_error(
      [&] {
        cross_entropy(logits, from_vector(std::vector<int64_t>{0, 1, 2}, {3}));
      },
      {"cross_entropy", "[3]", "[2, 3]"});
  require_error(
      [&] {
        cross_entropy(tensor64({1, 2, 3}, {3}), too_big);
      },
      {"cross_entropy", "[N, C]", "[3]"});
}

TEST_CASE("gaussian_log_likelihood matches the normal density", "[loss]") {
  const Tensor x = tensor64({1.0, 2.0, 0.5}, {3});
  const Tensor mean = tensor64({0.0, 1.0, 0.5}, {3});
  const Tensor log_var = tensor64({0.0, std::log(4.0), -1.0}, {3});
  require_values(gaussian_log_likelihood(x, mean, log_var),
                 {-0.5 * (kLog2Pi + 1.0), -0.5 * (kLog2Pi + std::log(4.0) + 0.25), -0.5 * (kLog2Pi - 1.0)},
                 1e-12);
}

TEST_CASE("gaussian_log_likelihood passes gradcheck with a broadcast log-variance", "[loss]") {
  Tensor x = leaf64({2, 3}, 7);
  Tensor mean = leaf64({2, 3}, 8);
  Tensor log_var = leaf64({3}, 9, 0.5);
  require_gradcheck(
      [](const std::vector<Tensor>& in) { return gaussian_log_likelihood(in[0], in[1], in[2]); },
      {x, mean, log_var});
  require_error([&] { gaussian_log_likelihood(x, mean, leaf64({2}, 1)); },
                {"gaussian_log_likelihood", "[2, 3]", "[2]"});
}

TEST_CASE("bernoulli_log_likelihood is minus bce and stable at extreme logits", "[loss]") {
  const Tensor x = tensor64({1, 0, 1, 0, 1}, {5});
  const Tensor logits = tensor64({0, 0, 100, 100, -100}, {5});
  const Tensor ll = bernoulli_log_likelihood(x, logits);
  require_all_finite(ll);
  require_values(ll, {-std::log(2.0), -std::log(2.0), 0.0, -100.0, -100.0}, 1e-10);
  Tensor lx = leaf64({3, 2}, 10, 0.2, 0.5);
  Tensor ll_logits = leaf64({3, 2}, 11, 2.0);
  require_gradcheck([](const std::vector<Tensor>& in) { return bernoulli_log_likelihood(in[0], in[1]); },
                    {lx, ll_logits});
  require_error(
      [&] {
        bernoulli_log_likelihood(x, tensor64({0, 0}, {2}));
      },
      {"bernoulli_log_likelihood", "[5]", "[2]"});
}

TEST_CASE("kl_standard_normal matches the closed form and is accurate near zero", "[loss]") {
  const Tensor mu = tensor64({0.0, 1.0, 0.0, -2.0}, {4});
  const Tensor logvar = tensor64({0.0, 0.0, std::log(2.0), -1.0}, {4});
  require_values(kl_standard_normal(mu, logvar),
                 {0.0, 0.5, 0.5 * (1.0 - std::log(2.0)), -0.5 * (1.0 - 1.0 - 4.0 - std::exp(-1.0))}, 1e-12);
  // For a posterior barely off the prior the KL is about logvar^2 / 4; 1 + logvar - exp(logvar)
  // would cancel to rounding noise here.
  const double lv = 1e-8;
  const double tiny = kl_standard_normal(tensor64({0.0}, {1}), tensor64({lv}, {1})).item<double>();
  REQUIRE(tiny == Approx(lv * lv / 4).epsilon(1e-6));
}

TEST_CASE("kl_standard_normal passes gradcheck, also broadcast", "[loss]") {
  Tensor mu = leaf64({3, 4}, 12);
  Tensor logvar = leaf64({3, 4}, 13, 0.5);
  require_gradcheck([](const std::vector<Tensor>& in) { return kl_standard_normal(in[0], in[1]); },
                    {mu, logvar});
  Tensor shared_logvar = leaf64({4}, 14, 0.5);
  require_gradcheck([](const std::vector<Tensor>& in) { return kl_standard_normal(in[0], in[1]); },
                    {mu, shared_logvar});
  Tensor mu32 = to_dtype(mu, DType::Float32);
  require_error([&] { kl_standard_normal(mu32, logvar); }, {"kl_standard_normal", "float32", "float64"});
  require_error([&] { kl_standard_normal(mu, leaf64({3}, 1)); }, {"kl_standard_normal", "[3, 4]", "[3]"});
}

TEST_CASE("kl_diag_gaussians matches the closed form and agrees with kl_standard_normal", "[loss]") {
  const Tensor mu_q = tensor64({1.0, 0.5}, {2});
  const Tensor lv_q = tensor64({std::log(2.0), -0.3}, {2});
  const Tensor mu_p = tensor64({0.0, -1.0}, {2});
  const Tensor lv_p = tensor64({0.0, std::log(3.0)}, {2});
  // 0.5 (log(var_p / var_q) + (var_q + (mu_q - mu_p)^2) / var_p - 1)
  const double k1 = 0.5 * (-std::log(2.0) + (2.0 + 1.0) - 1.0);
  const double k2 = 0.5 * (std::log(3.0) + 0.3 + (std::exp(-0.3) + 2.25) / 3.0 - 1.0);
  require_values(kl_diag_gaussians(mu_q, lv_q, mu_p, lv_p), {k1, k2}, 1e-12);
  require_values(kl_diag_gaussians(mu_q, lv_q, mu_q, lv_q), {0.0, 0.0}, 1e-15);
  const Tensor zero = zeros({2}, {DType::Float64});
  require_values(kl_diag_gaussians(mu_q, lv_q, zero, zero),
                 kl_standard_normal(mu_q, lv_q).to_vector<double>(), 1e-12);
}

TEST_CASE("kl_diag_gaussians passes gradcheck in all four arguments", "[loss]") {
  std::vector<Tensor> in = {leaf64({2, 3}, 15), leaf64({2, 3}, 16, 0.5), leaf64({2, 3}, 17),
                            leaf64({3}, 18, 0.5)};
  require_gradcheck([](const std::vector<Tensor>& a) { return kl_diag_gaussians(a[0], a[1], a[2], a[3]); },
                    in);
  require_error([&] { kl_diag_gaussians(in[0], in[1], in[2], leaf64({2}, 1)); },
                {"kl_diag_gaussians", "[2]"});
}
