// Checkpoints: a bit-exact round trip of model, optimizer, generators and loader; a run stopped
// mid-epoch and resumed from its checkpoint that matches the uninterrupted run exactly; mismatch
// errors that name what differs; and an old checkpoint that survives a stray or failed write.
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>

#include "engine/data/loader.h"
#include "engine/io/safetensors.h"
#include "engine/optim/adam.h"
#include "engine/optim/sgd.h"
#include "models/nn/nn.h"
#include "test_helpers.h"
#include "training/checkpoint.h"

using namespace strata;
using namespace strata::test;
using namespace strata::training;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    static std::atomic<int> counter{0};
    path = fs::temp_directory_path() /
           ("strata_checkpoint_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  fs::path operator/(const std::string& name) const { return path / name; }
};

std::string read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

bool same_bits(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape() || a.dtype() != b.dtype()) return false;
  const size_t n = static_cast<size_t>(a.numel()) * dtype_size(a.dtype());
  return n == 0 || std::memcmp(a.raw_data(), b.raw_data(), n) == 0;
}

void require_same_state(const std::map<std::string, Tensor>& a, const std::map<std::string, Tensor>& b) {
  REQUIRE(a.size() == b.size());
  for (const auto& [name, t] : a) {
    INFO(name);
    REQUIRE(b.count(name));
    REQUIRE(same_bits(t, b.at(name)));
  }
}

TensorDataset regression_data() {
  Generator gen(1);
  const Tensor x = randn({22, 3}, {}, &gen);
  const Tensor y = randn({22, 2}, {}, &gen);
  return TensorDataset(x, y);
}

// A small training run: Linear-BatchNorm-Tanh-Dropout-Linear with Adam on a shuffled loader, so
// parameters, buffers, optimizer state and two random streams all have to come back.
struct Run {
  Generator init_gen, dropout_gen;
  std::shared_ptr<nn::Sequential> model;
  std::unique_ptr<optim::Adam> optimizer;
  DataLoader loader;

  Run(uint64_t init_seed, uint64_t dropout_seed, uint64_t loader_seed)
      : init_gen(init_seed),
        dropout_gen(dropout_seed),
        model(std::make_shared<nn::Sequential>(std::vector<std::shared_ptr<nn::Module>>{
            std::make_shared<nn::Linear>(3, 4, true, &init_gen), std::make_shared<nn::BatchNorm1d>(4),
            std::make_shared<nn::Tanh>(), std::make_shared<nn::Dropout>(0.25, &dropout_gen),
            std::make_shared<nn::Linear>(4, 2, true, &init_gen)})),
        optimizer(std::make_unique<optim::Adam>(model->parameters(), optim::AdamOptions{.lr = 0.05})),
        loader(regression_data(), {.batch_size = 4, .shuffle = true, .seed = loader_seed}) {}

  float step(const Batch& b) {
    optimizer->zero_grad();
    const Tensor loss = mse_loss((*model)(b.inputs), b.labels);
    loss.backward();
    optimizer->step();
    return loss.item<float>();
  }

  void save(const fs::path& path, const Metadata& metadata = {}) const {
    save_checkpoint(path, *model, optimizer.get(), {{"dropout", &dropout_gen}}, metadata,
                    {{"train", &loader}});
  }
  Metadata load(const fs::path& path) {
    return load_checkpoint(path, *model, optimizer.get(), {{"dropout", &dropout_gen}}, {{"train", &loader}});
  }
};

}  // namespace

