// Flow models: log_prob of flows with linear velocity fields against the closed-form Gaussian
// push-forward (FM and LFM), the LFM blocks' invertibility, the velocity MLP (W3 layout, its exact
// divergence against finite differences), the training objectives' expected values, and short
// trainings on 8 Gaussians that bring the sliced W2 distance under a stated bound.
#include <chrono>
#include <cmath>
#include <numbers>

#include "engine/optim/adam.h"
#include "models/flows/divergence.h"
#include "models/flows/flow_matching.h"
#include "models/flows/local_flow_matching.h"
#include "models/flows/sample_distances.h"
#include "models/flows/toy_data.h"
#include "models/flows/velocity_mlp.h"
#include "test_helpers.h"

using namespace strata;
using namespace strata::models;
using namespace strata::test;

namespace {

// v(x, t) = A x with a trainable A [2, 2] (float64): the flow over a unit time is x -> expm(A) x.
class LinearVelocity final : public VelocityField {
 public:
  explicit LinearVelocity(const std::vector<double>& a) : VelocityField("LinearVelocity"), a_(tensor64(a, {2, 2})) {
    register_parameter("a", a_);
  }
  Tensor velocity(const Tensor& x, const Tensor&) override { return matmul(x, transpose(a_, 0, 1)); }
  int64_t dim() const override { return 2; }

 private:
  Tensor a_;
};

// expm of the upper-triangular [[a, b], [0, c]] (a != c): [[e^a, b (e^a - e^c) / (a - c)], [0, e^c]].
struct Upper {
  double a, b, c;
  std::vector<double> expm() const { return {std::exp(a), b * (std::exp(a) - std::exp(c)) / (a - c), 0, std::exp(c)}; }
  std::vector<double> matrix() const { return {a, b, 0, c}; }
};

std::vector<double> apply(const std::vector<double>& m, double x, double y) {
  return {m[0] * x + m[1] * y, m[2] * x + m[3] * y};
}

std::vector<double> inverse(const std::vector<double>& m) {
  const double det = m[0] * m[3] - m[1] * m[2];
  return {m[3] / det, -m[1] / det, -m[2] / det, m[0] / det};
}

double log_standard_normal(const std::vector<double>& z) {
  return -0.5 * (z[0] * z[0] + z[1] * z[1]) - std::log(2 * std::numbers::pi);
}

const FlowSolverOptions kTightSolver{.ode = {.rtol = 1e-10, .atol = 1e-10}};

}  // namespace

TEST_CASE("FM log_prob of a linear velocity field equals the closed-form Gaussian push-forward", "[flows]") {
  // Noise x0 ~ N(0, I) at t = 0 flows to x = M x0, M = expm(A): log p(x) = log N(M^-1 x) - log det M,
  // log det M = tr A.
  const Upper a{0.3, 0.5, -0.2};
  FlowMatching fm(std::make_shared<LinearVelocity>(a.matrix()), {.solver = kTightSolver});
  const std::vector<double> xs{0.4, -1.1, 2.0, 0.3, -0.5, 0.0};
  const std::vector<double> got = fm.log_prob(tensor64(xs, {3, 2})).to_vector<double>();
  const std::vector<double> m_inv = inverse(a.expm());
  for (int i = 0; i < 3; ++i) {
    const double expected = log_standard_normal(apply(m_inv, xs[2 * i], xs[2 * i + 1])) - (a.a + a.c);
    REQUIRE(got[i] == Approx(expected).margin(1e-8));
  }
  REQUIRE(fm.last_function_evaluations() > 0);
  // Hutchinson's estimate of a linear field's divergence is tr A for Rademacher probes only when
  // A's off-diagonal part is antisymmetric; here it is not, so it is unbiased but noisy. Its mean
  // over many probe draws approaches the exact value.
  FlowMatching hutch(std::make_shared<LinearVelocity>(a.matrix()),
                     {.solver = {.ode = {.rtol = 1e-8, .atol = 1e-8}, .divergence = DivergenceMethod::Hutchinson}});
  Generator gen(1);
  double total = 0;
  const int draws = 400;
  for (int k = 0; k < draws; ++k) total += hutch.log_prob(tensor64({0.4, -1.1}, {1, 2}), &gen).item<double>();
  // One draw's deviation is eps^T A_off eps = +-b (the ODE is linear); the mean's sd is b / sqrt(draws).
  REQUIRE(total / draws == Approx(got[0]).margin(4 * 0.5 / std::sqrt(draws)));
  // Samples have covariance M M^T.
  fm.set_solver({.ode = {.rtol = 1e-6, .atol = 1e-6}});
  Generator sample_gen(2);
  const Tensor s = fm.sample(20000, &sample_gen);
  REQUIRE(s.dtype() == DType::Float64);
  const std::vector<double> m = a.expm();
  const double cov00 = mean(square(select(s, 1, 0))).item<double>();
  const double cov11 = mean(square(select(s, 1, 1))).item<double>();
  REQUIRE(cov00 == Approx(m[0] * m[0] + m[1] * m[1]).epsilon(0.04));
  REQUIRE(cov11 == Approx(m[3] * m[3]).epsilon(0.04));
}

