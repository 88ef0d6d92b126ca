// W1: the MLP VAE trained for one epoch on Fashion-MNIST (468 steps of 128 after one warm-up
// step), reported as images/s and as the fraction of this machine's sgemm limit it reaches
// (5.7 MFLOP per image per training step, as WORKLOADS.md states).
#include <chrono>

#include "bench/workloads.h"
#include "engine/data/fashion_mnist.h"
#include "engine/data/loader.h"
#include "engine/optim/adam.h"
#include "models/autoencoders/mlp_vae.h"
#include "ops/ops.h"

namespace strata::bench {

std::vector<Figure> run_w1_mlp_vae(bool full_epoch) {
  manual_seed(0);
  const TensorDataset train = load_fashion_mnist("train");
  auto vae = std::make_shared<models::MlpVae>();
  optim::Adam adam(vae->parameters(), {.lr = 1e-3});
  DataLoader loader(train, {.batch_size = 128, .shuffle = true, .drop_last = true, .seed = 0});
  Generator sample_gen(1);
  auto step = [&](const Batch& batch) {
    adam.zero_grad();
    vae->loss(batch.inputs, &sample_gen).total.backward();
    adam.step();
  };
  loader.start_epoch();
  step(loader.batch(0));  // warm-up
  const int64_t steps = full_epoch ? loader.num_batches() : 50;
  const auto start = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < steps; ++i) step(loader.batch(i));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double images_per_s = static_cast<double>(steps * 128) / seconds;
  const double sgemm = measure_sgemm_gflops();
  const double fraction = images_per_s * 5.7e6 / (sgemm * 1e9);
  return {{"W1 mlp-vae", "images/s", images_per_s,
           std::to_string(steps) + " steps; " + std::to_string(100 * fraction).substr(0, 4) + "% of sgemm limit (" +
               std::to_string(static_cast<int>(sgemm)) + " GFLOP/s)"}};
}

}  // namespace strata::bench
