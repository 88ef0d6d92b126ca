// Inference from several threads on one model: each thread's results must be bit-identical to the
// same calls made serially. What makes it safe: grad and anomaly modes are thread-local, a
// module's forward under NoGradGuard only reads its parameters and buffers, every Generator is
// passed explicitly (the process-wide default_generator() is shared and unsynchronised), and the
// CPU backend guards its only mutable global (OpenBLAS's thread count) with a mutex.
#include <cstring>
#include <thread>

#include "models/autoencoders/mlp_vae.h"
#include "models/nn/nn.h"
#include "test_helpers.h"

using namespace strata;

namespace {

bool bit_identical(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape() || a.dtype() != b.dtype()) return false;
  const std::vector<float> x = a.to_vector<float>(), y = b.to_vector<float>();
  return std::memcmp(x.data(), y.data(), x.size() * sizeof(float)) == 0;
}

// Runs task(i) for i in [0, n) serially, then from 4 threads (each taking every 4th i, `rounds`
// times over), and requires every concurrent result to equal the serial one bit for bit.
template <class Task>
void require_thread_safe(int n, int rounds, Task task) {
  std::vector<Tensor> serial;
  for (int i = 0; i < n; ++i) serial.push_back(task(i));
  constexpr int kThreads = 4;
  std::vector<int> mismatches(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int r = 0; r < rounds; ++r)
        for (int i = t; i < n; i += kThreads)
          if (!bit_identical(task(i), serial[i])) ++mismatches[t];
    });
  for (std::thread& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) {
    INFO("thread " << t);
    REQUIRE(mismatches[t] == 0);
  }
}

}  // namespace

TEST_CASE("VAE inference from 4 threads equals serial inference bit for bit", "[threads]") {
  Generator init(3);
  models::MlpVae vae({.input_dim = 64, .hidden = {48, 32}, .latent_dim = 8}, &init);
  vae.eval();
  std::vector<Tensor> inputs;
  for (int i = 0; i < 8; ++i) inputs.push_back(rand({16 + i, 64}, {}, &init));

  SECTION("reconstruct (deterministic)") {
    require_thread_safe(8, 6, [&](int i) {
      NoGradGuard no_grad;
      return vae.reconstruct(inputs[i]);
    });
  }
  SECTION("sample and loss, each call with its own generator") {
    require_thread_safe(8, 6, [&](int i) {
      NoGradGuard no_grad;
      Generator gen(100 + i);
      const Tensor s = vae.sample(4 + i, &gen);
      const models::VaeLoss loss = vae.loss(inputs[i], &gen);
      return cat({reshape(s, {-1}), reshape(loss.total, {1})}, 0);
    });
  }
}

TEST_CASE("a Sequential with batch norm and large matmuls is thread-safe in eval mode", "[threads]") {
  Generator init(5);
  nn::Sequential net({std::make_shared<nn::Linear>(256, 512, true, &init), std::make_shared<nn::BatchNorm1d>(512),
                      std::make_shared<nn::ReLU>(), std::make_shared<nn::Linear>(512, 128, true, &init)});
  // Training-mode passes give the batch norm non-trivial running statistics first.
  for (int i = 0; i < 3; ++i) {
    NoGradGuard no_grad;
    net(randn({32, 256}, {}, &init));
  }
  net.eval();
  std::vector<Tensor> inputs;
  for (int i = 0; i < 8; ++i) inputs.push_back(randn({64 * (1 + i % 3), 256}, {}, &init));
  require_thread_safe(8, 4, [&](int i) {
    NoGradGuard no_grad;
    return net(inputs[i]);
  });
}

TEST_CASE("grad mode and anomaly mode are per thread", "[threads]") {
  NoGradGuard no_grad;
  AnomalyGuard anomaly;
  bool other_grad = false, other_anomaly = true;
  std::thread([&] {
    other_grad = GradMode::enabled();
    other_anomaly = AnomalyMode::enabled();
  }).join();
  REQUIRE(other_grad);
  REQUIRE_FALSE(other_anomaly);
  REQUIRE_FALSE(GradMode::enabled());
  REQUIRE(AnomalyMode::enabled());
}