TEST_CASE("LFM log_prob of linear blocks sums their change-of-variables terms", "[flows]") {
  // Data at t = 0, blocks forward to noise: T(x) = expm(A2) expm(A1) x, and
  // log p(x) = log N(T(x)) + tr A1 + tr A2.
  const Upper a1{0.3, 0.5, -0.2}, a2{-0.4, -0.3, 0.1};
  LocalFlowMatching lfm({std::make_shared<LinearVelocity>(a1.matrix()), std::make_shared<LinearVelocity>(a2.matrix())},
                        {.step_sizes = {0.1}, .solver = kTightSolver});
  const std::vector<double> xs{0.4, -1.1, 2.0, 0.3};
  const std::vector<double> got = lfm.log_prob(tensor64(xs, {2, 2})).to_vector<double>();
  for (int i = 0; i < 2; ++i) {
    const std::vector<double> y = apply(a1.expm(), xs[2 * i], xs[2 * i + 1]);
    const std::vector<double> z = apply(a2.expm(), y[0], y[1]);
    REQUIRE(got[i] == Approx(log_standard_normal(z) + a1.a + a1.c + a2.a + a2.c).margin(1e-8));
  }
  const Tensor pushed = lfm.push_forward(tensor64(xs, {2, 2}), 0, 2);
  const std::vector<double> z0 = apply(a2.expm(), apply(a1.expm(), xs[0], xs[1])[0], apply(a1.expm(), xs[0], xs[1])[1]);
  REQUIRE(pushed.to_vector<double>()[0] == Approx(z0[0]).margin(1e-8));
  REQUIRE(pushed.to_vector<double>()[1] == Approx(z0[1]).margin(1e-8));
}

TEST_CASE("LFM blocks compose invertibly: forward then backward returns the input", "[flows]") {
  manual_seed(3);
  std::vector<std::shared_ptr<VelocityField>> blocks;
  for (int i = 0; i < 3; ++i) {
    auto b = std::make_shared<VelocityMlp>(VelocityMlpOptions{.dim = 2, .hidden = {32, 32}});
    b->to(DType::Float64);
    blocks.push_back(b);
  }
  LocalFlowMatching lfm(blocks, {.step_sizes = {0.2, 0.3}, .solver = {.ode = {.rtol = 1e-9, .atol = 1e-9}}});
  Generator gen(4);
  const Tensor x = to_dtype(sample_toy_distribution("8gaussians", 200, &gen), DType::Float64);
  const Tensor z = lfm.push_forward(x, 0, 3);
  REQUIRE(max(abs(sub(z, x))).item<double>() > 0.1);  // the untrained blocks do move the points
  const Tensor back = lfm.pull_back(z, 0, 3);
  REQUIRE(max(abs(sub(back, x))).item<double>() < 1e-6);
  // The same with a fixed-step solver, to its (cruder) accuracy.
  lfm.set_solver({.ode = {.method = OdeMethod::Rk4, .steps = 20}});
  REQUIRE(max(abs(sub(lfm.pull_back(lfm.push_forward(x, 0, 3), 0, 3), x))).item<double>() < 1e-4);
  // Sub-ranges compose: blocks [0, 1) then [1, 3) is [0, 3).
  lfm.set_solver({.ode = {.rtol = 1e-9, .atol = 1e-9}});
  REQUIRE(max(abs(sub(lfm.push_forward(lfm.push_forward(x, 0, 1), 1, 3), z))).item<double>() < 1e-6);
  require_error([&] { lfm.push_forward(x, 2, 4); }, {"LFM.push_forward", "[2, 4)", "3 blocks"});
}

