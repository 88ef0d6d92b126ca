// Optimizers against PyTorch's update formulas written out in plain double arithmetic, gradient
// clipping, LR schedules against their closed forms, and optimizer state round trips.
#include <cmath>
#include <functional>
#include <numbers>

#include "engine/optim/adam.h"
#include "engine/optim/clip_grad.h"
#include "engine/optim/lr_scheduler.h"
#include "engine/optim/rmsprop.h"
#include "engine/optim/sgd.h"
#include "test_helpers.h"

using namespace strata;
using namespace strata::test;
using namespace strata::optim;

namespace {

// The loss every optimizer test descends: sum(c * p^2), so the gradient is 2 c p.
const std::vector<double> kCoef = {1.0, 3.0, -0.5};
const std::vector<double> kStart = {1.0, -2.0, 0.5};

Tensor make_param(DType dtype) {
  Tensor p = dtype == DType::Float64 ? tensor64(kStart, {3})
                                     : tensor32({float(kStart[0]), float(kStart[1]), float(kStart[2])}, {3});
  return p.set_requires_grad(true);
}

void compute_grad(const Tensor& p) {
  Tensor c = to_dtype(tensor64(kCoef, {3}), p.dtype());
  sum(mul(square(p), c)).backward();
}

// One reference update: p, grad and the per-element state (indexed by buffer) at step t (1-based).
using Reference = std::function<void(double& p, double g, std::vector<double>& state, int t)>;

// Runs `steps` optimizer steps on the quadratic and compares with the reference after each.
void check_against_reference(const std::function<std::unique_ptr<Optimizer>(Tensor)>& make,
                             const Reference& ref, int steps, DType dtype = DType::Float64,
                             double tol = 1e-12) {
  Tensor p = make_param(dtype);
  std::unique_ptr<Optimizer> opt = make(p);
  std::vector<double> expected = kStart;
  std::vector<std::vector<double>> state(3, std::vector<double>(4, 0.0));
  for (int t = 1; t <= steps; ++t) {
    opt->zero_grad();
    compute_grad(p);
    opt->step();
    for (size_t i = 0; i < 3; ++i) ref(expected[i], 2.0 * kCoef[i] * expected[i], state[i], t);
    INFO("step " << t);
    require_values(p, expected, tol);
  }
  REQUIRE(opt->step_count() == steps);
}

Reference sgd_reference(double lr, double momentum, double dampening, double wd, bool nesterov) {
  return [=](double& p, double g, std::vector<double>& s, int t) {
    double d = g + wd * p;
    if (momentum != 0.0) {
      s[0] = t == 1 ? d : momentum * s[0] + (1 - dampening) * d;
      d = nesterov ? d + momentum * s[0] : s[0];
    }
    p -= lr * d;
  };
}

Reference adam_reference(double lr, double b1, double b2, double eps, double wd, bool decoupled,
                         bool amsgrad) {
  return [=](double& p, double g, std::vector<double>& s, int t) {
    if (decoupled)
      p *= 1 - lr * wd;
    else
      g += wd * p;
    s[0] = b1 * s[0] + (1 - b1) * g;
    s[1] = b2 * s[1] + (1 - b2) * g * g;
    s[2] = std::max(s[2], s[1]);
    const double v = amsgrad ? s[2] : s[1];
    const double bc1 = 1 - std::pow(b1, t), bc2 = 1 - std::pow(b2, t);
    p -= lr / bc1 * s[0] / (std::sqrt(v) / std::sqrt(bc2) + eps);
  };
}

Reference rmsprop_reference(double lr, double alpha, double eps, double wd, double momentum) {
  return [=](double& p, double g, std::vector<double>& s, int) {
    g += wd * p;
    s[0] = alpha * s[0] + (1 - alpha) * g * g;
    const double step = g / (std::sqrt(s[0]) + eps);
    if (momentum > 0) {
      s[1] = momentum * s[1] + step;
      p -= lr * s[1];
    } else {
      p -= lr * step;
    }
  };
}

}  // namespace

TEST_CASE("SGD follows PyTorch's update, with and without momentum", "[optim]") {
  struct Case {
    double lr, momentum, dampening, wd;
    bool nesterov;
  };
  for (const Case c :
       {Case{0.1, 0.0, 0.0, 0.0, false}, Case{0.1, 0.0, 0.0, 0.05, false}, Case{0.05, 0.9, 0.0, 0.0, false},
        Case{0.05, 0.9, 0.3, 0.01, false}, Case{0.05, 0.8, 0.0, 0.02, true}}) {
    INFO("lr " << c.lr << " momentum " << c.momentum << " dampening " << c.dampening << " wd " << c.wd
               << " nesterov " << c.nesterov);
    check_against_reference(
        [&](Tensor p) {
          return std::make_unique<SGD>(std::vector<Tensor>{p},
                                       SGDOptions{c.lr, c.momentum, c.dampening, c.wd, c.nesterov});
        },
        sgd_reference(c.lr, c.momentum, c.dampening, c.wd, c.nesterov), 4);
  }
}

