#include "bench/peers/libtorch/workloads.h"

#include <chrono>
#include <string>

#include <torch/torch.h>

#include "bench/peers/libtorch/idx_gz.h"

namespace strata::bench::libtorch_peer {

namespace nn = torch::nn;

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// [sum over pixels of BCE-with-logits + KL(q || N(0, I))] / batch, as WORKLOADS.md defines it.
torch::Tensor vae_loss(const torch::Tensor& logits, const torch::Tensor& x, const torch::Tensor& mu,
                       const torch::Tensor& logvar) {
  const torch::Tensor rec = torch::binary_cross_entropy_with_logits(logits, x, {}, {}, at::Reduction::Sum);
  const torch::Tensor kl = -0.5 * torch::sum(1 + logvar - mu.pow(2) - logvar.exp());
  return (rec + kl) / x.size(0);
}

struct MlpVaeImpl : nn::Module {
  nn::Linear e1{784, 512}, e2{512, 256}, mu{256, 32}, logvar{256, 32}, d1{32, 256}, d2{256, 512}, d3{512, 784};
  MlpVaeImpl() {
    register_module("e1", e1), register_module("e2", e2), register_module("mu", mu);
    register_module("logvar", logvar), register_module("d1", d1), register_module("d2", d2), register_module("d3", d3);
  }
  torch::Tensor loss(const torch::Tensor& x) {
    const torch::Tensor h = torch::relu(e2(torch::relu(e1(x))));
    const torch::Tensor m = mu(h), lv = logvar(h);
    const torch::Tensor z = m + torch::exp(0.5 * lv) * torch::randn_like(m);
    const torch::Tensor logits = d3(torch::relu(d2(torch::relu(d1(z)))));
    return vae_loss(logits, x, m, lv);
  }
};
TORCH_MODULE(MlpVae);

struct ConvVaeImpl : nn::Module {
  nn::Conv2d c1{nn::Conv2dOptions(1, 32, 4).stride(2).padding(1)}, c2{nn::Conv2dOptions(32, 64, 4).stride(2).padding(1)};
  nn::Linear e{3136, 256}, mu{256, 16}, logvar{256, 16}, d1{16, 256}, d2{256, 3136};
  nn::ConvTranspose2d t1{nn::ConvTranspose2dOptions(64, 32, 4).stride(2).padding(1)},
      t2{nn::ConvTranspose2dOptions(32, 1, 4).stride(2).padding(1)};
  ConvVaeImpl() {
    register_module("c1", c1), register_module("c2", c2), register_module("e", e), register_module("mu", mu);
    register_module("logvar", logvar), register_module("d1", d1), register_module("d2", d2);
    register_module("t1", t1), register_module("t2", t2);
  }
  torch::Tensor loss(const torch::Tensor& x) {
    const int64_t n = x.size(0);
    torch::Tensor h = torch::relu(c2(torch::relu(c1(x.view({n, 1, 28, 28})))));
    h = torch::relu(e(h.flatten(1)));
    const torch::Tensor m = mu(h), lv = logvar(h);
    const torch::Tensor z = m + torch::exp(0.5 * lv) * torch::randn_like(m);
    torch::Tensor g = torch::relu(d2(torch::relu(d1(z)))).view({n, 64, 7, 7});
    const torch::Tensor logits = t2(torch::relu(t1(g))).view({n, 784});
    return vae_loss(logits, x, m, lv);
  }
};
TORCH_MODULE(ConvVae);

// One epoch of 128-image batches over a fresh shuffle (drop last), after one warm-up step.
template <class Model>
Figure train_epoch(const char* id, Model& model, bool quick, int64_t quick_steps) {
  torch::manual_seed(0);
  const torch::Tensor train = load_fashion_mnist_train();
  torch::optim::Adam adam(model->parameters(), torch::optim::AdamOptions(1e-3).betas({0.9, 0.999}).eps(1e-8));
  const torch::Tensor order = torch::randperm(train.size(0), torch::kLong);
  const int64_t batches = train.size(0) / 128;
  float last = 0;
  auto step = [&](int64_t i) {
    const torch::Tensor x = train.index_select(0, order.slice(0, i * 128, (i + 1) * 128));
    adam.zero_grad();
    torch::Tensor loss = model->loss(x);
    loss.backward();
    adam.step();
    last = loss.item<float>();
  };
  step(0);  // warm-up
  const int64_t steps = quick ? quick_steps : batches;
  const auto start = Clock::now();
  for (int64_t i = 0; i < steps; ++i) step(i);
  return {id, "images/s", steps * 128 / seconds_since(start),
          std::to_string(steps) + " steps, last batch loss " + std::to_string(last)};
}

}  // namespace

