// W1: the MLP VAE trained for one epoch on Fashion-MNIST (468 steps of 128 after one warm-up
// step), reported as images/s. The sgemm fraction is computed by the driver (bench/main.cpp).
#include "bench/step_times.h"
#include "bench/workloads.h"
#include "engine/data/fashion_mnist.h"
#include "engine/data/loader.h"
#include "engine/optim/adam.h"
#include "models/autoencoders/mlp_vae.h"
#include "ops/ops.h"

namespace strata::bench {

Figure run_w1_mlp_vae(bool quick, Device device, int64_t batch) {
  manual_seed(0);
  const TensorDataset train = load_fashion_mnist("train");
  auto vae = std::make_shared<models::MlpVae>();
  vae->to(device);
  optim::Adam adam(vae->parameters(), {.lr = 1e-3});
  DataLoader loader(train, {.batch_size = batch, .shuffle = true, .drop_last = true, .seed = 0});
  Generator sample_gen(1);
  float last_loss = 0;
  auto step = [&](const Batch& batch) {
    adam.zero_grad();
    Tensor loss = vae->loss(to_device(batch.inputs, device), &sample_gen).total;
    loss.backward();
    adam.step();
    last_loss = loss.item<float>();
  };
  loader.start_epoch();
  step(loader.batch(0));  // warm-up
  const int64_t steps = quick ? 50 : loader.num_batches();
  StepTimes times;
  for (int64_t i = 0; i < steps; ++i) times.time([&] { step(loader.batch(i)); });
  const double seconds = times.total_seconds();
  return {"W1", "images/s", static_cast<double>(steps * batch) / seconds,
          std::to_string(steps) + " steps of " + std::to_string(batch) + " on " + device.str() + ", last batch loss " +
              std::to_string(last_loss) + "; " + times.summary()};
}

}  // namespace strata::bench