TEST_CASE("checkpoint: model, optimizer, generators and loader round-trip bit-exactly", "[checkpoint]") {
  TempDir dir;
  const fs::path path = dir / "ckpt.safetensors";
  Run a(1, 2, 3);
  a.loader.start_epoch();
  for (int64_t i = 0; i < 3; ++i) a.step(a.loader.batch(i));
  const Metadata metadata = {{"epoch", "0"},
                             {"step", "3"},
                             {"best_val_loss", "0.4375"},
                             {"config", R"({"model": "mlp", "lr": 0.05})"}};
  a.save(path, metadata);

  Run b(10, 20, 30);
  REQUIRE_FALSE(same_bits(a.model->state_dict().at("0.weight"), b.model->state_dict().at("0.weight")));
  REQUIRE(b.load(path) == metadata);
  require_same_state(a.model->state_dict(), b.model->state_dict());
  require_same_state(a.optimizer->state_dict(), b.optimizer->state_dict());
  REQUIRE(b.optimizer->step_count() == 3);
  REQUIRE(b.dropout_gen.seed() == a.dropout_gen.seed());
  REQUIRE(b.dropout_gen.offset() == a.dropout_gen.offset());
  REQUIRE(b.loader.state().seed == a.loader.state().seed);
  REQUIRE(b.loader.state().offset == a.loader.state().offset);
  REQUIRE(b.loader.epochs_started() == 1);
  REQUIRE(same_bits(b.loader.order(), a.loader.order()));

  // The file is plain safetensors with the documented names.
  const io::SafetensorsFile f = io::load_safetensors(path);
  for (const char* name : {"model.0.weight", "model.1.running_mean", "optim.step", "optim.lr",
                           "optim.0.exp_avg", "rng.dropout", "loader.train"})
    REQUIRE(f.tensors.count(name));
  require_values(f.tensors.at("rng.dropout"), {double(a.dropout_gen.seed()), double(a.dropout_gen.offset())},
                 0);
  REQUIRE(f.metadata.at("strata.optimizer") == "Adam");
}

TEST_CASE("checkpoint: a run resumed mid-epoch matches the uninterrupted run exactly", "[checkpoint]") {
  TempDir dir;
  const fs::path path = dir / "resume.safetensors";
  constexpr int kEpochs = 3;
  constexpr int64_t kStopAt = 2;  // batches of epoch 1 done before the interruption

  Run whole(1, 2, 3);
  std::vector<float> expected;
  for (int e = 0; e < kEpochs; ++e)
    for (const Batch& b : whole.loader) expected.push_back(whole.step(b));
  REQUIRE(whole.loader.num_batches() == 6);

  std::vector<float> losses;
  {
    Run first(1, 2, 3);
    for (const Batch& b : first.loader) losses.push_back(first.step(b));
    first.loader.start_epoch();
    for (int64_t i = 0; i < kStopAt; ++i) losses.push_back(first.step(first.loader.batch(i)));
    first.save(path, {{"epoch", "1"}, {"batch", std::to_string(kStopAt)}});
    // The interrupted process would have gone on; what it does after the save must not matter.
    first.step(first.loader.batch(kStopAt));
  }
  Run resumed(7, 8, 9);  // different seeds everywhere: all of it must come from the checkpoint
  const Metadata metadata = resumed.load(path);
  const int64_t start = std::stoll(metadata.at("batch"));
  for (int64_t i = start; i < resumed.loader.num_batches(); ++i)
    losses.push_back(resumed.step(resumed.loader.batch(i)));
  for (int e = std::stoi(metadata.at("epoch")) + 1; e < kEpochs; ++e)
    for (const Batch& b : resumed.loader) losses.push_back(resumed.step(b));

  REQUIRE(losses.size() == expected.size());
  for (size_t i = 0; i < losses.size(); ++i) {
    INFO("step " << i);
    REQUIRE(losses[i] == expected[i]);
  }
  require_same_state(resumed.model->state_dict(), whole.model->state_dict());
  require_same_state(resumed.optimizer->state_dict(), whole.optimizer->state_dict());
  REQUIRE(resumed.dropout_gen.offset() == whole.dropout_gen.offset());
}