TEST_CASE("sample_with_log_prob carries the density along the generating path: it equals log_prob of its samples", "[flows]") {
  // Two estimators of one number: the density integrated from the base to the sample, and the one
  // integrated back from the sample to the base (a second, independent solve).
  manual_seed(5);
  auto mlp = [] {
    auto v = std::make_shared<VelocityMlp>(VelocityMlpOptions{.dim = 2, .hidden = {32, 32}, .time_features = 8});
    v->to(DType::Float64);
    return v;
  };
  const FlowSolverOptions tight{.ode = {.rtol = 1e-9, .atol = 1e-9}};
  FlowMatching fm(mlp(), {.solver = tight});
  LocalFlowMatching lfm({mlp(), mlp(), mlp()}, {.step_sizes = {0.2, 0.3}, .solver = tight});
  for (FlowModel* flow : {static_cast<FlowModel*>(&fm), static_cast<FlowModel*>(&lfm)}) {
    Generator a(6), b(6);
    const FlowSample s = flow->sample_with_log_prob(50, &a);
    REQUIRE(s.x.shape() == Shape{50, 2});
    REQUIRE(s.log_prob.shape() == Shape{50});
    // The same z and path; dopri5 controls the error of [x, integral] together, so its steps differ a little.
    REQUIRE(max(abs(sub(s.x, flow->sample(50, &b)))).item<double>() < 1e-6);
    REQUIRE(max(abs(sub(s.log_prob, flow->log_prob(s.x)))).item<double>() < 1e-6);
  }
  // For the linear field the closed form of the FM test above.
  const Upper a{0.3, 0.5, -0.2};
  FlowMatching linear(std::make_shared<LinearVelocity>(a.matrix()), {.solver = kTightSolver});
  Generator gen(7);
  const FlowSample s = linear.sample_with_log_prob(3, &gen);
  const std::vector<double> xs = s.x.to_vector<double>(), lp = s.log_prob.to_vector<double>();
  const std::vector<double> m_inv = inverse(a.expm());
  for (int i = 0; i < 3; ++i)
    REQUIRE(lp[i] == Approx(log_standard_normal(apply(m_inv, xs[2 * i], xs[2 * i + 1])) - (a.a + a.c)).margin(1e-8));
}

TEST_CASE("the velocity MLP has the W3 layout and its exact divergence matches finite differences", "[flows]") {
  VelocityMlp w3({.dim = 2});  // 3 -> 256 -> 256 -> 256 -> 2
  std::vector<Shape> shapes;
  for (const auto& [name, p] : w3.named_parameters()) shapes.push_back(p.shape());
  REQUIRE(shapes == std::vector<Shape>{{256, 3}, {256}, {256, 256}, {256}, {256, 256}, {256}, {2, 256}, {2}});
  REQUIRE(w3.velocity(zeros({5, 2}), zeros({5})).shape() == Shape{5, 2});

  manual_seed(5);
  VelocityMlp net({.dim = 3, .hidden = {16, 16}, .time_features = 8});
  net.to(DType::Float64);
  REQUIRE(net.named_parameters()[0].second.shape() == Shape{16, 11});
  const std::vector<double> x{0.3, -0.8, 1.1};
  const double t = 0.37;
  const auto v = [&](const Tensor& p, const Tensor& tt) { return net.velocity(p, tt); };
  const double exact = exact_divergence(v, tensor64(x, {1, 3}), tensor64({t}, {1})).divergence.item<double>();
  double fd = 0;
  const double eps = 1e-6;
  for (int i = 0; i < 3; ++i) {
    std::vector<double> plus = x, minus = x;
    plus[i] += eps, minus[i] -= eps;
    const double vp = net.velocity(tensor64(plus, {1, 3}), tensor64({t}, {1})).to_vector<double>()[i];
    const double vm = net.velocity(tensor64(minus, {1, 3}), tensor64({t}, {1})).to_vector<double>()[i];
    fd += (vp - vm) / (2 * eps);
  }
  REQUIRE(exact == Approx(fd).margin(1e-7));
  // The sinusoidal features of t = 0: sines 0, cosines 1.
  REQUIRE(net.time_input(tensor64({0.0}, {1}), DType::Float64).to_vector<double>() ==
          std::vector<double>{0, 0, 0, 0, 1, 1, 1, 1});
  require_error([] { VelocityMlp({.dim = 2, .time_features = 3}); }, {"VelocityMlp", "time_features", "3"});
  require_error([&] { w3.velocity(zeros({5, 3}), zeros({5})); }, {"VelocityMlp", "[N, 2]", "[5, 3]"});
}

