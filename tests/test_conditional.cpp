// Class-conditional members of the autoencoder family (CVAE, models/autoencoders/conditioning.h):
// the loss with the one-hot class on the encoder's and the decoder's input by hand, the conv
// layout of the condition, samples that follow the label, the errors, short training, and
// `strata train --conditional` on labelled data (checkpoints, resume, eval, per-class sample grids).
#include <stb/stb_image.h>

#include <cmath>
#include <filesystem>
#include <sstream>

#include "by_hand.h"
#include "engine/io/safetensors.h"
#include "engine/optim/adam.h"
#include "models/autoencoders/conditioning.h"
#include "models/autoencoders/vae.h"
#include "test_helpers.h"
#include "training/metrics_log.h"
#include "training/registry.h"
#include "training/run_evaluation.h"
#include "training/trainer.h"

using namespace strata;
using namespace strata::test;
using namespace strata::models;
namespace fs = std::filesystem;

namespace {

// 4 inputs, one hidden layer of 3, latent 2, conditioned on 3 classes; float64.
AutoencoderOptions tiny_conditional(int64_t classes = 3) {
  return {.input_dim = 4, .latent_dim = 2, .architecture = ArchitectureSpec::mlp({3}), .likelihood = {},
          .num_classes = classes};
}

std::shared_ptr<Vae> tiny_cvae(uint64_t seed) {
  Generator init(seed);
  auto m = std::make_shared<Vae>(tiny_conditional(), VaeOptions{}, &init, "CVAE");
  m->to(DType::Float64);
  return m;
}

Tensor tiny_batch(uint64_t seed) {
  Generator g(seed);
  return rand({3, 4}, {DType::Float64}, &g);
}

Tensor labels_of(const std::vector<int64_t>& v) { return from_vector(v, {static_cast<int64_t>(v.size())}); }

Shape shape_of(const nn::Module& m, const std::string& name) {
  for (const auto& [n, t] : m.named_parameters())
    if (n == name) return t.shape();
  FAIL("no parameter " << name);
  return {};
}

fs::path fresh_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("strata_test_conditional_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

}  // namespace

TEST_CASE("CVAE: reconstruction, KL and loss by hand with the one-hot class on both inputs", "[autoencoders]") {
  auto m = tiny_cvae(3);
  REQUIRE(m->conditional());
  // The class widens the first layer of each side: encoder 4 + 3 inputs, decoder 2 + 3.
  REQUIRE(shape_of(*m, "encoder.0.weight") == Shape{3, 7});
  REQUIRE(shape_of(*m, "decoder.0.weight") == Shape{3, 5});
  const Tensor x = tiny_batch(4);
  const std::vector<int64_t> labels = {2, 0, 1};
  Generator g(7);
  LossTerms terms;
  {
    const GivenLabels given(*m, labels_of(labels));
    terms = m->loss(x, &g);
  }
  const Mat xs = mat(x), onehot = one_hot_rows(labels, 3);
  const Mat h = linear(hcat(xs, onehot), *m, "encoder.0", 0);
  const Mat mu = linear(h, *m, "mean"), lv = linear(h, *m, "log_var");
  Generator eps_gen(7);
  const Mat eps = mat(randn({3, 2}, {DType::Float64}, &eps_gen));
  Mat z = mu;
  for (size_t i = 0; i < z.v.size(); ++i) z.v[i] = mu.v[i] + std::exp(0.5 * lv.v[i]) * eps.v[i];
  const Mat logits = linear(linear(hcat(z, onehot), *m, "decoder.0", 0), *m, "decoder.2");
  const double rec = mean_of(bce_rows(xs, logits)), kl = mean_of(kl_rows(mu, lv));
  REQUIRE(term(terms, "reconstruction").item<double>() == Approx(rec).epsilon(1e-12));
  REQUIRE(term(terms, "kl").item<double>() == Approx(kl).epsilon(1e-12));
  REQUIRE(term(terms, "loss").item<double>() == Approx(rec + kl).epsilon(1e-12));
  // Another class, another loss: the labels are read.
  Generator g2(7);
  const GivenLabels other(*m, labels_of({0, 1, 2}));
  REQUIRE(term(m->loss(x, &g2), "loss").item<double>() != Approx(rec + kl).epsilon(1e-6));
}

TEST_CASE("CVAE, conv architecture: the class is appended as constant image planes", "[autoencoders]") {
  const ArchitectureSpec spec = ArchitectureSpec::conv();
  Generator g(1);
  const Tensor x = rand({2, 784}, {}, &g);
  const Tensor onehot = one_hot_condition(labels_of({1, 0}), 2, DType::Float32, "CVAE");
  const Tensor joined = append_condition(x, onehot, spec, 784, "CVAE");
  REQUIRE(joined.shape() == Shape{2, 3 * 784});
  REQUIRE(conditioned_input_dim(spec, 784, 2, "CVAE") == 3 * 784);
  REQUIRE(conditioned_encoder_spec(spec, 2).channels == 3);
  const Mat j = mat(joined), xs = mat(x);
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t p = 0; p < 784; ++p) {
      REQUIRE(j.at(i, p) == xs.at(i, p));                            // the image first
      REQUIRE(j.at(i, 784 + p) == (i == 1 ? 1.0 : 0.0));             // plane of class 0
      REQUIRE(j.at(i, 2 * 784 + p) == (i == 0 ? 1.0 : 0.0));         // plane of class 1
    }
  // A conv CVAE: its first convolution reads 1 + 10 channels, its decoder latent + 10 features.
  Generator init(2);
  Vae conv({.input_dim = 784, .latent_dim = 4, .architecture = spec, .likelihood = {}, .num_classes = 10}, {}, &init, "CVAE");
  REQUIRE(shape_of(conv, "encoder.1.weight") == Shape{32, 11, 4, 4});
  REQUIRE(shape_of(conv, "decoder.0.weight") == Shape{256, 14});
  const GivenLabels given(conv, labels_of({3, 9}));
  REQUIRE(std::isfinite(conv.loss(x, &g).front().second.item<double>()));
  REQUIRE(conv.reconstruct(x).shape() == Shape{2, 784});
}