TEST_CASE("checkpoint: DataLoader state rewinds to the current epoch's order", "[checkpoint]") {
  DataLoader a(regression_data(), {.batch_size = 5, .shuffle = true, .seed = 4});
  const DataLoaderState fresh = a.state();
  REQUIRE(fresh.seed == 4);
  REQUIRE(fresh.offset == 0);
  REQUIRE(fresh.epochs_started == 0);
  a.start_epoch();
  a.start_epoch();
  const DataLoaderState s = a.state();
  REQUIRE(s.epochs_started == 2);
  const Tensor order = a.order();

  DataLoader b(regression_data(), {.batch_size = 5, .shuffle = true, .seed = 99});
  b.restore(s);
  REQUIRE(b.epochs_started() == 2);
  REQUIRE(same_bits(b.order(), order));
  REQUIRE(same_bits(b.batch(3).inputs, a.batch(3).inputs));
  a.start_epoch();
  b.start_epoch();
  REQUIRE(same_bits(b.order(), a.order()));

  // Before any epoch: the next epoch is the one the fresh loader would have drawn.
  b.restore(fresh);
  REQUIRE(b.epochs_started() == 0);
  REQUIRE_FALSE(b.order().defined());
  DataLoader c(regression_data(), {.batch_size = 5, .shuffle = true, .seed = 4});
  b.start_epoch();
  c.start_epoch();
  REQUIRE(same_bits(b.order(), c.order()));
  require_error([&] { b.restore({4, 0, -1}); }, {"DataLoader.restore", "-1"});
}