TEST_CASE("the FM and LFM objectives have their expected values under a zero velocity field", "[flows]") {
  // With v = 0 the loss is E ||dI_t/dt||^2: for FM's linear path ||x1 - x0||^2, whose mean over
  // x0 ~ N(0, I) is ||x1||^2 + D; for an LFM OU block with the linear path ||OU_h(x) - x||^2, whose
  // mean is (1 - e^-h)^2 ||x||^2 + D (1 - e^-2h).
  const int64_t n = 100000;
  const Tensor x = full({n, 2}, 1.5, {DType::Float64});
  Generator gen(6);
  FlowMatching fm(std::make_shared<LinearVelocity>(std::vector<double>{0, 0, 0, 0}));
  REQUIRE(fm.loss(x, &gen)[0].second.item<double>() == Approx(2 * 1.5 * 1.5 + 2).epsilon(0.01));
  const double h = 0.3;
  LocalFlowMatching lfm({std::make_shared<LinearVelocity>(std::vector<double>{0, 0, 0, 0}),
                         std::make_shared<LinearVelocity>(std::vector<double>{0, 0, 0, 0})},
                        {.step_sizes = {h}, .interpolant = Interpolant::Linear});
  const double ou = std::pow(1 - std::exp(-h), 2) * 2 * 1.5 * 1.5 + 2 * (1 - std::exp(-2 * h));
  REQUIRE(lfm.loss(x, &gen)[0].second.item<double>() == Approx(ou).epsilon(0.01));
  // The free block pairs x with independent noise: mean ||z - x||^2 = ||x||^2 + D.
  lfm.set_stage(1, false);
  const LossTerms terms = lfm.loss(x, &gen);
  REQUIRE(terms[0].second.item<double>() == Approx(2 * 1.5 * 1.5 + 2).epsilon(0.01));
  REQUIRE(terms[1].first == "block");
  REQUIRE(terms[1].second.item<double>() == 1.0);
  // The trig path's speed: E ||(pi/2)(cos x1 - sin x0)||^2 with x0 = x fixed, x1 = z free, t ~ U(0, 1):
  // (pi/2)^2 (D E[cos^2] + ||x||^2 E[sin^2]) = (pi/2)^2 (D + ||x||^2) / 2.
  LocalFlowMatching trig({std::make_shared<LinearVelocity>(std::vector<double>{0, 0, 0, 0})}, {.step_sizes = {}});
  const double pi2 = std::numbers::pi / 2;
  REQUIRE(trig.loss(x, &gen)[0].second.item<double>() == Approx(pi2 * pi2 * (2 + 2 * 1.5 * 1.5) / 2).epsilon(0.01));
}

TEST_CASE("LFM stages: the block of an epoch, warm starts only when a block starts", "[flows]") {
  manual_seed(8);
  std::vector<std::shared_ptr<VelocityField>> blocks;
  for (int i = 0; i < 3; ++i) blocks.push_back(std::make_shared<VelocityMlp>(VelocityMlpOptions{.dim = 2, .hidden = {8}}));
  LocalFlowMatching lfm(blocks, {.step_sizes = {0.1, 0.2}, .block_epochs = 2});
  REQUIRE(lfm.stage_of_epoch(0) == 0);
  REQUIRE(lfm.stage_of_epoch(1) == 0);
  REQUIRE(lfm.stage_of_epoch(2) == 1);
  REQUIRE(lfm.stage_of_epoch(5) == 2);
  REQUIRE(lfm.stage_of_epoch(100) == 2);  // the free block keeps training
  const auto weights = [&](int b) { return lfm.block(b).parameters()[0].to_vector<float>(); };
  REQUIRE(weights(1) != weights(0));
  lfm.set_stage(1, /*starting=*/false);  // resuming inside block 1: its own weights stay
  REQUIRE(weights(1) != weights(0));
  lfm.set_stage(1, /*starting=*/true);
  REQUIRE(weights(1) == weights(0));
  REQUIRE(lfm.active_block() == 1);
  require_error([&] { lfm.set_stage(3, true); }, {"LFM", "stage 3", "3 blocks"});
  require_error([&] { LocalFlowMatching({blocks[0]}, {.step_sizes = {0.1}}); }, {"LFM", "1 step sizes need 2 blocks"});
}

