// The distributed layer on a real MPI job: ctest runs this file's tests under
// `mpirun -n 2` (tests/CMakeLists.txt). Every rank runs every test in the same order, so the
// collectives inside them pair up; a rank that fails a check early makes the other time out
// (30 s here) instead of hanging.
#include <filesystem>

#include "engine/distributed/communicator.h"
#include "engine/distributed/gradient_reducer.h"
#include "engine/io/safetensors.h"
#include "../loopback_device.h"
#include "../test_helpers.h"
#include "training/metrics_log.h"
#include "training/trainer.h"

using namespace strata;
using namespace strata::test;
namespace fs = std::filesystem;

namespace {

// Element by element, |a - b| <= tol (1 + |b|).
void require_close(const Tensor& a, const Tensor& b, double tol) {
  REQUIRE(a.shape() == b.shape());
  const std::vector<double> x = a.to_vector<double>(), y = b.to_vector<double>();
  for (size_t i = 0; i < x.size(); ++i) {
    INFO("element " << i << ": " << x[i] << " against " << y[i]);
    REQUIRE(std::abs(x[i] - y[i]) <= tol * (1 + std::abs(y[i])));
  }
}

distributed::Communicator& comm() {
  distributed::Communicator& c = distributed::world();
  c.set_timeout_seconds(30);
  return c;
}

}  // namespace

TEST_CASE("the job has two ranks on this node", "[distributed]") {
  REQUIRE(comm().world_size() == 2);
  REQUIRE(comm().local_world_size() == 2);
  REQUIRE(comm().local_rank() == comm().rank());
}

TEST_CASE("all-reduce sums, broadcast copies and all_reduce_mean averages across ranks", "[distributed]") {
  const int r = comm().rank();
  Tensor f = tensor32({1.0f + r, 10.0f * r}, {2});
  comm().all_reduce_sum(f);
  require_values(f, {3, 10}, 0);  // (1 + 2, 0 + 10)
  Tensor i = from_vector(std::vector<int64_t>{r + 1, -r}, {2});
  comm().all_reduce_sum(i);
  REQUIRE(i.to_vector<int64_t>() == std::vector<int64_t>{3, -1});
  Tensor b = tensor64({r + 0.5, r - 7.0}, {2});
  comm().broadcast(b, 1);
  require_values(b, {1.5, -6}, 0);
  std::vector<double> v{static_cast<double>(r), 1.0};
  comm().all_reduce_sum(v);
  REQUIRE(v == std::vector<double>{1.0, 2.0});
  Tensor m = tensor64({4.0 * r}, {1});
  distributed::all_reduce_mean(comm(), {m});
  require_values(m, {2}, 0);
  // A pending reduction completes on wait(), with the other rank's values summed in.
  Tensor p = tensor64({1, 2, 3}, {3});
  auto pending = comm().start_all_reduce_sum(p);
  pending->wait();
  require_values(p, {2, 4, 6}, 0);
  require_error([&] { comm().all_reduce_sum(f = transpose(tensor32({1, 2, 3, 4}, {2, 2}), 0, 1)); },
                {"all-reduce", "not contiguous"});
  require_error([&] { comm().broadcast(b, 2); }, {"broadcast", "root 2", "2"});
}

namespace {
// Per-example loss of a small two-layer net, in float64: ((tanh(x W1) W2 + c) . 1)^2. The extra
// term u . u is added by rank 0 only, so rank 1 has no gradient for u.
Tensor net_loss(const Tensor& x, const std::vector<Tensor>& p, bool with_u) {
  const Tensor out = add(matmul(tanh(matmul(x, p[0])), p[1]), p[2]);
  Tensor loss = mean(pow(sum(out, 1), 2.0));
  if (with_u) loss = add(loss, sum(mul(p[3], p[3])));
  return loss;
}
}  // namespace