TEST_CASE("CVAE: samples follow the label; the decoder reads [z, one-hot] by hand", "[autoencoders]") {
  auto m = tiny_cvae(5);
  auto draw = [&](const std::vector<int64_t>& labels) {
    Generator g(11);
    const GivenLabels given(*m, labels_of(labels));
    return m->sample(static_cast<int64_t>(labels.size()), &g).to_vector<double>();
  };
  const std::vector<double> zeros_class = draw({0, 0, 0}), ones_class = draw({1, 1, 1});
  REQUIRE(zeros_class == draw({0, 0, 0}));  // deterministic given the generator
  for (size_t i = 0; i < zeros_class.size(); ++i) REQUIRE(zeros_class[i] != ones_class[i]);
  // The same prior draws decoded by hand with class 2.
  Generator g(11);
  const Mat z = mat(randn({3, 2}, {DType::Float64}, &g));
  const Mat logits = linear(linear(hcat(z, one_hot_rows({2, 2, 2}, 3)), *m, "decoder.0", 0), *m, "decoder.2");
  std::vector<double> means;
  for (double l : logits.v) means.push_back(1 / (1 + std::exp(-l)));
  require_values(from_vector(draw({2, 2, 2}), {3, 4}), means, 1e-12);
}

TEST_CASE("CVAE: missing, surplus and bad labels name the model and the values", "[autoencoders][errors]") {
  auto m = tiny_cvae(3);
  const Tensor x = tiny_batch(4);
  require_error([&] { m->loss(x); }, {"CVAE::encode", "conditioned on 3 classes", "GivenLabels"});
  require_error([&] { m->sample(2); }, {"CVAE::decode", "conditioned on 3 classes"});
  require_error([&] { GivenLabels(*m, labels_of({0, 3, 1})); }, {"CVAE", "class label 3", "0..2"});
  require_error([&] { GivenLabels(*m, from_vector(std::vector<float>{0, 1}, {2})); }, {"CVAE", "int64 [N]", "float32"});
  {
    const GivenLabels two(*m, labels_of({0, 1}));
    require_error([&] { m->loss(x); }, {"CVAE::encode", "2 class labels", "3 rows"});
    {
      const GivenLabels three(*m, labels_of({0, 1, 2}));
      REQUIRE(std::isfinite(m->loss(x).front().second.item<double>()));
    }
    require_error([&] { m->loss(x); }, {"2 class labels"});  // the outer labels are back
  }
  require_error([&] { m->loss(x); }, {"GivenLabels"});  // and gone after their scope
  Vae plain({.input_dim = 4, .latent_dim = 2, .architecture = ArchitectureSpec::mlp({3}), .likelihood = {}});
  require_error([&] { GivenLabels(plain, labels_of({0})); }, {"VAE", "not class-conditional"});

  // The registry: --conditional needs labels and a VAE-type model.
  training::RunConfig c;
  c.data = "tensors:unlabelled.safetensors";
  c.conditional = true;
  require_error([&] { training::make_model(c, 12, 0); },
                {"--conditional needs labelled data", "dataset tensors:unlabelled.safetensors has no labels"});
  c.model = "ae";
  require_error([&] { training::make_model(c, 12, 10); }, {"--conditional needs a VAE-type model", "ae"});
  c.model = "beta-vae";
  REQUIRE(training::make_model(c, 12, 10)->num_classes() == 10);
  c.model = "factor-vae";
  c.discriminator_hidden = {4};
  REQUIRE(training::make_model(c, 12, 10)->num_classes() == 10);
}

