// The autograd engine: accumulation, retain_graph, autograd::grad, NoGradGuard, version checks.
#include "test_helpers.h"

using namespace strata;
using namespace strata::test;

TEST_CASE("backward accumulates into leaves across calls and through shared inputs", "[autograd]") {
  Tensor x = tensor64({1, 2, 3}, {3}).set_requires_grad(true);
  // y = sum(x * x + x): dy/dx = 2x + 1, and x feeds two ops (the engine must sum both paths).
  Tensor y = sum(add(mul(x, x), x));
  y.backward();
  require_values(x.grad(), {3, 5, 7});
  sum(mul(x, 2.0)).backward();  // accumulates: + 2
  require_values(x.grad(), {5, 7, 9});
  x.zero_grad();
  REQUIRE_FALSE(x.grad().defined());
}

TEST_CASE("a second backward through a freed graph is an error unless retain_graph", "[autograd]") {
  Tensor x = tensor64({1, 2}, {2}).set_requires_grad(true);
  Tensor y = sum(exp(x));
  y.backward(Tensor(), /*retain_graph=*/true);
  y.backward();
  require_values(x.grad(), {2 * std::exp(1.0), 2 * std::exp(2.0)}, 1e-12);
  require_error([&] { y.backward(); }, {"already freed", "retain_graph"});
}

TEST_CASE("backward of a non-scalar needs a gradient of its shape", "[autograd][errors]") {
  Tensor x = tensor64({1, 2}, {2}).set_requires_grad(true);
  Tensor y = mul(x, 3.0);
  require_error([&] { y.backward(); }, {"backward", "[2]", "one-element"});
  require_error([&] { y.backward(tensor64({1, 1, 1}, {3})); }, {"backward", "[3]", "[2]"});
  y.backward(tensor64({1, -1}, {2}));
  require_values(x.grad(), {3, -3});
}

TEST_CASE("autograd::grad returns gradients without touching .grad()", "[autograd]") {
  Tensor x = tensor64({0.5, -1.0}, {2}).set_requires_grad(true);
  Tensor w = tensor64({2.0, 3.0}, {2}).set_requires_grad(true);
  Tensor y = sum(mul(tanh(x), w));
  std::vector<Tensor> g = autograd::grad({y}, {x});
  require_values(g[0], {2.0 * (1 - std::pow(std::tanh(0.5), 2)), 3.0 * (1 - std::pow(std::tanh(-1.0), 2))}, 1e-12);
  REQUIRE_FALSE(x.grad().defined());
  REQUIRE_FALSE(w.grad().defined());
}

TEST_CASE("autograd::grad reports unused inputs unless allowed", "[autograd][errors]") {
  Tensor x = tensor64({1}, {1}).set_requires_grad(true);
  Tensor z = tensor64({1}, {1}).set_requires_grad(true);
  Tensor y = sum(mul(x, 2.0));
  require_error([&] { autograd::grad({y}, {z}, {}, true); }, {"autograd::grad", "not used"});
  std::vector<Tensor> g = autograd::grad({y}, {x, z}, {}, false, true);
  require_values(g[0], {2});
  REQUIRE_FALSE(g[1].defined());
}

TEST_CASE("NoGradGuard stops recording", "[autograd]") {
  Tensor x = tensor64({1}, {1}).set_requires_grad(true);
  Tensor y;
  {
    NoGradGuard guard;
    y = mul(x, 2.0);
  }
  REQUIRE_FALSE(y.requires_grad());
  REQUIRE(GradMode::enabled());
  require_error([&] { sum(y).backward(); }, {"does not require grad"});
}

TEST_CASE("modifying a saved tensor in place is caught in backward", "[autograd][errors]") {
  Tensor a = tensor64({1, 2}, {2}).set_requires_grad(true);
  Tensor b = tensor64({3, 4}, {2});
  Tensor y = sum(mul(a, b));  // saves b
  fill_(b, 0.0);
  require_error([&] { y.backward(); }, {"mul", "modified in place"});
}

TEST_CASE("in-place ops refuse leaves that require grad while grad mode is on", "[autograd][errors]") {
  Tensor a = tensor64({1, 2}, {2}).set_requires_grad(true);
  require_error([&] { fill_(a, 0.0); }, {"fill_", "requires grad"});
  NoGradGuard guard;
  fill_(a, 1.0);
  require_values(a, {1, 1});
}

TEST_CASE("detach cuts the graph but shares storage", "[autograd]") {
  Tensor a = tensor64({1, 2}, {2}).set_requires_grad(true);
  Tensor d = mul(a, 2.0).detach();
  REQUIRE_FALSE(d.requires_grad());
  REQUIRE(d.is_leaf());
  Tensor view = a.detach();
  REQUIRE(view.storage() == a.storage());
}

TEST_CASE("gradients reach leaves through views and broadcasting", "[autograd]") {
  Tensor x = leaf64({2, 3}, 1);
  Tensor b = leaf64({3}, 2);
  require_gradcheck([](const std::vector<Tensor>& in) { return sum(mul(transpose(add(in[0], in[1]), 0, 1), 2.0)); },
                    {x, b});
}

TEST_CASE("a deep graph of diamonds: every node runs once, after all its consumers", "[autograd]") {
  // 400 diamonds y -> (y * 1.5, y * 0.5) -> sum: each level's node has two consumers, and the
  // graph (1,600 nodes) outgrows the backward pass's node index many times over. Each diamond
  // multiplies the gradient by 1.5 + 0.5 = 2; the powers of two keep the result exact.
  Tensor x = tensor64({1.0, -2.0, 3.0}, {3}).set_requires_grad(true);
  Tensor y = x;
  for (int level = 0; level < 400; ++level) y = mul(add(mul(y, 1.5), mul(y, 0.5)), 0.5);
  // Each level doubles and halves: y == x, and dy/dx == 1 exactly.
  sum(mul(y, x)).backward();
  require_values(x.grad(), {2.0, -4.0, 6.0}, 0.0);
  // autograd::grad through the same kind of graph captures the gradient at an inner node.
  Tensor a = tensor64({2.0}, {1}).set_requires_grad(true);
  Tensor mid = mul(a, 3.0), top = mid;
  for (int level = 0; level < 50; ++level) top = add(mul(top, 0.5), mul(top, 0.5));
  const std::vector<Tensor> g = autograd::grad({sum(top)}, {mid, a});
  require_values(g[0], {1.0}, 0.0);
  require_values(g[1], {3.0}, 0.0);
}
