// The CUDA backend against the CPU, beyond the op table of tests/test_parity.cpp (which this suite
// also runs on cuda:0): every kernel family on shapes that take its other code paths (big
// reductions split over blocks, strided and broadcast views, batched products), the errors only a
// kernel can see, random streams, optimizer updates, and one training step of a VAE and of flow
// matching. Tolerances are stated per check: float32 rounding differs where the GPU fuses
// multiply-adds and sums in another order.
#include <chrono>

#include "engine/dispatch.h"
#include "engine/distributed/communicator.h"
#include "engine/distributed/nccl_communicator.h"
#include "engine/optim/adam.h"
#include "engine/optim/rmsprop.h"
#include "engine/optim/sgd.h"
#include "models/autoencoders/mlp_vae.h"
#include "models/flows/flow_matching.h"
#include "models/flows/velocity_mlp.h"
#include "models/nn/nn.h"
#include "test_helpers.h"

using namespace strata;
using namespace strata::test;

namespace {

const Device kGpu = Device::cuda();

double max_relative_error(const Tensor& got, const Tensor& want) {
  const std::vector<double> g = got.to_vector<double>(), w = want.to_vector<double>();
  REQUIRE(g.size() == w.size());
  double scale = 0, err = 0;
  for (size_t i = 0; i < w.size(); ++i) scale = std::max(scale, std::abs(w[i]));
  for (size_t i = 0; i < w.size(); ++i) err = std::max(err, std::abs(g[i] - w[i]));
  return scale == 0 ? err : err / scale;
}

void require_close(const Tensor& got, const Tensor& want, double tolerance) {
  REQUIRE(got.shape() == want.shape());
  REQUIRE(got.device() == kGpu);
  const double e = max_relative_error(got, want);
  INFO("max error relative to the largest value: " << e << " (tolerance " << tolerance << ")");
  REQUIRE(e <= tolerance);
}

// Element-wise require_close over two lists; `what` names what tensor i is in the failure message.
void require_all_close(const std::vector<Tensor>& got, const std::vector<Tensor>& want, double tolerance,
                       const char* what) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    INFO("tensor " << i << " (" << what << ")");
    require_close(got[i], want[i], tolerance);
  }
}

Tensor gpu(const Tensor& t) { return to_device(t, kGpu); }

}  // namespace

TEST_CASE("cuda: host round trips, fills and casts", "[cuda]") {
  const Tensor x = from_vector(std::vector<float>{1.5f, -2.0f, 0.0f, 7.25f}, {2, 2});
  REQUIRE(to_device(gpu(x), Device::cpu()).to_vector<float>() == x.to_vector<float>());
  REQUIRE(full({3}, 2.5, {DType::Float32, kGpu}).to_vector<float>() == std::vector<float>{2.5f, 2.5f, 2.5f});
  REQUIRE(to_dtype(gpu(x), DType::Int64).to_vector<int64_t>() == std::vector<int64_t>{1, -2, 0, 7});
  REQUIRE(contiguous(t(gpu(x))).to_vector<float>() == std::vector<float>{1.5f, 0.0f, -2.0f, 7.25f});
  REQUIRE(zeros({0}, {DType::Float32, kGpu}).numel() == 0);
}

TEST_CASE("cuda: elementwise maps over strided and broadcast views match the CPU", "[cuda]") {
  Generator gen(1);
  const Tensor a = randn({64, 33}, {}, &gen), b = randn({33}, {}, &gen);
  require_close(add(mul(gpu(a), gpu(b)), 1.0), add(mul(a, b), 1.0), 1e-6);
  require_close(silu(t(gpu(a))), silu(t(a)), 1e-6);
  require_close(div(gpu(a), add(abs(gpu(b)), 0.5)), div(a, add(abs(b), 0.5)), 1e-6);
  const Tensor big = randn({1 << 20}, {}, &gen);
  require_close(tanh(gpu(big)), tanh(big), 1e-6);
  const Tensor ints = randint(-9, 9, {100}, {DType::Int64}, &gen);
  const Tensor divisors = add(randint(1, 5, {100}, {DType::Int64}, &gen), 0);
  REQUIRE(div(gpu(ints), gpu(divisors)).to_vector<int64_t>() == div(ints, divisors).to_vector<int64_t>());
  require_error([&] { div(gpu(ints), gpu(zeros({100}, {DType::Int64}))).to_vector<int64_t>(); },
                {"div", "division by zero"});
}

