// The README's main job: the W1 VAE (shared/bench/WORKLOADS.md) trained on Fashion-MNIST with
// Adam(1e-3), batch 128, reshuffled each epoch, last partial batch dropped; then the test loss
// (per-image negative ELBO in nats, one posterior sample, batches of 500) of the 10,000 test images.
//
//   train_vae_mlp [--epochs N] [--seed S] [--threads T]
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "engine/data/fashion_mnist.h"
#include "engine/data/loader.h"
#include "engine/optim/adam.h"
#include "models/autoencoders/mlp_vae.h"
#include "ops/ops.h"

using namespace strata;

namespace {

double test_loss(models::MlpVae& vae, const TensorDataset& test, uint64_t seed) {
  NoGradGuard no_grad;
  vae.eval();
  Generator sample_gen(seed + 1000);
  DataLoader loader(test, {.batch_size = 500, .shuffle = false, .drop_last = false, .seed = seed});
  double total = 0;
  int64_t images = 0;
  for (const Batch& batch : loader) {
    const int64_t n = batch.inputs.size(0);
    total += vae.loss(batch.inputs, &sample_gen).total.item<double>() * static_cast<double>(n);
    images += n;
  }
  vae.train();
  return total / static_cast<double>(images);
}

}  // namespace

int main(int argc, char** argv) {
  int epochs = 1, threads = 0;
  uint64_t seed = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--epochs" && i + 1 < argc) epochs = std::stoi(argv[++i]);
    else if (arg == "--seed" && i + 1 < argc) seed = std::stoull(argv[++i]);
    else if (arg == "--threads" && i + 1 < argc) threads = std::stoi(argv[++i]);
    else {
      std::fprintf(stderr, "usage: train_vae_mlp [--epochs N] [--seed S] [--threads T]\n");
      return 2;
    }
  }
  try {
    if (threads > 0) set_num_threads(threads);
    manual_seed(seed);
    const TensorDataset train = load_fashion_mnist("train");
    const TensorDataset test = load_fashion_mnist("test");
    auto vae = std::make_shared<models::MlpVae>();
    optim::Adam adam(vae->parameters(), {.lr = 1e-3});
    DataLoader loader(train, {.batch_size = 128, .shuffle = true, .drop_last = true, .seed = seed});
    Generator sample_gen(seed + 1);
    std::printf("W1 VAE on Fashion-MNIST: %lld training images, %lld steps per epoch, %d threads\n",
                static_cast<long long>(train.size()), static_cast<long long>(loader.num_batches()), get_num_threads());
    for (int epoch = 1; epoch <= epochs; ++epoch) {
      const auto start = std::chrono::steady_clock::now();
      double running = 0;
      int64_t step = 0;
      for (const Batch& batch : loader) {
        adam.zero_grad();
        models::VaeLoss loss = vae->loss(batch.inputs, &sample_gen);
        loss.total.backward();
        adam.step();
        running += loss.total.item<double>();
        if (++step % 100 == 0)
          std::printf("  epoch %d step %3lld  train loss %.2f\n", epoch, static_cast<long long>(step), running / step);
      }
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::printf("epoch %d: train loss %.2f, %.1f s (%.0f images/s)\n", epoch, running / step, seconds,
                  static_cast<double>(step * 128) / seconds);
    }
    std::printf("test loss: %.2f nats\n", test_loss(*vae, test, seed));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "train_vae_mlp: %s\n", e.what());
    return 1;
  }
  return 0;
}
