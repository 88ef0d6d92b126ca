// W3: a flow-matching velocity MLP on 2-D data, (x, t) = 3 -> 256 -> 256 -> 256 -> 2 with SiLU,
// batch 1024, x1 = 0.5 N(0, I) + (+-2, +-2) (one sign per example, probability 1/2 each),
// x0 ~ N(0, I), t ~ U(0, 1), x_t = (1 - t) x0 + t x1, loss = mean_batch ||v(x_t, t) - (x1 - x0)||^2,
// Adam lr 1e-3, 300 steps after one warm-up step. The batch is drawn inside the timed step, as a
// training loop would.
#include "bench/step_times.h"
#include "bench/workloads.h"
#include "engine/optim/adam.h"
#include "models/nn/nn.h"
#include "ops/ops.h"

namespace strata::bench {

Figure run_w3_fm_2d(bool quick, Device device, int64_t batch) {
  manual_seed(0);
  auto net = std::make_shared<nn::Sequential>(std::vector<std::shared_ptr<nn::Module>>{
      std::make_shared<nn::Linear>(3, 256), std::make_shared<nn::SiLU>(), std::make_shared<nn::Linear>(256, 256),
      std::make_shared<nn::SiLU>(), std::make_shared<nn::Linear>(256, 256), std::make_shared<nn::SiLU>(),
      std::make_shared<nn::Linear>(256, 2)});
  net->to(device);
  optim::Adam adam(net->parameters(), {.lr = 1e-3});
  Generator gen(1);
  const TensorOptions on{DType::Float32, device};
  float last_loss = 0;
  auto step = [&] {
    // One sign in {-1, +1} per example: 2 b - 1 with b ~ Bernoulli(1/2).
    const Tensor sign = sub(mul(bernoulli({batch, 1}, 0.5, on, &gen), 2.0), 1.0);
    const Tensor x1 = add(mul(randn({batch, 2}, on, &gen), 0.5), mul(sign, 2.0));
    const Tensor x0 = randn({batch, 2}, on, &gen);
    const Tensor t = rand({batch, 1}, on, &gen);
    const Tensor xt = add(mul(rsub(1.0, t), x0), mul(t, x1));
    const Tensor v = net->forward(cat({xt, t}, 1));
    Tensor loss = div(sum(square(sub(v, sub(x1, x0)))), static_cast<double>(batch));
    adam.zero_grad();
    loss.backward();
    adam.step();
    last_loss = loss.item<float>();
  };
  step();  // warm-up
  const int steps = quick ? 30 : 300;
  StepTimes times;
  for (int i = 0; i < steps; ++i) times.time(step);
  const double seconds = times.total_seconds();
  return {"W3", "steps/s", steps / seconds,
          std::to_string(steps) + " steps of " + std::to_string(batch) + " on " + device.str() + ", last loss " +
              std::to_string(last_loss) + "; " + times.summary()};
}

}  // namespace strata::bench
