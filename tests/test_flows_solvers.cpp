// Flow building blocks: ODE solvers against closed-form solutions (order of accuracy, both time
// directions, Dopri5 to tolerance) and the divergence (exact against a hand-computed Jacobian trace,
// Hutchinson's mean against the exact value within its known standard error).
#include <cmath>

#include "models/flows/divergence.h"
#include "models/flows/ode_solver.h"
#include "test_helpers.h"

using namespace strata;
using namespace strata::models;
using namespace strata::test;

namespace {

// dx/dt = A x with A = [[-1, 2], [-2, -1]]: x(t) = e^{-t} R(-2t) x(0), a decaying rotation.
Tensor rotation_field(const Tensor& x, double) {
  const Tensor a_t = tensor64({-1, -2, 2, -1}, {2, 2});  // A^T: rows of x times A^T
  return matmul(x, a_t);
}

std::vector<double> rotation_solution(const std::vector<double>& x0, double t) {
  const double c = std::cos(2 * t), s = std::sin(2 * t), e = std::exp(-t);
  return {e * (c * x0[0] + s * x0[1]), e * (-s * x0[0] + c * x0[1])};
}

double max_error(const Tensor& got, const std::vector<double>& expected) {
  const std::vector<double> g = got.to_vector<double>();
  double err = 0;
  for (size_t i = 0; i < g.size(); ++i) err = std::max(err, std::abs(g[i] - expected[i]));
  return err;
}

}  // namespace

TEST_CASE("fixed-step ODE solvers converge at their order on a linear ODE, forward and backward", "[flows]") {
  const std::vector<double> x0{1.0, 0.5};
  const Tensor start = tensor64(x0, {1, 2});
  struct Case {
    OdeMethod method;
    double order;
    int64_t evaluations_per_step;
  };
  for (const Case& c : {Case{OdeMethod::Euler, 1, 1}, Case{OdeMethod::Heun, 2, 2}, Case{OdeMethod::Rk4, 4, 4}}) {
    INFO(ode_method_name(c.method));
    // Forward from t = 0 to 1.
    const OdeResult coarse = integrate_ode(rotation_field, start, 0.0, 1.0, {.method = c.method, .steps = 20});
    const OdeResult fine = integrate_ode(rotation_field, start, 0.0, 1.0, {.method = c.method, .steps = 40});
    const std::vector<double> exact = rotation_solution(x0, 1.0);
    const double e_coarse = max_error(coarse.x, exact), e_fine = max_error(fine.x, exact);
    // Halving the step divides the global error by about 2^order.
    REQUIRE(std::log2(e_coarse / e_fine) == Approx(c.order).margin(0.15));
    REQUIRE(coarse.function_evaluations == 20 * c.evaluations_per_step);
    REQUIRE(coarse.accepted_steps == 20);
    // Backward from t = 1 to 0 returns to x0 with an error of the same order.
    const OdeResult back = integrate_ode(rotation_field, tensor64(exact, {1, 2}), 1.0, 0.0, {.method = c.method, .steps = 40});
    const OdeResult back_coarse = integrate_ode(rotation_field, tensor64(exact, {1, 2}), 1.0, 0.0, {.method = c.method, .steps = 20});
    REQUIRE(std::log2(max_error(back_coarse.x, x0) / max_error(back.x, x0)) == Approx(c.order).margin(0.15));
  }
}

TEST_CASE("dopri5 meets its tolerance, counts its evaluations and tightens with it", "[flows]") {
  const std::vector<double> x0{1.0, 0.5};
  const std::vector<double> exact = rotation_solution(x0, 2.0);
  const OdeResult loose = integrate_ode(rotation_field, tensor64(x0, {1, 2}), 0.0, 2.0, {.rtol = 1e-4, .atol = 1e-4});
  const OdeResult tight = integrate_ode(rotation_field, tensor64(x0, {1, 2}), 0.0, 2.0, {.rtol = 1e-9, .atol = 1e-9});
  // The tolerance bounds the local error per step; the global error stays within a small multiple.
  REQUIRE(max_error(loose.x, exact) < 1e-3);
  REQUIRE(max_error(tight.x, exact) < 1e-8);
  REQUIRE(tight.accepted_steps > loose.accepted_steps);
  // One evaluation at the start, one for the starting-step heuristic, six per attempted step (FSAL).
  for (const OdeResult* r : {&loose, &tight})
    REQUIRE(r->function_evaluations == 2 + 6 * (r->accepted_steps + r->rejected_steps));
  // Backward in time, to the same tolerance.
  const OdeResult back = integrate_ode(rotation_field, tensor64(exact, {1, 2}), 2.0, 0.0, {.rtol = 1e-9, .atol = 1e-9});
  REQUIRE(max_error(back.x, x0) < 1e-7);
}