TEST_CASE("cuda: reductions of every shape class match the CPU", "[cuda]") {
  Generator gen(2);
  const Tensor x = randn({37, 129, 5}, {}, &gen);
  require_close(sum(gpu(x), {0, 2}), sum(x, {0, 2}), 1e-6);
  require_close(sum(gpu(x), 2), sum(x, 2), 1e-6);  // short reductions: one thread each
  require_close(max(gpu(x)), max(x), 0);
  const Tensor big = randn({3000, 1000}, {}, &gen);  // one output over 3 M elements: split over blocks
  require_close(sum(gpu(big)), sum(big), 1e-6);
  require_close(mean(gpu(big), 0), mean(big, 0), 1e-6);
  const auto [values, indices] = max(gpu(x), 1);
  const auto [cpu_values, cpu_indices] = max(x, 1);
  REQUIRE(indices.to_vector<int64_t>() == cpu_indices.to_vector<int64_t>());
  require_close(values, cpu_values, 0);
  require_close(log_softmax(gpu(big), 1), log_softmax(big, 1), 1e-6);
}

TEST_CASE("cuda: batched and transposed products match the CPU", "[cuda]") {
  Generator gen(3);
  const Tensor a = randn({4, 65, 130}, {}, &gen), b = randn({130, 33}, {}, &gen);
  require_close(matmul(gpu(a), gpu(b)), matmul(a, b), 1e-5);
  require_close(matmul(transpose(gpu(a), 1, 2), gpu(a)), matmul(transpose(a, 1, 2), a), 1e-5);
  const Tensor a64 = to_dtype(a, DType::Float64), b64 = to_dtype(b, DType::Float64);
  require_close(matmul(gpu(a64), gpu(b64)), matmul(a64, b64), 1e-12);
}

TEST_CASE("cuda: index errors are reported as on the CPU", "[cuda]") {
  const Tensor x = gpu(randn({5, 3}));
  require_error([&] { index_select(x, 0, gpu(from_vector(std::vector<int64_t>{0, 5}, {2}))); },
                {"index_select", "index 5", "size 5"});
  require_error([&] { gather(x, 1, gpu(from_vector(std::vector<int64_t>{-1}, {1, 1}))); }, {"gather", "index -1"});
  // Repeated indices add up (the backward of index_select).
  const Tensor w = gpu(ones({3, 2}).set_requires_grad(true));
  const Tensor leaf = w.detach().set_requires_grad(true);
  sum(index_select(leaf, 0, gpu(from_vector(std::vector<int64_t>{2, 0, 2, 2}, {4})))).backward();
  REQUIRE(leaf.grad().to_vector<float>() == std::vector<float>{1, 1, 0, 0, 3, 3});
}

TEST_CASE("cuda: random draws are the CPU's Philox streams", "[cuda]") {
  Generator cpu_gen(11), gpu_gen(11);
  require_close(randn({1001}, {DType::Float64, kGpu}, &gpu_gen), randn({1001}, {DType::Float64}, &cpu_gen), 1e-12);
  require_close(rand({1001}, {DType::Float32, kGpu}, &gpu_gen), rand({1001}, {DType::Float32}, &cpu_gen), 1e-6);
  REQUIRE(randint(0, 10, {999}, {DType::Int64, kGpu}, &gpu_gen).to_vector<int64_t>() ==
          randint(0, 10, {999}, {DType::Int64}, &cpu_gen).to_vector<int64_t>());
}