TEST_CASE("checkpoint: mismatches name what differs and change nothing", "[checkpoint]") {
  TempDir dir;
  const fs::path path = dir / "ckpt.safetensors";
  const std::string p = path.string();
  Run a(1, 2, 3);
  a.loader.start_epoch();
  a.step(a.loader.batch(0));
  a.save(path, {{"epoch", "0"}});

  Generator gen(5), other(6);
  SECTION("model: shapes, missing and unexpected entries, all in one message") {
    nn::Sequential wider({std::make_shared<nn::Linear>(3, 5), std::make_shared<nn::BatchNorm1d>(5),
                          std::make_shared<nn::Tanh>(), std::make_shared<nn::Dropout>(0.25),
                          std::make_shared<nn::Linear>(5, 2), std::make_shared<nn::Linear>(2, 2)});
    const std::vector<float> values = wider.state_dict().at("0.weight").to_vector<float>();
    require_error([&] { load_checkpoint(path, wider, nullptr, {}); },
                  {p, "Sequential", "model.0.weight is float32 [4, 3] in the checkpoint but float32 [5, 3]",
                   "missing from the checkpoint: model.5.bias, model.5.weight"});
    REQUIRE(wider.state_dict().at("0.weight").to_vector<float>() == values);

    nn::Sequential shorter({std::make_shared<nn::Linear>(3, 4)});
    require_error([&] { load_checkpoint(path, shorter, nullptr, {}); },
                  {p, "not in the model: model.1.bias", "model.4.weight"});
  }
  SECTION("model dtype") {
    Run b(1, 2, 3);
    b.model->to(DType::Float64);
    require_error([&] { load_checkpoint(path, *b.model, nullptr, {}); },
                  {p, "model.0.bias is float32 [4] in the checkpoint but float64 [4]"});
  }
  SECTION("optimizer kind and state") {
    Run b(4, 5, 6);
    const std::vector<float> weights = b.model->state_dict().at("0.weight").to_vector<float>();
    optim::SGD sgd(b.model->parameters(), {.lr = 0.1});
    require_error([&] { load_checkpoint(path, *b.model, &sgd, {}); },
                  {p, "state of optimizer Adam but optimizer SGD"});
    optim::Adam partial({b.model->parameters()[0]}, {});
    require_error([&] { load_checkpoint(path, *b.model, &partial, {}); },
                  {p, "optimizer state", "unexpected entry"});
    REQUIRE(b.model->state_dict().at("0.weight").to_vector<float>() == weights);
    REQUIRE(partial.step_count() == 0);

    save_checkpoint(path, *b.model, nullptr, {}, {});
    require_error([&] { load_checkpoint(path, *b.model, b.optimizer.get(), {}); },
                  {p, "holds no optimizer state but optimizer Adam"});
  }
  SECTION("generators and loaders by name") {
    Run b(4, 5, 6);
    const uint64_t offset = b.dropout_gen.offset();
    require_error(
        [&] {
          load_checkpoint(path, *b.model, nullptr, {{"dropout", &gen}, {"noise", &other}});
        },
        {p, "generators do not match", "missing from the checkpoint: rng.noise"});
    require_error(
        [&] {
          load_checkpoint(path, *b.model, nullptr, {{"train", &gen}});
        },
        {p, "missing from the checkpoint: rng.train", "in the checkpoint but not given: rng.dropout"});
    require_error(
        [&] {
          load_checkpoint(path, *b.model, nullptr, {{"dropout", nullptr}});
        },
        {p, "generator 'dropout' is null"});
    require_error(
        [&] {
          load_checkpoint(path, *b.model, nullptr, {}, {{"valid", &b.loader}});
        },
        {p, "data loaders do not match", "loader.valid", "loader.train"});
    REQUIRE(gen.seed() == 5);
    REQUIRE(b.dropout_gen.offset() == offset);
    // Empty maps skip what was saved (evaluation needs only the weights).
    load_checkpoint(path, *b.model, nullptr, {});
    require_same_state(b.model->state_dict(), a.model->state_dict());
  }
  SECTION("files that are not checkpoints") {
    io::save_safetensors(path, {{"model.0.weight", zeros({4, 3})}});
    require_error([&] { a.load(path); }, {p, "not a strata checkpoint"});
    io::save_safetensors(path, {{"weights", zeros({4, 3})}}, {{"strata.checkpoint", "1"}});
    require_error([&] { a.load(path); }, {p, "unexpected entry 'weights'"});
    io::save_safetensors(path, {{"rng.dropout", zeros({2})}}, {{"strata.checkpoint", "1"}});
    nn::Sequential empty;
    require_error(
        [&] {
          load_checkpoint(path, empty, nullptr, {{"dropout", &gen}});
        },
        {p, "'rng.dropout' is float32 [2] but a generator state is int64 [2]"});
    io::save_safetensors(path, {}, {{"strata.checkpoint", "2"}});
    require_error([&] { a.load(path); }, {p, "checkpoint format '2'"});
  }
  SECTION("saving refuses reserved metadata and null generators") {
    require_error(
        [&] {
          save_checkpoint(path, *a.model, nullptr, {}, {{"strata.optimizer", "x"}});
        },
        {p, "reserved prefix"});
    require_error(
        [&] {
          save_checkpoint(path, *a.model, nullptr, {{"g", nullptr}}, {});
        },
        {p, "'g' is null"});
  }
}

TEST_CASE("checkpoint: overwriting keeps the previous checkpoint loadable until the new one is complete",
          "[checkpoint]") {
  TempDir dir;
  const fs::path path = dir / "last.safetensors";
  Run a(1, 2, 3);
  a.loader.start_epoch();
  a.step(a.loader.batch(0));
  a.save(path, {{"step", "1"}});
  const std::string first = read_bytes(path);

  // A save killed mid-write leaves only its temporary file behind; the target is the old one.
  for (const std::string& pid : {std::to_string(::getpid()), std::string("999999")}) {
    std::ofstream stray(path.string() + ".tmp-" + pid, std::ios::binary);
    stray << first.substr(0, first.size() / 2);
  }
  REQUIRE(read_bytes(path) == first);
  Run b(4, 5, 6);
  REQUIRE(b.load(path).at("step") == "1");
  require_same_state(b.model->state_dict(), a.model->state_dict());

  // A save that fails leaves the old file as it was.
  require_error([&] { a.save(path, {{"note", "\xff not UTF-8"}}); }, {path.string(), "UTF-8"});
  REQUIRE(read_bytes(path) == first);

  // The next save replaces it whole, and clears its own temporary name.
  a.step(a.loader.batch(1));
  a.save(path, {{"step", "2"}});
  REQUIRE(read_bytes(path) != first);
  REQUIRE(b.load(path).at("step") == "2");
  require_same_state(b.model->state_dict(), a.model->state_dict());
  REQUIRE_FALSE(fs::exists(path.string() + ".tmp-" + std::to_string(::getpid())));
}