TEST_CASE("dopri5 handles a stiff-ish decay and reports errors clearly", "[flows]") {
  // dx/dt = -50 (x - cos t): the solution relaxes onto cos t quickly.
  const auto f = [](const Tensor& x, double t) { return mul(sub(x, std::cos(t)), -50.0); };
  const OdeResult r = integrate_ode(f, tensor64({0.0}, {1}), 0.0, 1.0, {.rtol = 1e-8, .atol = 1e-8});
  // Closed form: x(t) = 50 (50 cos t + sin t) / 2501 - (2500 / 2501) e^{-50 t}.
  const double expected = 50 * (50 * std::cos(1.0) + std::sin(1.0)) / 2501 - 2500.0 / 2501 * std::exp(-50.0);
  REQUIRE(r.x.item<double>() == Approx(expected).margin(1e-7));
  require_error([&] { integrate_ode(f, tensor64({0.0}, {1}), 0.0, 1.0, {.rtol = 1e-8, .atol = 1e-8, .max_steps = 3}); },
                {"dopri5", "3 steps"});
  require_error([&] { integrate_ode(f, tensor64({0.0}, {1}), 0.0, 1.0, {.method = OdeMethod::Rk4, .steps = 0}); },
                {"steps must be at least 1"});
  require_error([] { parse_ode_method("midpoint"); }, {"midpoint", "euler, heun, rk4, dopri5"});
  const auto bad = [](const Tensor& x, double) { return cat({x, x}, 0); };
  require_error([&] { integrate_ode(bad, tensor64({0.0}, {1}), 0.0, 1.0, {.method = OdeMethod::Euler}); },
                {"integrate_ode", "[2]", "[1]"});
}

namespace {

// v(x, t) = W2 tanh(W1 x + b + c t), x in R^3, 4 hidden units: a small fixed network whose
// Jacobian trace is  sum_k (1 - tanh^2(h_k)) sum_i W2[i][k] W1[k][i].
const std::vector<double> kW1{0.5, -0.3, 0.8, 0.1, 0.9, -0.4, -0.7, 0.2, 0.6, 0.3, -0.5, 0.4};  // [4, 3]
const std::vector<double> kW2{0.7, -0.2, 0.4, 0.9, -0.6, 0.5, 0.3, -0.1, 0.2, 0.8, -0.9, 0.6};  // [3, 4]
const std::vector<double> kB{0.1, -0.2, 0.3, 0.05};
const std::vector<double> kC{0.5, -0.5, 1.0, 0.2};

Tensor small_network(const Tensor& x, const Tensor& t) {
  const Tensor h = add(add(matmul(x, transpose(tensor64(kW1, {4, 3}), 0, 1)), tensor64(kB, {4})),
                       mul(reshape(to_dtype(t, DType::Float64), {-1, 1}), tensor64(kC, {1, 4})));
  return matmul(tanh(h), transpose(tensor64(kW2, {3, 4}), 0, 1));
}

double small_network_trace(const std::vector<double>& x, double t) {
  double trace = 0;
  for (int k = 0; k < 4; ++k) {
    double h = kB[k] + kC[k] * t;
    for (int i = 0; i < 3; ++i) h += kW1[k * 3 + i] * x[i];
    double w = 0;
    for (int i = 0; i < 3; ++i) w += kW2[i * 4 + k] * kW1[k * 3 + i];
    trace += (1 - std::tanh(h) * std::tanh(h)) * w;
  }
  return trace;
}

}  // namespace

