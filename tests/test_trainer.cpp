// The training run behind `strata train`: config handling, the run folder, and exact resumption.
#include <filesystem>
#include <fstream>
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

fs::path fresh_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("strata_test_trainer_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// A small synthetic dataset in [0, 1] as a safetensors file, for runs that take milliseconds.
std::string tiny_dataset(const fs::path& dir) {
  Generator gen(42);
  const fs::path path = dir / "tiny.safetensors";
  io::save_safetensors(path, {{"train", rand({256, 12}, {}, &gen)}, {"validation", rand({64, 12}, {}, &gen)}});
  return "tensors:" + path.string();
}

RunConfig tiny_config(const fs::path& dir, const std::string& out) {
  RunConfig c;
  c.data = tiny_dataset(dir);
  c.hidden = {8};
  c.latent = 2;
  c.batch_size = 32;  // 8 steps per epoch
  c.epochs = 2;
  c.out = (dir / out).string();
  return c;
}

// metrics.csv without its wall-time column (the one thing allowed to differ between runs).
std::vector<std::vector<double>> metrics_without_time(const fs::path& run) {
  const MetricsTable t = read_metrics_csv(run / "metrics.csv");
  std::vector<std::vector<double>> columns;
  for (size_t c = 0; c < t.columns.size(); ++c)
    if (t.columns[c] != "wall_time_s") columns.push_back(t.values[c]);
  return columns;
}

bool same_numbers(const std::vector<std::vector<double>>& a, const std::vector<std::vector<double>>& b) {
  if (a.size() != b.size()) return false;
  for (size_t c = 0; c < a.size(); ++c) {
    if (a[c].size() != b[c].size()) return false;
    for (size_t r = 0; r < a[c].size(); ++r)
      if (!(a[c][r] == b[c][r] || (std::isnan(a[c][r]) && std::isnan(b[c][r])))) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("run configs round-trip through JSON and reject unknown keys and bad values", "[trainer][config]") {
  RunConfig c;
  c.model = "vae";
  c.epochs = 3;
  c.hidden = {64, 32};
  c.seed = 7;
  const RunConfig back = config_from_json(to_json(c), "test");
  REQUIRE(to_json(back) == to_json(c));
  require_error([] { config_from_json(nlohmann::json{{"epochz", 3}}, "cfg.json"); },
                {"cfg.json", "unknown key \"epochz\"", "epochs"});
  require_error([] { config_from_json(nlohmann::json{{"epochs", "ten"}}, "cfg.json"); },
                {"cfg.json", "\"epochs\"", "wrong type"});
  require_error([] { config_from_json(nlohmann::json::array(), "cfg.json"); }, {"cfg.json", "object"});
  RunConfig bad;
  bad.model = "gan";
  require_error([&] { validate(bad); }, {"unknown model \"gan\"", "vae"});
  bad = RunConfig{};
  bad.data = "cifar";
  require_error([&] { validate(bad); }, {"unknown dataset \"cifar\"", "fashion-mnist"});
  bad = RunConfig{};
  bad.batch_size = 0;
  require_error([&] { validate(bad); }, {"batch_size", "0"});
}

TEST_CASE("a training run leaves a complete run folder", "[trainer]") {
  const fs::path dir = fresh_dir("folder");
  const RunConfig c = tiny_config(dir, "run");
  std::ostringstream log;
  const TrainResult r = train_run(c, {.log = &log});
  REQUIRE_FALSE(r.interrupted);
  REQUIRE(r.epochs_completed == 2);
  REQUIRE(r.global_step == 16);
  const fs::path run = c.out;
  for (const char* f : {"config.json", "metrics.csv", "curves.svg", "checkpoints/latest.safetensors",
                        "checkpoints/best.safetensors"})
    REQUIRE(fs::exists(run / f));
  REQUIRE(to_json(load_config((run / "config.json").string())) == to_json(c));
  const MetricsTable t = read_metrics_csv(run / "metrics.csv");
  REQUIRE(t.rows() == 16 + 2);  // a row per step and per epoch's validation
  REQUIRE(t.has("reconstruction"));
  REQUIRE(t.has("val_kl"));
  REQUIRE(log.str().find("epoch 2/2 validation: loss") != std::string::npos);
  // A second run into the same folder is refused rather than mixed in.
  require_error([&] { train_run(c, {.log = &log}); }, {"already holds a run", "--resume"});
  // eval reads the best checkpoint back and reproduces the last validation loss of a 2-epoch run
  // whose validation loss fell (the best is then the last).
  const auto val = evaluate_run(run.string(), "latest");
  REQUIRE(val.front().first == "loss");
  REQUIRE(val.front().second == t.column("val_loss").back());
}

TEST_CASE("an interrupted run resumed from its checkpoint gives the numbers of an uninterrupted one",
          "[trainer][resume]") {
  const fs::path dir = fresh_dir("resume");
  const RunConfig whole = tiny_config(dir, "whole");
  std::ostringstream log;
  train_run(whole, {.log = &log});

  for (int64_t stop : {int64_t{3}, int64_t{8}, int64_t{11}}) {  // mid-epoch, at an epoch's end, in epoch 2
    RunConfig parts = whole;
    parts.out = (dir / ("parts" + std::to_string(stop))).string();
    const TrainResult first = train_run(parts, {.stop_after_steps = stop, .log = &log});
    REQUIRE(first.interrupted);
    REQUIRE(first.global_step == stop);
    const TrainResult rest = resume_run(parts.out, std::nullopt, {.log = &log});
    REQUIRE_FALSE(rest.interrupted);
    REQUIRE(rest.global_step == 16);
    INFO("stopped after step " << stop);
    REQUIRE(same_numbers(metrics_without_time(parts.out), metrics_without_time(whole.out)));
    const auto a = io::load_safetensors(fs::path(parts.out) / "checkpoints/latest.safetensors").tensors;
    const auto b = io::load_safetensors(fs::path(whole.out) / "checkpoints/latest.safetensors").tensors;
    REQUIRE(a.size() == b.size());
    for (const auto& [name, t] : b) {
      INFO(name);
      REQUIRE(a.at(name).to_vector<double>() == t.to_vector<double>());
    }
  }
  require_error([&] { resume_run((dir / "nothing").string(), std::nullopt, {.log = &log}); },
                {"resume", "latest.safetensors"});
}

TEST_CASE("factor-vae resumed from its checkpoint gives the numbers of an uninterrupted run, the discriminator's "
          "weights and Adam state included",
          "[trainer][resume][autoencoders]") {
  const fs::path dir = fresh_dir("resume_factor_vae");
  RunConfig whole = tiny_config(dir, "whole");
  whole.model = "factor-vae";
  whole.discriminator_hidden = {8, 8};
  std::ostringstream log;
  train_run(whole, {.log = &log});
  const MetricsTable t = read_metrics_csv(fs::path(whole.out) / "metrics.csv");
  REQUIRE(t.has("tc"));
  REQUIRE(t.has("discriminator_loss"));
  REQUIRE(t.has("discriminator_accuracy"));
  REQUIRE_FALSE(t.has("val_discriminator_loss"));  // D's step belongs to training only
  const auto saved = io::load_safetensors(fs::path(whole.out) / "checkpoints/latest.safetensors");
  REQUIRE(saved.tensors.at("aux_optim.discriminator.step").item<int64_t>() == 16);
  REQUIRE(saved.tensors.at("optim.step").item<int64_t>() == 16);
  REQUIRE(saved.tensors.count("model.discriminator.0.weight") == 1);
  REQUIRE(saved.metadata.at("strata.optimizer.discriminator") == "Adam");

  for (int64_t stop : {int64_t{3}, int64_t{11}}) {  // mid-epoch 1, mid-epoch 2
    RunConfig parts = whole;
    parts.out = (dir / ("parts" + std::to_string(stop))).string();
    REQUIRE(train_run(parts, {.stop_after_steps = stop, .log = &log}).interrupted);
    REQUIRE(resume_run(parts.out, std::nullopt, {.log = &log}).global_step == 16);
    INFO("stopped after step " << stop);
    REQUIRE(same_numbers(metrics_without_time(parts.out), metrics_without_time(whole.out)));
    const auto a = io::load_safetensors(fs::path(parts.out) / "checkpoints/latest.safetensors").tensors;
    REQUIRE(a.size() == saved.tensors.size());
    for (const auto& [name, tensor] : saved.tensors) {
      INFO(name);
      REQUIRE(a.at(name).to_vector<double>() == tensor.to_vector<double>());
    }
  }
}

TEST_CASE("a Fashion-MNIST run writes sample and reconstruction grids", "[trainer][e2e]") {
  const fs::path dir = fresh_dir("fmnist");
  RunConfig c;
  c.limit_train = 512;
  c.batch_size = 64;
  c.samples = 16;
  c.out = (dir / "vae").string();
  std::ostringstream log;
  try {
    train_run(c, {.log = &log});
  } catch (const Error& e) {
    if (std::string(e.what()).find("dataset-fashion-mnist") != std::string::npos) {
      WARN("skipped: " << e.what());
      return;
    }
    throw;
  }
  REQUIRE(fs::file_size(fs::path(c.out) / "samples/epoch_001.png") > 100);
  REQUIRE(fs::file_size(fs::path(c.out) / "reconstructions/epoch_001.png") > 100);
  const fs::path png = dir / "drawn.png";
  REQUIRE(sample_run_to_png(c.out, 9, 3, png.string()) == png.string());
  REQUIRE(fs::exists(png));
}