TEST_CASE("Adam, AdamW and AMSGrad follow PyTorch's update", "[optim]") {
  check_against_reference(
      [](Tensor p) { return std::make_unique<Adam>(std::vector<Tensor>{p}, AdamOptions{.lr = 0.1}); },
      adam_reference(0.1, 0.9, 0.999, 1e-8, 0.0, false, false), 5);
  check_against_reference(
      [](Tensor p) {
        return std::make_unique<Adam>(
            std::vector<Tensor>{p},
            AdamOptions{.lr = 0.05, .beta1 = 0.8, .beta2 = 0.99, .eps = 1e-3, .weight_decay = 0.1});
      },
      adam_reference(0.05, 0.8, 0.99, 1e-3, 0.1, false, false), 5);
  check_against_reference(
      [](Tensor p) {
        return std::make_unique<AdamW>(std::vector<Tensor>{p}, AdamWOptions{.lr = 0.05, .weight_decay = 0.2});
      },
      adam_reference(0.05, 0.9, 0.999, 1e-8, 0.2, true, false), 5);
  check_against_reference(
      [](Tensor p) {
        return std::make_unique<Adam>(std::vector<Tensor>{p}, AdamOptions{.lr = 0.3, .amsgrad = true});
      },
      adam_reference(0.3, 0.9, 0.999, 1e-8, 0.0, false, true), 6);
}

TEST_CASE("RMSprop follows PyTorch's update", "[optim]") {
  check_against_reference(
      [](Tensor p) { return std::make_unique<RMSprop>(std::vector<Tensor>{p}, RMSpropOptions{}); },
      rmsprop_reference(1e-2, 0.99, 1e-8, 0.0, 0.0), 4);
  check_against_reference(
      [](Tensor p) {
        return std::make_unique<RMSprop>(
            std::vector<Tensor>{p},
            RMSpropOptions{.lr = 0.02, .alpha = 0.9, .eps = 1e-4, .weight_decay = 0.1, .momentum = 0.7});
      },
      rmsprop_reference(0.02, 0.9, 1e-4, 0.1, 0.7), 4);
}

TEST_CASE("float32 optimizer kernels agree with the double formulas", "[optim]") {
  check_against_reference(
      [](Tensor p) { return std::make_unique<Adam>(std::vector<Tensor>{p}, AdamOptions{.lr = 0.1}); },
      adam_reference(0.1, 0.9, 0.999, 1e-8, 0.0, false, false), 3, DType::Float32, 1e-5);
  check_against_reference(
      [](Tensor p) {
        return std::make_unique<SGD>(std::vector<Tensor>{p},
                                     SGDOptions{.lr = 0.05, .momentum = 0.9, .nesterov = true});
      },
      sgd_reference(0.05, 0.9, 0.0, 0.0, true), 3, DType::Float32, 1e-5);
  check_against_reference(
      [](Tensor p) {
        return std::make_unique<RMSprop>(std::vector<Tensor>{p}, RMSpropOptions{.momentum = 0.5});
      },
      rmsprop_reference(1e-2, 0.99, 1e-8, 0.0, 0.5), 3, DType::Float32, 1e-5);
}

TEST_CASE("Adam minimises a quadratic on a parameter large enough to run in parallel", "[optim]") {
  // 100k elements spans several TBB chunks, so the parallel split of the fused loop is exercised.
  const int64_t n = 100000;
  Generator gen(7);
  Tensor target = randn({n}, {}, &gen);
  Tensor p = zeros({n}).set_requires_grad(true);
  Adam opt({p}, {.lr = 0.05});
  const double initial = mean(square(sub(p, target))).item<float>();
  for (int i = 0; i < 150; ++i) {
    opt.zero_grad();
    mean(square(sub(p, target))).backward();
    opt.step();
  }
  const double final_loss = mean(square(sub(p, target))).item<float>();
  INFO("initial " << initial << ", final " << final_loss);
  REQUIRE(initial > 0.9);
  REQUIRE(final_loss < 1e-3 * initial);
}

