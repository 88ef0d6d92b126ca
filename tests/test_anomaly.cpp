// Anomaly mode: the first op whose output (forward) or input gradient (backward) holds NaN or Inf
// is named in the error, as PyTorch's torch.autograd.set_detect_anomaly.
#include <cmath>
#include <limits>

#include "test_helpers.h"

using namespace strata;
using namespace strata::test;

TEST_CASE("anomaly mode names the op whose forward output is not finite", "[autograd][anomaly]") {
  const Tensor x = tensor64({1.0, 0.0, 2.0}, {3}).set_requires_grad(true);
  const Tensor y = mul(x, 2.0);
  {
    AnomalyGuard anomaly;
    require_error([&] { log(y); }, {"anomaly: forward of 'log'", "Inf", "shape [3]", "inputs of shapes [3]"});
    require_error([&] { sqrt(sub(y, 3.0)); }, {"anomaly: forward of 'sqrt'", "NaN"});
    // Finite values pass, and ops that record nothing (no input needs grad) are not checked.
    REQUIRE_NOTHROW(log(add(y, 1.0)));
    REQUIRE_NOTHROW(log(tensor64({0.0}, {1})));
  }
  // Off (the default): the same op gives -inf silently.
  REQUIRE_FALSE(AnomalyMode::enabled());
  REQUIRE(std::isinf(log(y).to_vector<double>()[1]));
}

TEST_CASE("anomaly mode names the op whose backward produced a non-finite gradient", "[autograd][anomaly]") {
  // sqrt is finite at 0 but its derivative 1 / (2 sqrt(x)) is not.
  const Tensor x = tensor32({0.0f, 4.0f}, {2}).set_requires_grad(true);
  {
    AnomalyGuard anomaly;
    const Tensor loss = sum(mul(sqrt(x), 3.0));
    require_error([&] { loss.backward(); },
                  {"anomaly: backward of 'sqrt'", "Inf", "gradient for input 0", "shape [2]",
                   "the gradient it received was finite"});
  }
  // Without anomaly mode the infinite gradient reaches .grad() unremarked.
  const Tensor loss = sum(mul(sqrt(x), 3.0));
  loss.backward();
  REQUIRE(std::isinf(x.grad().to_vector<float>()[0]));
}

TEST_CASE("anomaly mode passes a finite graph and leaves results unchanged", "[autograd][anomaly]") {
  Tensor a = leaf64({3, 4}, 1), b = leaf64({4, 2}, 2);
  auto run = [&] {
    a.zero_grad();
    b.zero_grad();
    sum(tanh(matmul(a, b))).backward();
    return std::make_pair(a.grad().to_vector<double>(), b.grad().to_vector<double>());
  };
  const auto plain = run();
  AnomalyGuard anomaly;
  REQUIRE(run() == plain);
}