TEST_CASE("the gradient reducer leaves every rank with the full batch's gradient", "[distributed]") {
  const int r = comm().rank();
  std::vector<Tensor> p{leaf64({5, 4}, 1), leaf64({4, 3}, 2), leaf64({3}, 3), leaf64({2}, 4)};
  Generator gen(9);
  const Tensor x = randn({8, 5}, {DType::Float64}, &gen);  // the global batch, the same on every rank
  // Different starting values on rank 1: broadcast_parameters must replace them with rank 0's.
  if (r == 1) {
    NoGradGuard no_grad;
    for (Tensor& t : p) add_(t, tensor64(std::vector<double>(static_cast<size_t>(t.numel()), 1.0), t.shape()));
  }
  // bucket_bytes 64: W1 (160 bytes) and W2 (96) get buckets of their own, c and u share one.
  distributed::GradientReducer reducer(comm(), p, {.bucket_bytes = 64});
  REQUIRE(reducer.num_buckets() == 3);
  REQUIRE(reducer.bucket_parameters(0) == std::vector<int64_t>{3, 2});  // reverse order
  reducer.broadcast_parameters(0);
  const std::vector<Tensor> initial{leaf64({5, 4}, 1), leaf64({4, 3}, 2), leaf64({3}, 3), leaf64({2}, 4)};
  for (size_t k = 0; k < p.size(); ++k) require_close(p[k], initial[k], 0);

  // The reference: one process, the whole batch; u's term counted once, as rank 0 adds it and the
  // reducer halves the sum of the ranks' gradients (2u + 0) / 2.
  std::vector<Tensor> expected;
  {
    const Tensor loss = add(net_loss(x, p, false), mul(sum(mul(p[3], p[3])), 0.5));
    loss.backward();
    for (Tensor& t : p) expected.push_back(t.grad()), t.zero_grad();
  }
  for (int step = 0; step < 2; ++step) {  // a second step: the reducer's state resets
    for (Tensor& t : p) t.zero_grad();
    reducer.begin_step();
    net_loss(narrow(x, 0, 4 * r, 4), p, r == 0).backward();
    reducer.finish_step();
    for (size_t k = 0; k < p.size(); ++k) require_close(p[k].grad(), expected[k], 1e-12);
  }
  // One backward per step.
  reducer.begin_step();
  net_loss(narrow(x, 0, 4 * r, 4), p, true).backward(Tensor(), true);
  require_error([&] { net_loss(narrow(x, 0, 4 * r, 4), p, true).backward(); }, {"second gradient in one step"});
  reducer.finish_step();
}

TEST_CASE("a model that differs between ranks is refused by name", "[distributed][errors]") {
  const int r = comm().rank();
  std::vector<Tensor> p{leaf64({2 + r}, 1)};
  distributed::GradientReducer reducer(comm(), p);
  require_error([&] { reducer.broadcast_parameters(0); }, {"rank(s) hold a model other than rank 0's", "same model"});
}

namespace {
// The trainer test's tiny dataset: 256 training rows of 12 values in [0, 1].
std::string tiny_dataset(const fs::path& dir) {
  const fs::path path = dir / "tiny.safetensors";
  if (comm().rank() == 0) {
    Generator gen(42);
    io::save_safetensors(path, {{"train", rand({256, 12}, {}, &gen)}, {"validation", rand({64, 12}, {}, &gen)}});
  }
  comm().barrier();
  return "tensors:" + path.string();
}

std::map<std::string, Tensor> parameters_of(const fs::path& run) {
  std::map<std::string, Tensor> out;
  for (auto& [name, t] : io::load_safetensors(run / "checkpoints" / "latest.safetensors").tensors)
    if (name.rfind("model.", 0) == 0) out[name] = t;
  return out;
}
}  // namespace