TEST_CASE("cuda: optimizer updates match the CPU's", "[cuda]") {
  Generator gen(5);
  const Tensor start = randn({1000}, {}, &gen), grad = randn({1000}, {}, &gen);
  auto run = [&](Device device, int which) {
    Tensor p = to_device(start, device).detach().set_requires_grad(true);
    std::unique_ptr<optim::Optimizer> opt;
    const std::vector<Tensor> params{p};
    if (which == 0) opt = std::make_unique<optim::Adam>(params, optim::AdamOptions{.lr = 0.1, .weight_decay = 0.01, .amsgrad = true});
    if (which == 1) opt = std::make_unique<optim::SGD>(params, optim::SGDOptions{.lr = 0.1, .momentum = 0.9, .nesterov = true});
    if (which == 2) opt = std::make_unique<optim::RMSprop>(params, optim::RMSpropOptions{.lr = 0.01, .momentum = 0.5});
    for (int step = 0; step < 3; ++step) {
      p.set_grad(to_device(mul(grad, static_cast<double>(step + 1)), device));
      opt->step();
    }
    return p.detach();
  };
  for (int which = 0; which < 3; ++which) {
    INFO("optimizer " << which);
    require_close(run(kGpu, which), run(Device::cpu(), which), 1e-5);
  }
}

TEST_CASE("cuda: a VAE training step gives the CPU's loss and gradients", "[cuda]") {
  auto step = [](Device device) {
    Generator init(3), data_gen(4), noise(5);
    models::MlpVae vae({.input_dim = 64, .hidden = {32}, .latent_dim = 4}, &init);
    vae.to(device);
    const Tensor x = to_device(rand({16, 64}, {}, &data_gen), device);
    const Tensor loss = vae.loss(x, &noise).total;
    loss.backward();
    std::vector<Tensor> out{loss.detach()};
    for (const Tensor& p : vae.parameters()) out.push_back(p.grad());
    return out;
  };
  require_all_close(step(kGpu), step(Device::cpu()), 1e-4, "0: the loss, then each parameter's gradient");
}

TEST_CASE("cuda: a flow matching step and an ODE sample give the CPU's numbers", "[cuda]") {
  auto run = [](Device device) {
    manual_seed(8);
    models::FlowMatching fm(std::make_shared<models::VelocityMlp>(models::VelocityMlpOptions{.dim = 2, .hidden = {32, 32}}));
    fm.to(device);
    Generator data_gen(9), noise(10);
    const Tensor x = to_device(randn({64, 2}, {}, &data_gen), device);
    const Tensor loss = fm.loss(x, &noise).front().second;
    loss.backward();
    std::vector<Tensor> out{loss.detach()};
    for (const Tensor& p : fm.parameters()) out.push_back(p.grad());
    NoGradGuard no_grad;
    out.push_back(fm.from_noise(to_device(randn({8, 2}, {}, &data_gen), device)));
    return out;
  };
  require_all_close(run(kGpu), run(Device::cpu()), 1e-4, "0: the loss, then the gradients, last the samples");
}

TEST_CASE("cuda: NCCL on one GPU: all-reduce and broadcast in place, and their bandwidth", "[cuda][nccl]") {
  // A job of one process (no mpirun: MPI's singleton start): the sum over one rank is the tensor
  // itself, which checks the plumbing end to end; the time of a 256 MiB all-reduce is NCCL's
  // loopback bandwidth on this GPU, printed for docs/distributed.md.
  INFO("this build's CUDA plugin has NCCL: " << distributed::nccl_available());
  REQUIRE(distributed::nccl_available());
  distributed::Communicator& world = distributed::world();
  REQUIRE(world.world_size() == 1);
  const std::unique_ptr<distributed::Communicator> nccl = distributed::make_nccl_communicator(world, kGpu);
  REQUIRE(nccl->buffer_device(kGpu) == kGpu);
  const int64_t n = int64_t{64} << 20;  // 256 MiB of float32
  Tensor t = to_device(arange(static_cast<double>(n), {DType::Float32}), kGpu);
  const Tensor expected = to_device(t, Device::cpu());
  nccl->all_reduce_sum(t);
  require_close(t, expected, 0);
  const auto start = std::chrono::steady_clock::now();
  const int repeats = 10;
  for (int i = 0; i < repeats; ++i) nccl->all_reduce_sum(t);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  WARN("NCCL all-reduce of 256 MiB on one GPU: " << (repeats * 256.0 / 1024.0) / seconds << " GiB/s");
  nccl->broadcast(t, 0);
  require_close(t, expected, 0);
  std::vector<double> metrics{1.5, 2.5};  // CPU values still go over MPI
  nccl->all_reduce_sum(metrics);
  REQUIRE(metrics == std::vector<double>{1.5, 2.5});
}