TEST_CASE("optimizers skip parameters without a gradient and bump versions of the ones they update",
          "[optim]") {
  Tensor a = tensor64({1.0, 2.0}, {2}).set_requires_grad(true);
  Tensor b = tensor64({3.0}, {1}).set_requires_grad(true);
  SGD opt({a, b}, {.lr = 0.5});
  Tensor saved = mul(a, b);  // saves a and b for backward
  const uint64_t version_b = b.storage()->version();
  sum(mul(a, 2.0)).backward();
  opt.step();
  require_values(a, {0.0, 1.0});
  require_values(b, {3.0});
  REQUIRE(b.storage()->version() == version_b);
  require_error([&] { sum(saved).backward(); }, {"modified in place"});
}

TEST_CASE("optimizers reject bad parameters and hyperparameters", "[optim][errors]") {
  Tensor p = tensor64({1, 2, 3, 4}, {2, 2}).set_requires_grad(true);
  require_error([&] { SGD({}, {}); }, {"SGD", "empty"});
  require_error([&] { SGD({p, p}, {}); }, {"SGD", "more than once"});
  require_error([&] { SGD({mul(p, 2.0)}, {}); }, {"SGD", "not a leaf", "mul"});
  require_error([&] { Adam({t(p).detach()}, {}); }, {"Adam", "not contiguous", "[2, 2]"});
  require_error([&] { Adam({from_vector(std::vector<int64_t>{1}, {1})}, {}); },
                {"Adam", "floating", "int64"});
  require_error([&] { SGD({p}, {.lr = -1.0}); }, {"SGD", "learning rate", "-1"});
  require_error([&] { SGD({p}, {.momentum = 0.0, .nesterov = true}); }, {"SGD", "Nesterov"});
  require_error([&] { Adam({p}, {.beta1 = 1.0}); }, {"Adam", "betas", "1"});
  require_error([&] { AdamW({p}, {.weight_decay = -0.1}); }, {"AdamW", "weight_decay"});
  require_error([&] { RMSprop({p}, {.alpha = 1.5}); }, {"RMSprop", "alpha", "1.5"});
  Adam opt({p}, {});
  p.set_grad(t(tensor64({1, 2, 3, 4}, {2, 2})));
  require_error([&] { opt.step(); }, {"Adam", "gradient of parameter 0", "not contiguous"});
}

TEST_CASE("optimizer state round-trips so a resumed run matches an uninterrupted one", "[optim]") {
  for (bool amsgrad : {false, true}) {
    Tensor p1 = make_param(DType::Float64), p2 = make_param(DType::Float64);
    Adam a({p1}, {.lr = 0.1, .amsgrad = amsgrad});
    for (int i = 0; i < 3; ++i) {
      a.zero_grad();
      compute_grad(p1);
      a.step();
    }
    {
      NoGradGuard g;
      copy_(p2, p1);
    }
    Adam b({p2}, {.lr = 0.5, .amsgrad = amsgrad});
    const OptimizerState state = a.state_dict();
    REQUIRE(state.count("0.exp_avg"));
    REQUIRE(state.count("0.max_exp_avg_sq") == (amsgrad ? 1u : 0u));
    b.load_state_dict(state);
    REQUIRE(b.lr() == 0.1);
    REQUIRE(b.step_count() == 3);
    for (Adam* o : {&a, &b}) {
      o->zero_grad();
      compute_grad(o->params()[0]);
      o->step();
    }
    require_values(p2, p1.to_vector<double>(), 0.0);
  }
}

TEST_CASE("optimizer load_state_dict rejects mismatched state", "[optim][errors]") {
  Tensor p = make_param(DType::Float64);
  Adam a({p}, {});
  compute_grad(p);
  a.step();
  OptimizerState state = a.state_dict();

  Adam other({tensor64({1, 2}, {2}).set_requires_grad(true)}, {});
  require_error([&] { other.load_state_dict(state); }, {"Adam.load_state_dict", "0.exp_avg", "[3]", "[2]"});
  OptimizerState extra = state;
  extra["0.momentum_buffer"] = zeros({3}, {DType::Float64});
  require_error([&] { a.load_state_dict(extra); }, {"unexpected entry", "0.momentum_buffer"});
  OptimizerState missing = state;
  missing.erase("0.exp_avg_sq");
  require_error([&] { a.load_state_dict(missing); }, {"0.exp_avg_sq", "missing"});
  OptimizerState bad_step = state;
  bad_step["step"] = scalar_tensor(1.0, {DType::Float64});
  require_error([&] { a.load_state_dict(bad_step); }, {"'step'", "int64"});
}