Figure w1_mlp_vae(bool quick) {
  torch::manual_seed(0);
  MlpVae model;
  return train_epoch("W1", model, quick, 50);
}

Figure w2_conv_vae(bool quick) {
  torch::manual_seed(0);
  ConvVae model;
  return train_epoch("W2", model, quick, 10);
}

Figure w3_fm_2d(bool quick) {
  torch::manual_seed(0);
  nn::Sequential net(nn::Linear(3, 256), nn::SiLU(), nn::Linear(256, 256), nn::SiLU(), nn::Linear(256, 256), nn::SiLU(),
                     nn::Linear(256, 2));
  torch::optim::Adam adam(net->parameters(), torch::optim::AdamOptions(1e-3));
  const int64_t batch = 1024;
  float last = 0;
  auto step = [&] {
    const torch::Tensor sign = torch::bernoulli(torch::full({batch, 1}, 0.5)) * 2 - 1;
    const torch::Tensor x1 = 0.5 * torch::randn({batch, 2}) + 2 * sign;
    const torch::Tensor x0 = torch::randn({batch, 2});
    const torch::Tensor t = torch::rand({batch, 1});
    const torch::Tensor xt = (1 - t) * x0 + t * x1;
    const torch::Tensor v = net->forward(torch::cat({xt, t}, 1));
    torch::Tensor loss = (v - (x1 - x0)).pow(2).sum() / batch;
    adam.zero_grad();
    loss.backward();
    adam.step();
    last = loss.item<float>();
  };
  step();
  const int steps = quick ? 30 : 300;
  const auto start = Clock::now();
  for (int i = 0; i < steps; ++i) step();
  return {"W3", "steps/s", steps / seconds_since(start), std::to_string(steps) + " steps, last loss " + std::to_string(last)};
}

std::vector<Figure> w4_gemm() {
  std::vector<Figure> figures;
  const int64_t shapes[2][3] = {{1024, 1024, 1024}, {128, 784, 512}};
  const char* names[2] = {"W4a", "W4b"};
  torch::manual_seed(2);
  for (int i = 0; i < 2; ++i) {
    const int64_t m = shapes[i][0], k = shapes[i][1], n = shapes[i][2];
    const torch::Tensor a = torch::randn({m, k}), b = torch::randn({k, n});
    torch::Tensor r = torch::matmul(a, b);  // warm-up
    int calls = 0;
    const auto start = Clock::now();
    double elapsed = 0;
    do {
      r = torch::matmul(a, b);
      ++calls;
      elapsed = seconds_since(start);
    } while (elapsed < 0.5);
    figures.push_back({names[i], "GFLOP/s", 2.0 * m * n * k * calls / elapsed / 1e9,
                       std::to_string(m) + "x" + std::to_string(k) + " @ " + std::to_string(k) + "x" + std::to_string(n)});
  }
  return figures;
}

Figure w5_small_ops(bool quick) {
  torch::manual_seed(0);
  torch::Tensor a = torch::randn({64}).requires_grad_(true);
  const torch::Tensor b = torch::randn({64});
  auto step = [&] {
    torch::Tensor c = torch::tanh(a * b + b).sum();
    c.backward();
  };
  step();
  const int steps = quick ? 2000 : 20000;
  const auto start = Clock::now();
  for (int i = 0; i < steps; ++i) step();
  return {"W5", "us/step", seconds_since(start) * 1e6 / steps, std::to_string(steps) + " steps"};
}

}  // namespace strata::bench::libtorch_peer
