// Flows through the trainer and the strata command's functions: a run folder with scatter plots,
// eval --nll, LFM's staged training resumed exactly across block boundaries, and flow settings
// refused with messages naming the valid choices.
#include <cmath>
#include <filesystem>
#include <sstream>

#include "engine/io/safetensors.h"
#include "test_helpers.h"
#include "training/metrics_log.h"
#include "training/run_config.h"
#include "training/trainer.h"

using namespace strata;
using namespace strata::test;
using namespace strata::training;
namespace fs = std::filesystem;

namespace {

fs::path fresh_flow_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("strata_test_flows_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// 1024 points of 8 Gaussians in batches of 128: 8 steps per epoch, small networks, RK4.
RunConfig tiny_flow_config(const std::string& model, const fs::path& out) {
  RunConfig c;
  c.model = model;
  c.data = "toy:8gaussians";
  c.limit_train = 1024;
  c.batch_size = 128;
  c.velocity_hidden = {16, 16};
  c.solver = "rk4";
  c.solver_steps = 10;
  c.lr = 3e-3;
  c.out = out.string();
  return c;
}

std::vector<std::vector<double>> metric_columns_without_time(const fs::path& run) {
  const MetricsTable t = read_metrics_csv(run / "metrics.csv");
  std::vector<std::vector<double>> columns;
  for (size_t c = 0; c < t.columns.size(); ++c)
    if (t.columns[c] != "wall_time_s") columns.push_back(t.values[c]);
  return columns;
}

bool identical(const std::vector<std::vector<double>>& a, const std::vector<std::vector<double>>& b) {
  if (a.size() != b.size()) return false;
  for (size_t c = 0; c < a.size(); ++c) {
    if (a[c].size() != b[c].size()) return false;
    for (size_t r = 0; r < a[c].size(); ++r)
      if (!(a[c][r] == b[c][r] || (std::isnan(a[c][r]) && std::isnan(b[c][r])))) return false;
  }
  return true;
}

double value_of(const std::vector<std::pair<std::string, double>>& terms, const std::string& name) {
  for (const auto& [n, v] : terms)
    if (n == name) return v;
  FAIL("no term " << name);
  return 0;
}

}  // namespace

TEST_CASE("an fm run on toy data leaves scatter plots, and eval --nll reports likelihood and sample quality",
          "[flows][trainer]") {
  const fs::path dir = fresh_flow_dir("fm");
  RunConfig c = tiny_flow_config("fm", dir / "fm");
  c.epochs = 2;
  std::ostringstream log;
  const TrainResult r = train_run(c, {.log = &log});
  REQUIRE(r.global_step == 16);
  REQUIRE(fs::file_size(dir / "fm/samples/epoch_002.png") > 100);
  REQUIRE(log.str().find("epoch 2/2 held-out: loss") != std::string::npos);
  const auto eval = evaluate_run_likelihood(c.out, "best", 600, 0);
  REQUIRE(value_of(eval, "examples") == 600);
  // NLL of 8 Gaussians is at least its entropy, log 8 + 1 + log(2 pi 0.354^2) = 2.84 nats, up to
  // the estimate's noise; an untrained-ish flow stays well above it but finite.
  REQUIRE(value_of(eval, "nll") > 2.5);
  REQUIRE(value_of(eval, "nll") < 10);
  REQUIRE(value_of(eval, "sliced_w2") > 0);
  REQUIRE(std::isfinite(value_of(eval, "mmd2")));
  // RK4 with 10 steps: 40 velocity evaluations to sample and per log_prob batch.
  REQUIRE(value_of(eval, "nfe_sample") == 40);
  REQUIRE(value_of(eval, "nfe_log_prob") == 40);
  // The same seed gives the same figures.
  REQUIRE(evaluate_run_likelihood(c.out, "best", 600, 0) == eval);
  const fs::path png = dir / "drawn.png";
  REQUIRE(sample_run_to_png(c.out, 500, 1, png.string()) == png.string());
  REQUIRE(fs::file_size(png) > 100);
}

TEST_CASE("an lfm run trains its blocks in turn and resumes exactly across block boundaries", "[flows][trainer][resume]") {
  const fs::path dir = fresh_flow_dir("lfm");
  RunConfig whole = tiny_flow_config("lfm", dir / "whole");
  whole.step_sizes = {0.3, 0.6};  // three blocks, one epoch each
  whole.epochs = 3;
  std::ostringstream log;
  train_run(whole, {.log = &log});
  const MetricsTable t = read_metrics_csv(fs::path(whole.out) / "metrics.csv");
  // Steps 1-8 train block 0, 9-16 block 1, 17-24 the free block 2.
  for (size_t row = 0; row < t.rows(); ++row) {
    const double step = t.column("step")[row], block = t.column("block")[row];
    if (!std::isnan(block)) REQUIRE(block == std::floor((step - 1) / 8));
  }
  // eval reads the last block's validation loss back.
  const auto val = evaluate_run(whole.out, "latest");
  REQUIRE(value_of(val, "block") == 2);
  REQUIRE(value_of(val, "loss") == t.column("val_loss").back());

  for (int64_t stop : {int64_t{5}, int64_t{8}, int64_t{13}}) {  // inside block 0, at its end, inside block 1
    RunConfig parts = whole;
    parts.out = (dir / ("parts" + std::to_string(stop))).string();
    const TrainResult first = train_run(parts, {.stop_after_steps = stop, .log = &log});
    REQUIRE(first.interrupted);
    const TrainResult rest = resume_run(parts.out, std::nullopt, {.log = &log});
    REQUIRE(rest.global_step == 24);
    INFO("stopped after step " << stop);
    REQUIRE(identical(metric_columns_without_time(parts.out), metric_columns_without_time(whole.out)));
    for (const char* which : {"latest", "best"}) {
      const auto a = io::load_safetensors(fs::path(parts.out) / "checkpoints" / (std::string(which) + ".safetensors")).tensors;
      const auto b = io::load_safetensors(fs::path(whole.out) / "checkpoints" / (std::string(which) + ".safetensors")).tensors;
      REQUIRE(a.size() == b.size());
      for (const auto& [name, tensor] : b) {
        INFO(which << " " << name);
        REQUIRE(a.at(name).to_vector<double>() == tensor.to_vector<double>());
      }
    }
  }
}

TEST_CASE("flow settings round-trip through JSON and bad ones are refused by name", "[flows][trainer][config]") {
  RunConfig c = tiny_flow_config("lfm", "runs/x");
  c.step_sizes = {0.1, 0.2};
  c.epochs = 3;
  c.interpolant = "linear";
  REQUIRE(to_json(config_from_json(to_json(c), "test")) == to_json(c));
  validate(c);
  const auto refused = [&](auto change, std::vector<std::string> fragments) {
    RunConfig bad = c;
    change(bad);
    require_error([&] { validate(bad); }, fragments);
  };
  refused([](RunConfig& b) { b.epochs = 2; }, {"lfm trains 3 blocks", "epochs must be at least 3, got 2"});
  refused([](RunConfig& b) { b.blocks = 5; }, {"blocks 5 does not match 2 step sizes"});
  refused([](RunConfig& b) { b.step_sizes = {0.1, -1}; }, {"step_sizes", "-1"});
  refused([](RunConfig& b) { b.solver = "midpoint"; }, {"midpoint", "euler, heun, rk4, dopri5"});
  refused([](RunConfig& b) { b.interpolant = "cosine"; }, {"cosine", "auto, linear, trig"});
  refused([](RunConfig& b) { b.coupling = "exact-ot"; }, {"exact-ot is for fm"});
  refused([](RunConfig& b) { b.time_features = 3; }, {"time_features", "3"});
  refused([](RunConfig& b) { b.rtol = 0; }, {"tolerances", "rtol 0"});
  refused([](RunConfig& b) { b.divergence = "trace"; }, {"trace", "auto, exact, hutchinson"});
  refused([](RunConfig& b) { b.data = "cifar"; }, {"unknown dataset", "toy:NAME"});
  // With no step sizes, --blocks cuts the default schedule.
  RunConfig blocks = c;
  blocks.step_sizes = {};
  blocks.blocks = 4;
  blocks.epochs = 4;
  validate(blocks);
  blocks.epochs = 3;
  require_error([&] { validate(blocks); }, {"lfm trains 4 blocks"});
  RunConfig toy = c;
  toy.data = "toy:swissroll";
  toy.out = (fresh_flow_dir("swissroll") / "run").string();
  std::ostringstream log;
  require_error([&] { train_run(toy, {.log = &log}); }, {"swissroll", "8gaussians"});
}
