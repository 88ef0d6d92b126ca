// Post-accumulate-grad hooks (what the distributed gradient reducer builds on).
#include "test_helpers.h"

using namespace strata;
using namespace strata::test;

TEST_CASE("a post-accumulate-grad hook sees each leaf's summed gradient once per backward", "[autograd][hooks]") {
  Tensor x = tensor64({1, 2}, {2}).set_requires_grad(true);
  std::vector<std::vector<double>> seen;
  autograd::PostAccumulateGradHookHandle handle = autograd::register_post_accumulate_grad_hook(
      x, [&](const Tensor& leaf) { seen.push_back(leaf.grad().to_vector<double>()); });
  // x reaches the loss along two paths (x*x and 3x): the hook runs once, after both are summed.
  sum(add(mul(x, x), mul(x, 3.0))).backward();
  REQUIRE(seen.size() == 1);
  REQUIRE(seen[0] == std::vector<double>{5, 7});  // 2x + 3
  // A second backward accumulates; the hook sees the running total.
  sum(x).backward();
  REQUIRE(seen.size() == 2);
  REQUIRE(seen[1] == std::vector<double>{6, 8});
  // autograd::grad leaves .grad() alone, so no hook runs.
  autograd::grad({sum(mul(x, x))}, {x});
  REQUIRE(seen.size() == 2);
  handle.remove();
  sum(x).backward();
  REQUIRE(seen.size() == 2);
}

TEST_CASE("hooks run in registration order and go away with their handles", "[autograd][hooks]") {
  Tensor w = tensor64({1}, {1}).set_requires_grad(true);
  std::string order;
  auto a = autograd::register_post_accumulate_grad_hook(w, [&](const Tensor&) { order += "a"; });
  {
    auto b = autograd::register_post_accumulate_grad_hook(w, [&](const Tensor&) { order += "b"; });
    sum(mul(w, 2.0)).backward();
  }
  sum(mul(w, 2.0)).backward();
  REQUIRE(order == "aba");
  // A handle that outlives its leaf is harmless.
  autograd::PostAccumulateGradHookHandle orphan;
  {
    Tensor v = tensor64({1}, {1}).set_requires_grad(true);
    orphan = autograd::register_post_accumulate_grad_hook(v, [](const Tensor&) {});
  }
  orphan.remove();
}

TEST_CASE("a hook needs a leaf that requires grad", "[autograd][hooks][errors]") {
  Tensor x = tensor64({1, 2}, {2}).set_requires_grad(true);
  Tensor y = mul(x, 2.0);
  require_error([&] { autograd::register_post_accumulate_grad_hook(y, [](const Tensor&) {}); },
                {"register_post_accumulate_grad_hook", "non-leaf", "[2]"});
  require_error([&] { autograd::register_post_accumulate_grad_hook(tensor64({1}, {1}), [](const Tensor&) {}); },
                {"register_post_accumulate_grad_hook", "does not require grad"});
}