namespace {

// Trains a flow model on 8 Gaussians with Adam for `steps` batches of `batch`, from `gen`.
void train_steps(FlowModel& model, const Tensor& data, int64_t steps, int64_t batch, double lr, Generator* gen) {
  optim::Adam adam(model.parameters(), {.lr = lr});
  for (int64_t s = 0; s < steps; ++s) {
    const Tensor idx = randint(0, data.size(0), {batch}, {DType::Int64}, gen);
    adam.zero_grad();
    model.loss(index_select(data, 0, idx), gen)[0].second.backward();
    adam.step();
  }
}

const FlowSolverOptions kSamplingSolver{.ode = {.method = OdeMethod::Rk4, .steps = 20}};

}  // namespace

TEST_CASE("a short FM training on 8 Gaussians brings sliced W2 under 0.35", "[flows]") {
  manual_seed(10);
  Generator data_gen(11), gen(12), eval_gen(13);
  const Tensor train = sample_toy_distribution("8gaussians", 8192, &data_gen);
  const Tensor held_out = sample_toy_distribution("8gaussians", 2000, &data_gen);
  FlowMatching fm(std::make_shared<VelocityMlp>(VelocityMlpOptions{.dim = 2, .hidden = {64, 64}}),
                  {.solver = kSamplingSolver});
  const double before = sliced_wasserstein2(fm.sample(2000, &gen), held_out, 200, &eval_gen);
  train_steps(fm, train, 600, 256, 3e-3, &gen);
  const double after = sliced_wasserstein2(fm.sample(2000, &gen), held_out, 200, &eval_gen);
  INFO("sliced W2 before " << before << ", after " << after);
  REQUIRE(before > 1.0);
  REQUIRE(after < 0.35);
}

TEST_CASE("a short LFM training on 8 Gaussians, block after block, brings sliced W2 under 0.35", "[flows]") {
  manual_seed(20);
  Generator data_gen(21), gen(22), eval_gen(23);
  const Tensor train = sample_toy_distribution("8gaussians", 4096, &data_gen);
  const Tensor held_out = sample_toy_distribution("8gaussians", 1000, &data_gen);
  std::vector<std::shared_ptr<VelocityField>> blocks;
  for (int i = 0; i < 3; ++i) blocks.push_back(std::make_shared<VelocityMlp>(VelocityMlpOptions{.dim = 2, .hidden = {64, 64}}));
  LocalFlowMatching lfm(blocks, {.step_sizes = {0.3, 0.6}, .solver = kSamplingSolver});
  const double before = sliced_wasserstein2(lfm.sample(1000, &gen), held_out, 200, &eval_gen);
  for (int64_t stage = 0; stage < lfm.num_blocks(); ++stage) {
    lfm.set_stage(stage, true);
    Tensor stage_train;
    {
      NoGradGuard no_grad;
      stage_train = lfm.stage_data(stage, train);
    }
    train_steps(lfm, stage_train, 200, 256, 3e-3, &gen);
  }
  const double after = sliced_wasserstein2(lfm.sample(1000, &gen), held_out, 200, &eval_gen);
  INFO("sliced W2 before " << before << ", after " << after);
  REQUIRE(before > 1.0);
  REQUIRE(after < 0.35);
  // The pushed-forward data end near N(0, I): mean ~ 0, variance ~ 1 per coordinate.
  const Tensor z = lfm.push_forward(held_out, 0, lfm.num_blocks());
  REQUIRE(std::abs(mean(z).item<double>()) < 0.15);
  REQUIRE(mean(square(z)).item<double>() == Approx(1.0).margin(0.25));
}
