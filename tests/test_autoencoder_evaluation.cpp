// What every autoencoder is judged by: `strata eval` (analysis/autoencoder_evaluation.h,
// training/run_evaluation.h) and latent traversal grids (analysis/latent_traversal.h,
// training/traversal_grid.h), checked against values computed here in doubles.
#include <stb/stb_image.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <numbers>
#include <sstream>

#include "analysis/autoencoder_evaluation.h"
#include "analysis/latent_traversal.h"
#include "cli/command_line.h"
#include "engine/io/safetensors.h"
#include "models/autoencoders/ae.h"
#include "models/autoencoders/vae.h"
#include "test_helpers.h"
#include "training/metrics_log.h"
#include "training/run_evaluation.h"
#include "training/trainer.h"
#include "training/traversal_grid.h"

using namespace strata;
using namespace strata::test;
namespace fs = std::filesystem;

namespace {

fs::path fresh_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("strata_test_evaluation_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// Binary data of 12 values around two prototypes (each value flipped with probability 0.1), so a
// VAE has structure to learn and the Bernoulli likelihood is a true discrete one.
Tensor binary_rows(int64_t n, Generator& gen) {
  std::vector<float> p;
  const std::vector<int64_t> which = randint(0, 2, {n}, {DType::Int64}, &gen).to_vector<int64_t>();
  for (int64_t i = 0; i < n; ++i)
    for (int64_t d = 0; d < 12; ++d) p.push_back((d < 6) == (which[static_cast<size_t>(i)] == 0) ? 0.9f : 0.1f);
  return bernoulli(from_vector(p, {n, 12}), &gen);
}

training::RunConfig tiny_run(const fs::path& dir, const std::string& model) {
  Generator gen(8);
  const fs::path data = dir / "binary.safetensors";
  io::save_safetensors(data, {{"train", binary_rows(256, gen)}, {"validation", binary_rows(64, gen)}});
  training::RunConfig c;
  c.model = model;
  c.data = "tensors:" + data.string();
  c.hidden = {16};
  c.latent = 2;
  c.batch_size = 32;
  c.lr = 1e-2;
  c.epochs = 3;
  c.out = (dir / model).string();
  std::ostringstream log;
  training::train_run(c, {.log = &log});
  return c;
}

double mean_of(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

double log_normal(double x, double mean, double log_var) {
  return -0.5 * (std::log(2 * std::numbers::pi) + log_var + (x - mean) * (x - mean) / std::exp(log_var));
}

models::AutoencoderOptions small_options(int64_t latent = 3) {
  return {.input_dim = 12, .latent_dim = latent, .architecture = models::ArchitectureSpec::mlp({8}), .likelihood = {}};
}

struct Png {
  int width = 0, height = 0, channels = 0;
  std::unique_ptr<unsigned char, void (*)(void*)> pixels{nullptr, stbi_image_free};
  int at(int x, int y) const { return pixels.get()[(y * width + x) * channels]; }
};

Png read_png(const std::string& path) {
  Png png;
  png.pixels.reset(stbi_load(path.c_str(), &png.width, &png.height, &png.channels, 0));
  INFO("stbi_load(" << path << "): " << (png.pixels ? "ok" : stbi_failure_reason()));
  REQUIRE(png.pixels != nullptr);
  return png;
}

cli::Command parse(std::vector<std::string> args) {
  args.insert(args.begin(), "strata");
  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());
  cli::CommandLine command_line;
  return command_line.parse(static_cast<int>(argv.size()), argv.data());
}

}  // namespace

TEST_CASE("bits_per_dim is -log p / (D ln 2)", "[evaluation]") {
  REQUIRE(analysis::bits_per_dim(-784 * std::log(2.0), 784) == Approx(1.0).epsilon(1e-14));
  REQUIRE(analysis::bits_per_dim(-100.0, 10) == Approx(100.0 / (10 * 0.6931471805599453)).epsilon(1e-14));
  require_error([] { analysis::bits_per_dim(-1, 0); }, {"bits_per_dim", "dims", "0"});
}

TEST_CASE("evaluate_autoencoder: reconstruction error, ELBO and K = 1 log-likelihood by hand", "[evaluation]") {
  Generator init(5);
  models::Vae vae(small_options(), {}, &init);
  vae.to(DType::Float64);
  Generator data(6);
  const Tensor x = to_dtype(binary_rows(7, data), DType::Float64);
  const uint64_t seed = 17;
  // batch_size 3: the per-example values must not depend on how the examples are batched.
  const analysis::AutoencoderEvaluation r =
      analysis::evaluate_autoencoder(vae, x, {.importance_samples = 1, .batch_size = 3, .seed = seed});
  REQUIRE(r.examples == 7);
  REQUIRE(r.dims == 12);
  REQUIRE(r.likelihood_model);

  // By hand, from the model's encoder and decoder outputs and the draws of Generator(seed) in
  // batches of 3, 3 and 1: the reconstruction of the posterior mean, then the shared draw z.
  const std::vector<double> xs = x.to_vector<double>();
  Generator draws(seed);
  std::vector<double> rec, sq, elbo, ll;
  for (int64_t start = 0; start < 7; start += 3) {
    const int64_t n = std::min<int64_t>(3, 7 - start);
    const models::Encoding q = vae.encode(narrow(x, 0, start, n));
    const std::vector<double> mu = q.mean.to_vector<double>(), lv = q.log_var.to_vector<double>();
    const std::vector<double> m0 = sigmoid(vae.decode(q.mean)).to_vector<double>();
    const std::vector<double> eps = randn({n, 3}, {DType::Float64}, &draws).to_vector<double>();
    std::vector<double> z(eps.size());
    for (size_t k = 0; k < z.size(); ++k) z[k] = mu[k] + std::exp(0.5 * lv[k]) * eps[k];
    const std::vector<double> mz = sigmoid(vae.decode(from_vector(z, {n, 3}))).to_vector<double>();
    for (int64_t i = 0; i < n; ++i) {
      double nll0 = 0, se = 0, log_px_z = 0, kl = 0, log_pz_minus_qz = 0;
      for (int64_t d = 0; d < 12; ++d) {
        const double xv = xs[static_cast<size_t>((start + i) * 12 + d)];
        const double p0 = m0[static_cast<size_t>(i * 12 + d)], pz = mz[static_cast<size_t>(i * 12 + d)];
        nll0 -= xv * std::log(p0) + (1 - xv) * std::log(1 - p0);
        se += (xv - p0) * (xv - p0) / 12;
        log_px_z += xv * std::log(pz) + (1 - xv) * std::log(1 - pz);
      }
      for (int64_t j = 0; j < 3; ++j) {
        const size_t k = static_cast<size_t>(i * 3 + j);
        kl += 0.5 * (mu[k] * mu[k] + std::exp(lv[k]) - 1 - lv[k]);
        log_pz_minus_qz += log_normal(z[k], 0, 0) - log_normal(z[k], mu[k], lv[k]);
      }
      rec.push_back(nll0);
      sq.push_back(se);
      elbo.push_back(log_px_z - kl);
      ll.push_back(log_px_z + log_pz_minus_qz);
    }
  }
  require_values(from_vector(r.per_example.reconstruction_nll, {7}), rec, 1e-9);
  require_values(from_vector(r.per_example.squared_error, {7}), sq, 1e-9);
  require_values(from_vector(r.per_example.elbo, {7}), elbo, 1e-9);
  require_values(from_vector(r.per_example.log_likelihood, {7}), ll, 1e-9);
  REQUIRE(r.elbo == Approx(mean_of(elbo)).epsilon(1e-12));
  REQUIRE(r.log_likelihood == Approx(mean_of(ll)).epsilon(1e-12));
  REQUIRE(r.bits_per_dim == Approx(-mean_of(ll) / (12 * std::numbers::ln2)).epsilon(1e-12));
  REQUIRE(r.elbo_bits_per_dim == Approx(-mean_of(elbo) / (12 * std::numbers::ln2)).epsilon(1e-12));
  double ss = 0;
  for (double v : elbo) ss += (v - mean_of(elbo)) * (v - mean_of(elbo));
  REQUIRE(r.elbo_stderr == Approx(std::sqrt(ss / 6 / 7)).epsilon(1e-9));

  // A deterministic autoencoder gets the reconstruction numbers only.
  models::Ae ae(small_options(), &init);
  const analysis::AutoencoderEvaluation a = analysis::evaluate_autoencoder(ae, to_dtype(x, DType::Float32), {});
  REQUIRE_FALSE(a.likelihood_model);
  REQUIRE(a.per_example.elbo.empty());
  REQUIRE(a.reconstruction_nll > 0);
  require_error([&] { analysis::evaluate_autoencoder(ae, zeros({2, 5}), {}); }, {"AE evaluation", "[2, 5]", "12"});
  require_error([&] { analysis::evaluate_autoencoder(vae, x, {.importance_samples = 0}); }, {"VAE evaluation", "K", "0"});
}

TEST_CASE("strata eval on a tiny trained VAE: K = 1 agrees with the ELBO, K = 1000 lies above it", "[evaluation][trainer]") {
  const fs::path dir = fresh_dir("vae");
  const training::RunConfig c = tiny_run(dir, "vae");

  // The training objective's terms reproduce the last validation row of metrics.csv.
  const training::EvalReport one = training::evaluate_run_report(c.out, {.checkpoint = "latest", .importance_samples = 1});
  const training::MetricsTable t = training::read_metrics_csv(fs::path(c.out) / "metrics.csv");
  REQUIRE(one.loss_terms.front().first == "loss");
  REQUIRE(one.loss_terms.front().second == t.column("val_loss").back());
  const analysis::AutoencoderEvaluation& s1 = one.scores;
  REQUIRE(s1.examples == 64);
  REQUIRE(s1.importance_samples == 1);
  // With K = 1 both estimates use the same z per example and differ only in the KL estimator, a
  // zero-mean difference: their mean difference must lie within 4 standard errors of 0.
  std::vector<double> diff;
  for (size_t i = 0; i < s1.per_example.elbo.size(); ++i)
    diff.push_back(s1.per_example.log_likelihood[i] - s1.per_example.elbo[i]);
  double ss = 0;
  for (double d : diff) ss += (d - mean_of(diff)) * (d - mean_of(diff));
  const double se = std::sqrt(ss / 63 / 64);
  INFO("K = 1: log-likelihood " << s1.log_likelihood << ", ELBO " << s1.elbo << ", difference standard error " << se);
  REQUIRE(se > 0);
  REQUIRE(std::fabs(mean_of(diff)) < 4 * se);

  const training::EvalReport many = training::evaluate_run_report(c.out, {.importance_samples = 1000, .limit = 20});
  const analysis::AutoencoderEvaluation& s = many.scores;
  REQUIRE(s.examples == 20);
  REQUIRE(s.importance_samples == 1000);
  // The IWAE bound tightens with K (Burda et al. 2016, Theorem 1).
  INFO("K = 1000: log-likelihood " << s.log_likelihood << " +- " << s.log_likelihood_stderr << ", ELBO " << s.elbo);
  REQUIRE(s.log_likelihood > s.elbo);
  REQUIRE(s.log_likelihood < 0);  // a probability of binary data
  REQUIRE(s.bits_per_dim == Approx(-s.log_likelihood / (12 * std::log(2.0))).epsilon(1e-12));

  // eval.json holds what was reported (the last evaluation).
  std::ifstream in(fs::path(c.out) / "eval.json");
  const nlohmann::json j = nlohmann::json::parse(in);
  REQUIRE(j.at("examples") == 20);
  REQUIRE(j.at("dims") == 12);
  REQUIRE(j.at("split") == "validation");
  REQUIRE(j.at("importance_samples") == 1000);
  REQUIRE(j.at("log_likelihood").get<double>() == s.log_likelihood);
  REQUIRE(j.at("bits_per_dim").get<double>() == s.bits_per_dim);
  REQUIRE(j.at("elbo").get<double>() == s.elbo);
  REQUIRE(j.at("reconstruction_nll").get<double>() == s.reconstruction_nll);
  REQUIRE(j.at("loss_terms").contains("kl"));
  REQUIRE(j.at("bits_per_dim_note").get<std::string>().find("dequantisation") != std::string::npos);
  const std::vector<std::string> lines = training::report_lines(many);
  REQUIRE(lines.size() == 7);
  REQUIRE(lines[4].find("K = 1000 importance samples") != std::string::npos);

  // A deterministic autoencoder's run: reconstruction error only.
  const training::RunConfig ae = tiny_run(dir, "ae");
  const training::EvalReport a = training::evaluate_run_report(ae.out, {});
  REQUIRE_FALSE(a.scores.likelihood_model);
  std::ifstream ain(fs::path(ae.out) / "eval.json");
  const nlohmann::json aj = nlohmann::json::parse(ain);
  REQUIRE(aj.contains("reconstruction_nll"));
  REQUIRE_FALSE(aj.contains("log_likelihood"));
  REQUIRE_FALSE(aj.contains("elbo"));
  require_error([&] { training::evaluate_run_report(ae.out, {.checkpoint = "worst"}); }, {"best or latest", "worst"});

  // FactorVAE's run is a VAE's with a discriminator beside it: the same likelihood numbers (it was
  // refused as "not an autoencoder" before its trainer adapter exposed the model).
  const training::RunConfig fv = tiny_run(dir, "factor-vae");
  const training::EvalReport f = training::evaluate_run_report(fv.out, {.importance_samples = 10});
  REQUIRE(f.scores.likelihood_model);
  REQUIRE(f.scores.log_likelihood > f.scores.elbo - 4 * f.scores.elbo_stderr);
}

TEST_CASE("traversal codes sweep one dim per row over [-limit, limit], the others at the center", "[traversal]") {
  const Tensor center = from_vector(std::vector<double>{0.5, -1, 2}, {3});
  const Tensor codes = analysis::traversal_codes(center, {.dims = {2, 0}, .steps = 5, .limit = 3}, "VAE");
  REQUIRE(codes.shape() == Shape{10, 3});
  require_values(codes, {0.5, -1, -3,   0.5, -1, -1.5, 0.5, -1, 0,   0.5, -1, 1.5,  0.5, -1, 3,
                         -3,  -1, 2,    -1.5, -1, 2,   0,   -1, 2,   1.5, -1, 2,    3,   -1, 2},
                 1e-15);
  // No dims: every dim, in order.
  REQUIRE(analysis::traversal_codes(center, {.steps = 2}, "VAE").shape() == Shape{6, 3});
  require_error([&] { analysis::traversal_codes(center, {.dims = {3}}, "VAE"); },
                {"VAE traversal", "dimension 3", "3 dimensions"});
  require_error([&] { analysis::traversal_codes(center, {.steps = 1}, "VAE"); }, {"VAE traversal", "2 steps", "1"});
}

TEST_CASE("a traversal grid: row i decodes codes that differ from the center in dim i only, written atomically",
          "[traversal]") {
  // The registry's adapter, as the trainer sees the model; data as 4 x 3 "images" of 12 values.
  training::RunConfig config;
  config.hidden = {8};
  config.latent = 3;
  manual_seed(9);
  const std::unique_ptr<training::Trainable> model = training::make_model(config, 12);
  models::Autoencoder& ae = *model->autoencoder();
  Generator data_gen(2);
  const Tensor rows = rand({5, 12}, {}, &data_gen);
  const training::DataSplits data{std::make_shared<const TensorDataset>(rows), TensorDataset(rows), 4, 3, "validation"};

  const fs::path dir = fresh_dir("traversal");
  const std::string path = (dir / "sub" / "grid.png").string();
  const training::TraversalRequest request{.dims = {1, 2}, .steps = 5, .example = 3};
  training::write_traversal_grid(*model, data, request, path);
  const Png png = read_png(path);
  // make_grid geometry: 2 rows and 5 columns of 4 x 3 tiles, 2 pixels of padding.
  REQUIRE(png.channels == 1);
  REQUIRE(png.width == 5 * (3 + 2) + 2);
  REQUIRE(png.height == 2 * (4 + 2) + 2);

  // The decode check: tile (i, j) is the decoding of example 3's posterior mean with dim dims[i]
  // set to -3 + 1.5 j, built here value by value.
  const std::vector<double> mu = ae.encode(narrow(rows, 0, 3, 1)).code.to_vector<double>();
  for (int64_t i = 0; i < 2; ++i) {
    std::vector<std::vector<int>> row_pixels;
    for (int64_t j = 0; j < 5; ++j) {
      std::vector<double> code = mu;
      code[static_cast<size_t>(request.dims[static_cast<size_t>(i)])] = -3 + 1.5 * static_cast<double>(j);
      const std::vector<double> expected =
          ae.likelihood().mean(ae.decode(from_vector(std::vector<float>(code.begin(), code.end()), {1, 3}))).to_vector<double>();
      std::vector<int> tile;
      for (int y = 0; y < 4; ++y)
        for (int x = 0; x < 3; ++x) {
          const int got = png.at(2 + static_cast<int>(j) * 5 + x, 2 + static_cast<int>(i) * 6 + y);
          const int want = static_cast<int>(expected[static_cast<size_t>(y * 3 + x)] * 255 + 0.5);
          INFO("row " << i << " column " << j << " pixel " << x << "," << y);
          REQUIRE(std::abs(got - want) <= 1);  // float32 decode against 8-bit rounding
          tile.push_back(got);
        }
      row_pixels.push_back(tile);
    }
    REQUIRE(row_pixels.front() != row_pixels.back());  // the sweep shows
  }
  // The same check on the decoded values before 8-bit rounding, through analysis::latent_traversal.
  const Tensor decoded = analysis::latent_traversal(ae, from_vector(std::vector<float>(mu.begin(), mu.end()), {3}),
                                                    {.dims = {1, 2}, .steps = 5, .limit = 3});
  REQUIRE(decoded.shape() == Shape{10, 12});
  std::vector<float> hand_codes;
  for (int64_t dim : {1, 2})
    for (int64_t j = 0; j < 5; ++j) {
      std::vector<double> code = mu;
      code[static_cast<size_t>(dim)] = -3 + 1.5 * static_cast<double>(j);
      hand_codes.insert(hand_codes.end(), code.begin(), code.end());
    }
  require_values(decoded, ae.likelihood().mean(ae.decode(from_vector(hand_codes, {10, 3}))).to_vector<double>(), 1e-6);

  // Written through a temporary file renamed over the target: nothing else is left in the folder,
  // and a second grid replaces the first.
  training::write_traversal_grid(*model, data, {.dims = {0}, .steps = 3, .prior_center = true}, path);
  REQUIRE(read_png(path).height == 1 * (4 + 2) + 2);
  int files = 0;
  for (const auto& entry : fs::directory_iterator(dir / "sub")) {
    INFO(entry.path());
    REQUIRE(entry.path().filename() == "grid.png");
    ++files;
  }
  REQUIRE(files == 1);
  require_error([&] { training::write_traversal_grid(*model, data, {.example = 5}, path); },
                {"example 5", "validation", "5 examples"});
  training::DataSplits flat = data;
  flat.image_height = 0;
  require_error([&] { training::write_traversal_grid(*model, flat, {}, path); }, {"traversal", "not images"});
}

TEST_CASE("strata eval and sample --traversal flags", "[cli][evaluation][traversal]") {
  const cli::Command e = parse({"eval", "--run", "runs/x", "--eval-samples", "50", "--limit", "10"});
  REQUIRE(e.action == cli::Action::Eval);
  REQUIRE(e.eval_samples == 50);
  REQUIRE(e.eval_limit == 10);
  REQUIRE(parse({"eval", "--run", "runs/x"}).eval_samples == 1000);
  const cli::Command s = parse({"sample", "--run", "runs/x", "--traversal", "--dims", "0,3", "--steps", "7",
                                "--example", "2", "--prior-center"});
  REQUIRE(s.traversal);
  REQUIRE(s.traversal_dims == std::vector<int64_t>{0, 3});
  REQUIRE(s.traversal_steps == 7);
  REQUIRE(s.traversal_example == 2);
  REQUIRE(s.traversal_prior_center);
  require_error([] { parse({"eval", "--run", "x", "--eval-samples", "0"}); }, {"--eval-samples", "0"});
  require_error([] { parse({"eval", "--run", "x", "--limit", "-1"}); }, {"--limit", "-1"});
  require_error([] { parse({"sample", "--run", "x", "--traversal", "--dims", "0,x"}); }, {"--dims", "0,x"});
  require_error([] { parse({"sample", "--run", "x", "--traversal", "--steps", "1"}); }, {"--steps", "2..101"});
  require_error([] { parse({"sample", "--run", "x", "--dims", "1"}); }, {"--traversal"});
}

TEST_CASE("strata train writes a traversal grid for image data after every epoch", "[traversal][trainer][e2e]") {
  const fs::path dir = fresh_dir("fmnist");
  training::RunConfig c;
  c.limit_train = 256;
  c.batch_size = 64;
  c.samples = 4;
  c.hidden = {32};
  c.latent = 3;
  c.out = (dir / "vae").string();
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
  const Png png = read_png((fs::path(c.out) / "traversals" / "epoch_001.png").string());
  REQUIRE(png.width == 11 * (28 + 2) + 2);
  REQUIRE(png.height == 3 * (28 + 2) + 2);
  const std::string drawn = training::traversal_run_to_png(c.out, {.dims = {2}, .steps = 4}, "");
  REQUIRE(drawn == (fs::path(c.out) / "traversals" / "traversal.png").string());
  REQUIRE(read_png(drawn).width == 4 * (28 + 2) + 2);
}