TEST_CASE("the exact divergence equals the hand-computed Jacobian trace", "[flows]") {
  const std::vector<double> xs{0.3, -1.2, 0.7, 1.5, 0.2, -0.4};  // two points in R^3
  const std::vector<double> ts{0.25, 0.8};
  const VelocityAndDivergence r = exact_divergence(small_network, tensor64(xs, {2, 3}), tensor64(ts, {2}));
  const std::vector<double> div = r.divergence.to_vector<double>();
  REQUIRE(div.size() == 2);
  for (int i = 0; i < 2; ++i)
    REQUIRE(div[i] == Approx(small_network_trace({xs[3 * i], xs[3 * i + 1], xs[3 * i + 2]}, ts[i])).margin(1e-12));
  // The velocity comes back too, and nothing requires grad afterwards.
  REQUIRE(max_error(r.velocity, small_network(tensor64(xs, {2, 3}), tensor64(ts, {2})).to_vector<double>()) < 1e-15);
  REQUIRE_FALSE(r.divergence.requires_grad());
  // Also under NoGradGuard, where sampling and evaluation run.
  NoGradGuard no_grad;
  const VelocityAndDivergence again = exact_divergence(small_network, tensor64(xs, {2, 3}), tensor64(ts, {2}));
  REQUIRE(again.divergence.to_vector<double>() == div);
}

TEST_CASE("Hutchinson's estimator averages to the exact divergence within its standard error", "[flows]") {
  // A linear field v = A x: div = tr(A) exactly, and the variance of one probe's estimate eps^T A eps
  // is known: Rademacher (1/2) sum_{i != j} (A_ij + A_ji)^2, Gaussian (1/2) sum_{i, j} (A_ij + A_ji)^2.
  const std::vector<double> a{0.5, 1.0, -0.3, 0.2, -0.7, 0.4, 0.9, -0.1, 0.3};
  const auto field = [&](const Tensor& x, const Tensor&) { return matmul(x, transpose(tensor64(a, {3, 3}), 0, 1)); };
  double var_rademacher = 0, var_gaussian = 0;
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) {
      const double s = a[i * 3 + j] + a[j * 3 + i];
      var_gaussian += 0.5 * s * s;
      if (i != j) var_rademacher += 0.5 * s * s;
    }
  const double trace = a[0] + a[4] + a[8];
  const int64_t probes = 4000, points = 3;
  const Tensor x = tensor64({0.1, 0.2, 0.3, -1, 0.5, 2, 0.7, -0.3, 0.9}, {points, 3});
  const Tensor t = zeros({points}, {DType::Float64});
  Generator gen(7);
  for (auto [kind, variance] : {std::pair{ProbeKind::Rademacher, var_rademacher}, std::pair{ProbeKind::Gaussian, var_gaussian}}) {
    const Tensor eps = divergence_probes(kind, probes, {points, 3}, DType::Float64, &gen);
    const std::vector<double> est = hutchinson_divergence(field, x, t, eps).divergence.to_vector<double>();
    const double standard_error = std::sqrt(variance / probes);
    for (double e : est) REQUIRE(std::abs(e - trace) < 4 * standard_error);
  }
  // On the nonlinear network, against the exact value (4 standard errors of 4000 probes, the spread
  // estimated from single-probe values).
  const Tensor xn = tensor64({0.3, -1.2, 0.7}, {1, 3});
  const Tensor tn = tensor64({0.5}, {1});
  const Tensor eps = divergence_probes(ProbeKind::Rademacher, probes, {1, 3}, DType::Float64, &gen);
  const double mean = hutchinson_divergence(small_network, xn, tn, eps).divergence.item<double>();
  double sq = 0;
  for (int64_t k = 0; k < 200; ++k) {
    const double e = hutchinson_divergence(small_network, xn, tn, narrow(eps, 0, k, 1)).divergence.item<double>() - mean;
    sq += e * e;
  }
  const double exact = exact_divergence(small_network, xn, tn).divergence.item<double>();
  REQUIRE(std::abs(mean - exact) < 4 * std::sqrt(sq / 200 / probes));
  REQUIRE(exact == Approx(small_network_trace({0.3, -1.2, 0.7}, 0.5)).margin(1e-12));
}

TEST_CASE("divergence functions refuse bad shapes with messages naming them", "[flows]") {
  const Tensor x = tensor64({1, 2, 3}, {1, 3});
  require_error([&] { exact_divergence(small_network, x, tensor64({0, 1}, {2})); }, {"exact_divergence", "[1, 3]", "[2]"});
  require_error([&] { hutchinson_divergence(small_network, x, tensor64({0}, {1}), zeros({2, 2, 3}, {DType::Float64})); },
                {"hutchinson_divergence", "probes", "[2, 2, 3]"});
}