TEST_CASE("2 processes x batch 16 train the parameters 1 process x batch 32 trains", "[distributed][trainer]") {
  const fs::path dir = fs::temp_directory_path() / "strata_test_distributed";
  if (comm().rank() == 0) {
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  comm().barrier();
  training::RunConfig c;
  c.model = "ae";  // deterministic: no noise, so the two runs differ only in float rounding
  c.data = tiny_dataset(dir);
  c.hidden = {8};
  c.latent = 2;
  c.epochs = 2;
  c.seed = 5;
  c.pictures_every = 0;
  std::ostringstream log;
  c.batch_size = 16;
  c.out = (dir / "two").string();
  const auto two = training::train_run(c, {.threads = 1, .log = &log, .distributed = true, .distributed_timeout = 30});
  REQUIRE(two.global_step == 16);  // 256 / 2 / 16 per epoch
  comm().barrier();  // rank 0's checkpoint is written
  if (comm().rank() == 0) {
    c.batch_size = 32;
    c.out = (dir / "one").string();
    std::ostringstream quiet;
    const auto one = training::train_run(c, {.threads = 1, .log = &quiet});
    REQUIRE(one.global_step == 16);
    const auto a = parameters_of(dir / "two"), b = parameters_of(dir / "one");
    REQUIRE(a.size() == b.size());
    REQUIRE(a.size() >= 4);
    for (const auto& [name, t] : a) {
      INFO(name);
      require_close(t, b.at(name), 2e-5);
    }
    // The logged losses are the global batch's: the one-process run's, to rounding; one row per
    // step and epoch (rank 1 wrote none).
    const training::MetricsTable ta = training::read_metrics_csv(dir / "two" / "metrics.csv");
    const training::MetricsTable tb = training::read_metrics_csv(dir / "one" / "metrics.csv");
    REQUIRE(ta.rows() == tb.rows());
    for (size_t row = 0; row < ta.rows(); ++row) {
      const double la = ta.column("loss")[row], lb = tb.column("loss")[row];
      if (!std::isnan(lb)) REQUIRE(la == Approx(lb).epsilon(1e-5));
      const double va = ta.column("val_loss")[row], vb = tb.column("val_loss")[row];
      if (!std::isnan(vb)) REQUIRE(va == Approx(vb).epsilon(1e-5));
    }
    REQUIRE(log.str().find("distributed: 2 processes x batch 16 = global batch 32") != std::string::npos);
  } else {
    REQUIRE(log.str().empty());  // only rank 0 reports
  }
  comm().barrier();

  // Interrupted mid-epoch and resumed by both ranks: the uninterrupted run's parameters, exactly.
  c.batch_size = 16;
  c.out = (dir / "resumed").string();
  std::ostringstream quiet;
  const training::TrainOptions distributed{.threads = 1, .stop_after_steps = 5, .log = &quiet, .distributed = true,
                                           .distributed_timeout = 30};
  REQUIRE(training::train_run(c, distributed).interrupted);
  comm().barrier();
  if (comm().rank() == 0)  // the checkpoint is of a two-process run, mid-epoch
    require_error([&] { training::resume_run(c.out, std::nullopt, {.threads = 1, .log = &quiet}); },
                  {"stopped mid-epoch in a run of 2 process(es)", "mpirun -np 2"});
  training::TrainOptions resume = distributed;
  resume.stop_after_steps = 0;
  REQUIRE(training::resume_run(c.out, std::nullopt, resume).global_step == 16);
  comm().barrier();
  if (comm().rank() == 0) {
    const auto a = parameters_of(dir / "two"), b = parameters_of(dir / "resumed");
    for (const auto& [name, t] : a) {
      INFO(name);
      require_close(t, b.at(name), 0);
    }
  }
  comm().barrier();
}

TEST_CASE("gradients on a device are reduced through host copies to the CPU's numbers", "[distributed][device]") {
  // The loopback device (tests/loopback_device.h) stands in for a GPU: the MPI communicator stages
  // its tensors through the host, and the results must be the CPU path's bit for bit.
  LoopbackDevice loopback;
  const int r = comm().rank();
  Generator gen(9);
  const Tensor x = randn({8, 5}, {DType::Float64}, &gen);
  auto reduced_gradients = [&](Device device) {
    std::vector<Tensor> p;
    uint64_t seed = 1;
    for (const Shape& s : {Shape{5, 4}, Shape{4, 3}, Shape{3}, Shape{2}})
      p.push_back(to_device(leaf64(s, seed++).detach(), device).set_requires_grad(true));
    distributed::GradientReducer reducer(comm(), p, {.bucket_bytes = 64});
    reducer.broadcast_parameters(0);
    reducer.begin_step();
    net_loss(to_device(narrow(x, 0, 4 * r, 4), device), p, r == 0).backward();
    reducer.finish_step();
    std::vector<std::vector<double>> grads;
    for (const Tensor& t : p) {
      REQUIRE(t.grad().device() == device);
      grads.push_back(t.grad().to_vector<double>());
    }
    return grads;
  };
  REQUIRE(reduced_gradients(Device::cuda()) == reduced_gradients(Device::cpu()));

  // And a whole data-parallel run with --device cuda: the CPU run's parameters, exactly.
  const fs::path dir = fs::temp_directory_path() / "strata_test_distributed_device";
  if (r == 0) {
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  comm().barrier();
  training::RunConfig c;
  c.model = "vae";
  c.data = tiny_dataset(dir);
  c.hidden = {8};
  c.latent = 2;
  c.epochs = 1;
  c.batch_size = 16;
  c.pictures_every = 0;
  std::ostringstream quiet;
  for (const Device device : {Device::cpu(), Device::cuda()}) {
    c.out = (dir / device.str()).string();
    // MPI through the host: NCCL cannot use the loopback device (it is refused by name).
    training::train_run(c, {.threads = 1, .device = device, .log = &quiet, .distributed = true,
                            .distributed_timeout = 30, .distributed_backend = "mpi"});
  }
  comm().barrier();
  if (r == 0) {
    const auto a = parameters_of(dir / "cpu"), b = parameters_of(dir / "cuda:0");
    REQUIRE(a.size() == b.size());
    for (const auto& [name, t] : a) {
      INFO(name);
      require_close(t, b.at(name), 0);
    }
  }
  comm().barrier();
}