TEST_CASE("clip_grad_norm_ returns the total norm and rescales only above max_norm", "[optim]") {
  Tensor a = tensor64({3, 4}, {2}).set_requires_grad(true);
  Tensor b = tensor64({12}, {1}).set_requires_grad(true);
  Tensor c = tensor64({5}, {1}).set_requires_grad(true);  // no gradient: skipped
  a.set_grad(tensor64({3, 4}, {2}));
  b.set_grad(tensor64({12}, {1}));
  REQUIRE(clip_grad_norm_({a, b, c}, 20.0) == Approx(13.0).epsilon(1e-14));
  require_values(a.grad(), {3, 4}, 0.0);  // below max_norm: untouched

  const double coef = 6.5 / (13.0 + 1e-6);
  REQUIRE(clip_grad_norm_({a, b, c}, 6.5) == Approx(13.0).epsilon(1e-14));
  require_values(a.grad(), {3 * coef, 4 * coef}, 1e-14);
  require_values(b.grad(), {12 * coef}, 1e-14);

  a.set_grad(tensor64({-7, 1}, {2}));
  b.set_grad(tensor64({2}, {1}));
  REQUIRE(clip_grad_norm_({a, b}, 3.5, INFINITY) == Approx(7.0));
  require_values(a.grad(), {-7 * 3.5 / (7 + 1e-6), 3.5 / (7 + 1e-6)}, 1e-14);
  a.set_grad(tensor64({1, -2}, {2}));
  REQUIRE(clip_grad_norm_({a}, 100.0, 1.0) == Approx(3.0));

  Tensor f = tensor32({3, 4}, {2}).set_requires_grad(true);
  f.set_grad(tensor32({3, 4}, {2}));
  REQUIRE(clip_grad_norm_({f}, 1.0) == Approx(5.0).epsilon(1e-6));
  require_values(f.grad(), {0.6, 0.8}, 1e-6);
  require_error([&] { clip_grad_norm_({a}, 1.0, -2.0); }, {"clip_grad_norm_", "norm_type", "-2"});
  require_error([&] { clip_grad_norm_({a}, -1.0); }, {"clip_grad_norm_", "max_norm", "-1"});
}

TEST_CASE("StepLR and CosineAnnealingLR follow PyTorch's closed forms", "[optim]") {
  Tensor p = make_param(DType::Float64);
  SGD opt({p}, {.lr = 0.4});
  StepLR step_lr(opt, 3, 0.5);
  const double expected_step[] = {0.4, 0.4, 0.4, 0.2, 0.2, 0.2, 0.1, 0.1};
  for (int e = 0; e < 8; ++e) {
    INFO("epoch " << e);
    REQUIRE(opt.lr() == Approx(expected_step[e]).epsilon(1e-15));
    REQUIRE(step_lr.last_epoch() == e);
    step_lr.step();
  }

  SGD opt2({p}, {.lr = 1.0});
  CosineAnnealingLR cos_lr(opt2, 10, 0.1);
  for (int e = 0; e <= 10; ++e) {
    INFO("epoch " << e);
    REQUIRE(opt2.lr() == Approx(0.1 + 0.9 * (1 + std::cos(std::numbers::pi * e / 10)) / 2).epsilon(1e-14));
    cos_lr.step();
  }
  cos_lr.set_epoch(5);
  REQUIRE(opt2.lr() == Approx(0.55).epsilon(1e-14));
  require_error([&] { StepLR(opt, 0); }, {"StepLR", "step_size", "0"});
  require_error([&] { CosineAnnealingLR(opt, -3); }, {"CosineAnnealingLR", "T_max", "-3"});
}

TEST_CASE("LinearWarmup ramps linearly, then hands over to the following schedule", "[optim]") {
  Tensor p = make_param(DType::Float64);
  SGD opt({p}, {.lr = 0.3});
  LinearWarmup warm(opt, 4, 0.25);
  const double expected[] = {0.075, 0.13125, 0.1875, 0.24375, 0.3, 0.3};
  for (double lr : expected) {
    REQUIRE(opt.lr() == Approx(lr).epsilon(1e-14));
    warm.step();
  }

  SGD opt2({p}, {.lr = 1.0});
  auto cosine = std::make_shared<CosineAnnealingLR>(opt2, 4);
  LinearWarmup warm_cos(opt2, 2, 0.5, cosine);
  const double expected2[] = {0.5, 0.75, 1.0, (1 + std::cos(std::numbers::pi / 4)) / 2, 0.5};
  for (double lr : expected2) {
    REQUIRE(opt2.lr() == Approx(lr).epsilon(1e-14));
    warm_cos.step();
  }
  require_error([&] { LinearWarmup(opt, 3, 0.0); }, {"LinearWarmup", "start_factor", "0"});
}