TEST_CASE("CVAE: short training lowers the loss", "[autoencoders][training]") {
  // x = [A u > 0] with the class = which side of a line u lies on: the class carries information.
  Generator g(1);
  const Tensor a = randn({2, 12}, {}, &g), u = randn({64, 2}, {}, &g);
  const Tensor x = to_dtype(gt(matmul(u, a), 0.0), DType::Float32);
  const Tensor labels = to_dtype(gt(select(u, 1, 0), 0.0), DType::Int64);
  Generator init(2);
  Vae m({.input_dim = 12, .latent_dim = 2, .architecture = ArchitectureSpec::mlp({16}), .likelihood = {}, .num_classes = 2},
        {}, &init, "CVAE");
  const GivenLabels given(m, labels);
  optim::Adam adam(m.parameters(), {.lr = 1e-2});
  Generator noise(5);
  double first = 0, last = 0;
  for (int i = 0; i < 40; ++i) {
    adam.zero_grad();
    const Tensor loss = m.loss(x, &noise).front().second;
    if (i == 0) first = loss.item<double>();
    if (i >= 35) last += loss.item<double>() / 5;
    loss.backward();
    adam.step();
  }
  INFO("first " << first << ", last " << last);
  REQUIRE(last < 0.85 * first);
}

TEST_CASE("strata train --conditional: labelled tensors, exact resume, eval from the checkpoint",
          "[autoencoders][trainer][resume]") {
  const fs::path dir = fresh_dir("tensors");
  Generator gen(42);
  const fs::path path = dir / "labelled.safetensors";
  io::save_safetensors(path, {{"train", rand({128, 12}, {}, &gen)},
                              {"train_labels", randint(0, 4, {128}, {DType::Int64}, &gen)},
                              {"validation", rand({32, 12}, {}, &gen)},
                              {"validation_labels", randint(0, 4, {32}, {DType::Int64}, &gen)}});
  training::RunConfig c;
  c.model = "vae";
  c.conditional = true;
  c.data = "tensors:" + path.string();
  c.hidden = {8};
  c.latent = 2;
  c.batch_size = 32;
  c.epochs = 2;
  c.out = (dir / "whole").string();
  REQUIRE(training::load_data(c).num_classes == 4);
  std::ostringstream log;
  training::train_run(c, {.log = &log});
  const auto saved = io::load_safetensors(fs::path(c.out) / "checkpoints/latest.safetensors");
  REQUIRE(saved.metadata.at("num_classes") == "4");
  REQUIRE(saved.tensors.at("model.encoder.0.weight").shape() == Shape{8, 12 + 4});
  REQUIRE(training::load_config((fs::path(c.out) / "config.json").string()).conditional);

  training::RunConfig parts = c;
  parts.out = (dir / "parts").string();
  REQUIRE(training::train_run(parts, {.stop_after_steps = 5, .log = &log}).interrupted);
  training::resume_run(parts.out, std::nullopt, {.log = &log});
  const training::MetricsTable a = training::read_metrics_csv(fs::path(c.out) / "metrics.csv");
  const training::MetricsTable b = training::read_metrics_csv(fs::path(parts.out) / "metrics.csv");
  REQUIRE(a.column("loss").size() == b.column("loss").size());
  for (const char* column : {"loss", "val_loss"})
    for (size_t r = 0; r < a.rows(); ++r) {
      const double x = a.column(column)[r], y = b.column(column)[r];
      REQUIRE((x == y || (std::isnan(x) && std::isnan(y))));
    }
  // eval rebuilds the conditional model from the run folder and scores with the labels.
  const auto val = training::evaluate_run(c.out, "latest");
  REQUIRE(val.front().second == a.column("val_loss").back());
  // So does `strata eval`'s report (the ELBO and log p(x) need the labels too); K = 1 log p(x)
  // and the ELBO are two estimates of one bound, so they agree within a few standard errors.
  const training::EvalReport report =
      training::evaluate_run_report(c.out, {.checkpoint = "latest", .importance_samples = 1});
  REQUIRE(report.loss_terms.front().second == Approx(a.column("val_loss").back()).epsilon(1e-6));
  REQUIRE(report.scores.examples == 32);
  REQUIRE(std::isfinite(report.scores.elbo));
  REQUIRE(std::abs(report.scores.log_likelihood - report.scores.elbo) <
          4 * (report.scores.elbo_stderr + report.scores.log_likelihood_stderr));

  // Labels that do not fit the data are refused, naming the file.
  io::save_safetensors(dir / "bad.safetensors", {{"train", rand({8, 12}, {}, &gen)},
                                                 {"train_labels", randint(0, 4, {7}, {DType::Int64}, &gen)}});
  training::RunConfig bad = c;
  bad.data = "tensors:" + (dir / "bad.safetensors").string();
  require_error([&] { training::load_data(bad); }, {"bad.safetensors", "train_labels", "int64 [8]", "[7]"});
  io::save_safetensors(dir / "novallabels.safetensors", {{"train", rand({8, 12}, {}, &gen)},
                                                         {"train_labels", randint(0, 4, {8}, {DType::Int64}, &gen)},
                                                         {"validation", rand({8, 12}, {}, &gen)}});
  bad.data = "tensors:" + (dir / "novallabels.safetensors").string();
  require_error([&] { training::load_data(bad); }, {"novallabels.safetensors", "validation_labels"});
  fs::remove_all(dir);
}