TEST_CASE("checkpoint: auxiliary optimizers round-trip by name; mismatches change nothing", "[checkpoint]") {
  TempDir dir;
  const fs::path path = dir.path / "aux.safetensors";
  // A second parameter set with its own Adam, as FactorVAE's discriminator has.
  Run a(1, 2, 3);
  Generator init(9);
  nn::Linear critic(2, 3, true, &init);
  optim::Adam critic_adam(critic.parameters(), {.lr = 0.01, .beta1 = 0.5, .beta2 = 0.9});
  for (const Batch& b : a.loader) {
    a.step(b);
    critic_adam.zero_grad();
    sum(square(critic(b.labels))).backward();
    critic_adam.step();
  }
  save_checkpoint(path, *a.model, a.optimizer.get(), {{"dropout", &a.dropout_gen}}, {}, {{"train", &a.loader}},
                  {{"critic", &critic_adam}});
  const io::SafetensorsFile f = io::load_safetensors(path);
  REQUIRE(f.metadata.at("strata.optimizer.critic") == "Adam");
  REQUIRE(f.tensors.at("aux_optim.critic.step").item<int64_t>() == critic_adam.step_count());

  Run b(5, 6, 7);
  Generator init2(10);
  nn::Linear critic2(2, 3, true, &init2);
  optim::Adam critic2_adam(critic2.parameters(), {.lr = 0.5});
  load_checkpoint(path, *b.model, b.optimizer.get(), {{"dropout", &b.dropout_gen}}, {{"train", &b.loader}},
                  {{"critic", &critic2_adam}});
  const optim::OptimizerState want = critic_adam.state_dict(), got = critic2_adam.state_dict();
  REQUIRE(got.size() == want.size());
  for (const auto& [key, t] : want) {
    INFO(key);
    REQUIRE(same_bits(got.at(key), t));
  }
  // Loading weights only (no auxiliary map) ignores them.
  Run c(5, 6, 7);
  load_checkpoint(path, *c.model, nullptr, {});

  const std::string p = path.string();
  Run d(5, 6, 7);
  const optim::OptimizerState before = d.optimizer->state_dict();
  optim::Adam other(critic2.parameters(), {});
  require_error([&] { load_checkpoint(path, *d.model, d.optimizer.get(), {}, {}, {{"judge", &other}}); },
                {p, "auxiliary optimizers do not match", "missing from the checkpoint: judge",
                 "in the checkpoint but not given: critic"});
  optim::SGD sgd(critic2.parameters(), {});
  require_error([&] { load_checkpoint(path, *d.model, d.optimizer.get(), {}, {}, {{"critic", &sgd}}); },
                {p, "auxiliary optimizer 'critic' state of optimizer Adam but optimizer SGD"});
  // A critic of another shape: refused after the main optimizer loaded, which gets its state back.
  nn::Linear wide(2, 5, true, &init2);
  optim::Adam wide_adam(wide.parameters(), {});
  require_error([&] { load_checkpoint(path, *d.model, d.optimizer.get(), {}, {}, {{"critic", &wide_adam}}); },
                {p, "auxiliary optimizer 'critic' state"});
  const optim::OptimizerState after = d.optimizer->state_dict();
  REQUIRE(after.size() == before.size());
  for (const auto& [key, t] : before) REQUIRE(same_bits(after.at(key), t));
  require_error(
      [&] {
        save_checkpoint(path, *a.model, nullptr, {}, {}, {}, {{"a.b", &critic_adam}});
      },
      {"auxiliary optimizer name 'a.b'"});
}
