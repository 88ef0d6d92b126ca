// W3: the flow-matching velocity MLP (3 -> 256 -> 256 -> 256 -> 2, SiLU) trained with batches of
// 1024 on the two-Gaussian data WORKLOADS.md defines, x1 = 0.5 N(0, I) + (+-2, +-2); x0 ~ N(0, I),
// t ~ U(0, 1), the linear path, loss = mean over the batch of ||v(x_t, t) - (x1 - x0)||^2 (the
// FlowMatching model's defaults). Reported as steps/s over 300 steps after one warm-up step.
#include <chrono>

#include "bench/workloads.h"
#include "engine/optim/adam.h"
#include "models/flows/flow_matching.h"
#include "models/flows/velocity_mlp.h"
#include "ops/ops.h"

namespace strata::bench {

std::vector<Figure> run_w3_fm_2d() {
  manual_seed(0);
  models::FlowMatching fm(std::make_shared<models::VelocityMlp>(models::VelocityMlpOptions{.dim = 2}));
  optim::Adam adam(fm.parameters(), {.lr = 1e-3});
  Generator data_gen(1), noise_gen(2);
  constexpr int64_t batch = 1024;
  auto step = [&] {
    // +2 or -2 on both coordinates with probability 1/2, plus 0.5 N(0, I).
    const Tensor sign = sub(mul(bernoulli({batch, 1}, 0.5, {}, &data_gen), 4.0), 2.0);
    const Tensor x1 = add(mul(randn({batch, 2}, {}, &data_gen), 0.5), sign);
    adam.zero_grad();
    const Tensor loss = fm.loss(x1, &noise_gen)[0].second;
    loss.backward();
    adam.step();
    return loss.item<double>();
  };
  step();  // warm-up
  constexpr int steps = 300;
  double last = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < steps; ++i) last = step();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return {{"W3 fm-2d", "steps/s", steps / seconds, "300 steps of 1024; final loss " + std::to_string(last).substr(0, 5)}};
}

}  // namespace strata::bench