TEST_CASE("strata train --conditional on Fashion-MNIST: sample grids have one row per class", "[autoencoders][trainer][e2e]") {
  const fs::path dir = fresh_dir("fmnist");
  training::RunConfig c;
  c.model = "beta-vae";
  c.conditional = true;
  c.limit_train = 256;
  c.batch_size = 64;
  c.samples = 30;  // 3 per class
  c.hidden = {64};
  c.out = (dir / "cvae").string();
  std::ostringstream log;
  try {
    training::train_run(c, {.log = &log});
  } catch (const Error& e) {
    if (std::string(e.what()).find("dataset-fashion-mnist") != std::string::npos) {
      WARN("skipped: " << e.what());
      return;
    }
    throw;
  }
  // make_grid: rows * (28 + 2) + 2 high, columns * (28 + 2) + 2 wide.
  int w = 0, h = 0, channels = 0;
  REQUIRE(stbi_info((fs::path(c.out) / "samples/epoch_001.png").c_str(), &w, &h, &channels) == 1);
  REQUIRE(h == 10 * 30 + 2);
  REQUIRE(w == 3 * 30 + 2);
  const fs::path png = dir / "drawn.png";
  training::sample_run_to_png(c.out, 20, 3, png.string());
  REQUIRE(stbi_info(png.c_str(), &w, &h, &channels) == 1);
  REQUIRE(h == 10 * 30 + 2);
  REQUIRE(w == 2 * 30 + 2);
  fs::remove_all(dir);
}
