// Device plumbing without a GPU: the loopback device (loopback_device.h) stands in for cuda:0 with
// the CPU's kernels behind tagged addresses. Whatever runs on it must give the CPU's numbers bit
// for bit, and any host read of device memory crashes the test instead of passing silently.
#include <filesystem>
#include <sstream>

#include "engine/dispatch.h"
#include "engine/io/safetensors.h"
#include "engine/optim/adam.h"
#include "loopback_device.h"
#include "models/nn/nn.h"
#include "test_helpers.h"
#include "training/metrics_log.h"
#include "training/trainer.h"

using namespace strata;
using namespace strata::test;
namespace fs = std::filesystem;

namespace {

fs::path fresh_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("strata_test_loopback_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// Every column of metrics.csv but wall time, and every tensor of the latest checkpoint.
void require_same_run(const fs::path& a, const fs::path& b) {
  const training::MetricsTable ta = training::read_metrics_csv(a / "metrics.csv");
  const training::MetricsTable tb = training::read_metrics_csv(b / "metrics.csv");
  REQUIRE(ta.columns == tb.columns);
  for (size_t c = 0; c < ta.columns.size(); ++c) {
    if (ta.columns[c] == "wall_time_s") continue;
    INFO("column " << ta.columns[c]);
    REQUIRE(ta.values[c].size() == tb.values[c].size());
    for (size_t r = 0; r < ta.values[c].size(); ++r)
      REQUIRE((ta.values[c][r] == tb.values[c][r] || (std::isnan(ta.values[c][r]) && std::isnan(tb.values[c][r]))));
  }
  const auto ca = io::load_safetensors(a / "checkpoints/latest.safetensors");
  const auto cb = io::load_safetensors(b / "checkpoints/latest.safetensors");
  REQUIRE(ca.tensors.size() == cb.tensors.size());
  for (const auto& [name, t] : ca.tensors) {
    INFO("checkpoint tensor " << name);
    REQUIRE(t.to_vector<double>() == cb.tensors.at(name).to_vector<double>());
  }
}

}  // namespace

TEST_CASE("to_device moves values there and gradients back", "[device]") {
  LoopbackDevice loopback;
  REQUIRE(cuda_is_available());
  const Tensor x = from_vector(std::vector<double>{1, -2, 3}, {3}).set_requires_grad(true);
  const Tensor y = to_device(x, Device::cuda());
  REQUIRE(y.device() == Device::cuda());
  REQUIRE(y.to_vector<double>() == std::vector<double>{1, -2, 3});
  REQUIRE(to_device(y, Device::cuda()).impl() == y.impl());  // already there: no copy
  sum(mul(y, y)).backward();
  REQUIRE(x.grad().device().is_cpu());
  REQUIRE(x.grad().to_vector<double>() == std::vector<double>{2, -4, 6});
  // A strided view is packed on its own device before it moves.
  const Tensor m = from_vector(std::vector<double>{1, 2, 3, 4, 5, 6}, {2, 3});
  REQUIRE(to_device(to_device(t(m), Device::cuda()), Device::cpu()).to_vector<double>() ==
          std::vector<double>{1, 4, 2, 5, 3, 6});
}

TEST_CASE("ops refuse tensors on two devices, naming both", "[device]") {
  LoopbackDevice loopback;
  const Tensor a = ones({2}), b = to_device(ones({2}), Device::cuda());
  require_error([&] { add(a, b); }, {"cpu", "cuda:0"});
  require_error([&] { to_device(a, Device::cuda(3)); }, {"cuda:3"});
}

TEST_CASE("a module moved to a device trains to the CPU's numbers", "[device]") {
  LoopbackDevice loopback;
  auto train = [](Device device) {
    manual_seed(7);
    auto net = std::make_shared<nn::Sequential>();
    net->push_back(std::make_shared<nn::Linear>(4, 8));
    net->push_back(std::make_shared<nn::BatchNorm1d>(8));
    net->push_back(std::make_shared<nn::ReLU>());
    net->push_back(std::make_shared<nn::Linear>(8, 1));
    net->to(device);
    REQUIRE(net->device() == device);
    optim::Adam adam(net->parameters(), {.lr = 1e-2});
    Generator gen(3);
    for (int step = 0; step < 5; ++step) {
      const Tensor x = randn({16, 4}, {DType::Float32, device}, &gen);
      adam.zero_grad();
      mean(square(sub(net->forward(x), sum(x, 1, true)))).backward();
      adam.step();
    }
    std::vector<std::vector<float>> state;
    for (const auto& [name, t] : net->state_dict()) state.push_back(t.to_vector<float>());
    return state;
  };
  REQUIRE(train(Device::cuda()) == train(Device::cpu()));
}

TEST_CASE("strata train --device: runs on a device give the CPU's metrics and checkpoints exactly", "[device][trainer]") {
  LoopbackDevice loopback;
  const fs::path dir = fresh_dir("train");
  Generator gen(42);
  const fs::path data = dir / "tiny.safetensors";
  io::save_safetensors(data, {{"train", rand({64, 784}, {}, &gen)},
                              {"train_labels", randint(0, 4, {64}, {DType::Int64}, &gen)},
                              {"validation", rand({16, 784}, {}, &gen)},
                              {"validation_labels", randint(0, 4, {16}, {DType::Int64}, &gen)}});
  struct Case {
    std::string name;
    std::function<void(training::RunConfig&)> set;
  };
  const std::vector<Case> cases = {
      {"vae", [](training::RunConfig&) {}},
      {"conditional vae", [](training::RunConfig& c) { c.conditional = true; }},
      {"cae", [](training::RunConfig& c) { c.model = "cae"; }},
      {"vq-vae", [](training::RunConfig& c) {
         c.model = "vq-vae";
         c.latent = 8;
       }},
      {"fm", [](training::RunConfig& c) {
         c.model = "fm";
         c.data = "toy:8gaussians";
         c.limit_train = 256;
         c.velocity_hidden = {16};
         c.solver_steps = 4;
       }},
      {"lfm", [](training::RunConfig& c) {
         c.model = "lfm";
         c.data = "toy:8gaussians";
         c.limit_train = 256;
         c.velocity_hidden = {16};
         c.solver_steps = 4;
         c.epochs = 2;
         c.blocks = 2;
       }},
  };
  for (const Case& k : cases) {
    INFO("model: " << k.name);
    training::RunConfig c;
    c.model = "vae";
    c.data = "tensors:" + data.string();
    c.hidden = {8};
    c.latent = 2;
    c.batch_size = 16;
    c.epochs = 1;
    c.samples = 4;
    k.set(c);
    std::ostringstream log;
    c.out = (dir / (k.name + " cpu")).string();
    training::train_run(c, {.log = &log});
    c.out = (dir / (k.name + " cuda")).string();
    training::train_run(c, {.device = Device::cuda(), .log = &log});
    require_same_run(dir / (k.name + " cpu"), dir / (k.name + " cuda"));
    if (k.name == "vae") {  // a run stopped on the device resumes there to the same numbers
      c.out = (dir / "vae resumed").string();
      REQUIRE(training::train_run(c, {.device = Device::cuda(), .stop_after_steps = 3, .log = &log}).interrupted);
      training::resume_run(c.out, std::nullopt, {.device = Device::cuda(), .log = &log});
      require_same_run(dir / "vae cpu", dir / "vae resumed");
    }
  }
  fs::remove_all(dir);
}
