// The VAE generalization study (analysis/generalization.h, engine/data/image_shift.h,
// training/line_plot_png.h, training/generalization_report.h): the amortization-gap optimiser on a
// linear-Gaussian model whose posterior and log p(x) are known in closed form, the gap arithmetic,
// shifts of a tiny image by known amounts, parameter counts by hand, the PNG line plot, and the
// command end to end at --quick size.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <numbers>
#include <set>
#include <string>

#include "analysis/generalization.h"
#include "cli/command_line.h"
#include "engine/data/image_shift.h"
#include "test_helpers.h"
#include "training/generalization_report.h"
#include "training/line_plot_png.h"
#include "training/registry.h"

using namespace strata;
using namespace strata::test;
using namespace strata::analysis;

namespace {

// p(z) = N(0, I_2), p(x | z) = N(W z + b, sigma^2 I_4) with orthogonal columns of W, so the exact
// posterior is the diagonal Gaussian N(m, diag(1 / (1 + s_j^2 / sigma^2))), m_j = (w_j . (x - b)) /
// (sigma^2 + s_j^2), and the ELBO at it equals log p(x) = log N(x; b, W W^T + sigma^2 I).
struct LinearGaussian {
  static constexpr int64_t D = 4, L = 2;
  double sigma = 0.5;
  std::vector<double> w = {1.5, 0.5, 1.5, -0.5, 0.0, 1.0, 0.0, -1.0};  // row-major [D, L]: columns (1.5,1.5,0,0), (.5,-.5,1,-1)
  std::vector<double> b = {0.1, -0.2, 0.3, 0.0};

  double col_dot(int j, const std::vector<double>& v) const {
    double s = 0;
    for (int d = 0; d < D; ++d) s += w[d * L + j] * v[d];
    return s;
  }
  double col_norm2(int j) const {
    double s = 0;
    for (int d = 0; d < D; ++d) s += w[d * L + j] * w[d * L + j];
    return s;
  }
  DecoderLogLikelihood log_likelihood() const {
    const Tensor W = tensor64(w, {D, L}), B = tensor64(b, {1, D});
    const double s2 = sigma * sigma;
    return [W, B, s2](const Tensor& x, const Tensor& z) {
      const Tensor r = sub(x, add(matmul(z, transpose(W, 0, 1)), B));
      return sub(mul(sum(square(r), 1), -0.5 / s2), 0.5 * D * std::log(2 * std::numbers::pi * s2));
    };
  }
  // Exact posterior mean, log variance and log p(x) of one x.
  void exact(const std::vector<double>& x, double m[L], double lv[L], double& log_px) const {
    std::vector<double> r(D);
    for (int d = 0; d < D; ++d) r[d] = x[d] - b[d];
    const double s2 = sigma * sigma;
    double quad = 0, logdet = (D - L) * std::log(s2), proj2 = 0;
    for (int d = 0; d < D; ++d) quad += r[d] * r[d] / s2;
    for (int j = 0; j < L; ++j) {
      const double n2 = col_norm2(j), p = col_dot(j, r);
      m[j] = p / (s2 + n2);
      lv[j] = -std::log(1 + n2 / s2);
      const double p2 = p * p / n2;  // squared length of r along the unit column
      proj2 += p2;
      quad += p2 / (s2 + n2) - p2 / s2;
      logdet += std::log(s2 + n2);
    }
    (void)proj2;
    log_px = -0.5 * (D * std::log(2 * std::numbers::pi) + logdet + quad);
  }
};

}  // namespace

TEST_CASE("the amortization-gap optimiser reaches the exact Gaussian posterior of a linear-Gaussian model",
          "[generalization]") {
  const LinearGaussian model;
  const std::vector<std::vector<double>> xs = {{1.0, 0.5, -0.3, 0.8}, {-0.5, 0.2, 0.9, -1.1}, {0.0, 0.0, 0.0, 0.0}};
  std::vector<double> flat;
  for (const auto& x : xs) flat.insert(flat.end(), x.begin(), x.end());
  const Tensor x = tensor64(flat, {3, LinearGaussian::D});
  // Start from the prior, as an encoder that ignores x would.
  const Tensor mean0 = zeros({3, 2}, {DType::Float64}), log_var0 = zeros({3, 2}, {DType::Float64});
  const PosteriorOptimisation coarse = optimise_gaussian_posteriors(
      model.log_likelihood(), x, mean0, log_var0,
      {.steps = 1000, .lr = 0.02, .samples_per_step = 32, .eval_samples = 4000, .seed = 3});
  // Constant-lr Adam on a noisy gradient jitters by about lr around the optimum: a second run, started
  // where the first ended, at a tenth of the rate.
  const PosteriorOptimisation r = optimise_gaussian_posteriors(
      model.log_likelihood(), x, coarse.mean, coarse.log_var,
      {.steps = 1000, .lr = 0.002, .samples_per_step = 128, .eval_samples = 4000, .seed = 4});
  const std::vector<double> mean = r.mean.to_vector<double>(), log_var = r.log_var.to_vector<double>();
  double gap = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    double m[2], lv[2], log_px = 0;
    model.exact(xs[i], m, lv, log_px);
    for (int j = 0; j < 2; ++j) {
      CHECK(mean[i * 2 + j] == Approx(m[j]).margin(0.015));
      CHECK(log_var[i * 2 + j] == Approx(lv[j]).margin(0.04));
    }
    // At the exact posterior the ELBO is log p(x) (the estimate: 4000 draws of log p(x | z), KL exact).
    CHECK(r.optimised_elbo[i] == Approx(log_px).margin(0.02));
    // The start q = N(0, I): E log p(x | z) = -D/2 log(2 pi sigma^2) - (|x - b|^2 + tr W^T W) / (2 sigma^2), KL 0.
    double r2 = 0;
    for (int d = 0; d < 4; ++d) r2 += (xs[i][d] - model.b[d]) * (xs[i][d] - model.b[d]);
    const double s2 = model.sigma * model.sigma;
    const double elbo0 = -2 * std::log(2 * std::numbers::pi * s2) - (r2 + model.col_norm2(0) + model.col_norm2(1)) / (2 * s2);
    CHECK(coarse.initial_elbo[i] == Approx(elbo0).margin(1.0));  // 4000 draws of a spread-out log p(x | z)
    gap += (log_px - coarse.initial_elbo[i]) / 3;
  }
  CHECK(coarse.amortization_gap == Approx(gap).margin(0.01));
  CHECK(coarse.amortization_gap > 0);
  CHECK(std::abs(r.amortization_gap) < 0.02);  // already at the optimum
  REQUIRE(coarse.objective_per_step.size() == 1000);
  CHECK(coarse.objective_per_step.back() > coarse.objective_per_step.front());
  // Zero steps leave q as it was: no gap, the same draws for both ELBOs.
  const PosteriorOptimisation none =
      optimise_gaussian_posteriors(model.log_likelihood(), x, mean0, log_var0, {.steps = 0, .eval_samples = 10});
  CHECK(none.amortization_gap == 0.0);
}

TEST_CASE("the amortization-gap optimiser refuses bad input, naming the op and values", "[generalization]") {
  const LinearGaussian model;
  const Tensor x = zeros({3, 4}, {DType::Float64}), m = zeros({3, 2}, {DType::Float64});
  require_error([&] { optimise_gaussian_posteriors(model.log_likelihood(), x, zeros({2, 2}, {DType::Float64}), m); },
                {"amortization gap", "[3, 4]", "[2, 2]"});
  require_error([&] { optimise_gaussian_posteriors(model.log_likelihood(), x, m, m, {.steps = -1}); },
                {"amortization gap", "steps -1"});
  require_error([&] { optimise_gaussian_posteriors(model.log_likelihood(), x, m, m, {.lr = 0}); },
                {"amortization gap", "lr 0"});
  require_error([&] { gaussian_posterior_elbo(model.log_likelihood(), x, m, m, 0, nullptr); },
                {"gaussian_posterior_elbo", "samples must be >= 1, got 0"});
}

TEST_CASE("generalization gaps are train minus test", "[generalization]") {
  CHECK(generalization_gaps({-90, -95.5}, {-100, -99}) == std::vector<double>{10, 3.5});
  CHECK(generalization_gap({1, 2, 3}, {0, 1}) == Approx(1.5));
  CHECK(generalization_gap({-80}, {-80}) == 0.0);
  require_error([] { generalization_gaps({1, 2}, {1}); }, {"generalization gap", "2 and 1"});
  require_error([] { generalization_gap({}, {1}); }, {"generalization gap", "0 and 1"});
}

TEST_CASE("shift_images moves images by known amounts and fills with zeros", "[generalization]") {
  // One 3 x 4 image with values 1..12 and a second channel of 101..112.
  std::vector<double> v;
  for (int c = 0; c < 2; ++c)
    for (int k = 1; k <= 12; ++k) v.push_back(c * 100 + k);
  const Tensor img = tensor64(v, {1, 24});
  // dx = +1 (right), dy = -1 (up): out(y, x) = in(y + 1, x - 1).
  require_values(shift_images(img, 3, 4, {1}, {-1}),
                 {0, 5, 6, 7, 0, 9, 10, 11, 0, 0, 0, 0, 0, 105, 106, 107, 0, 109, 110, 111, 0, 0, 0, 0}, 0);
  require_values(shift_images(img, 3, 4, {0}, {0}), v, 0);
  require_values(shift_images(img, 3, 4, {-2}, {2}),
                 {0, 0, 0, 0, 0, 0, 0, 0, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 103, 104, 0, 0}, 0);
  require_values(shift_images(img, 3, 4, {4}, {0}), std::vector<double>(24, 0.0), 0);  // all pushed out
  // Float32 [N, H, W] keeps its shape.
  const Tensor f = tensor32({1, 2, 3, 4}, {1, 2, 2});
  REQUIRE(shift_images(f, 2, 2, {0}, {1}).shape() == Shape{1, 2, 2});
  require_values(shift_images(f, 2, 2, {0}, {1}), {0, 0, 1, 2}, 0);

  // Random shifts: every image is some shift within +-2, and more than one shift occurs.
  Generator gen(5);
  const int64_t n = 40;
  std::vector<double> many;
  for (int64_t i = 0; i < n; ++i)
    for (int k = 0; k < 36; ++k) many.push_back(1 + k + 100 * i);
  const Tensor batch = tensor64(many, {n, 36});
  const std::vector<double> out = random_shift_images(batch, 6, 6, 2, &gen).to_vector<double>();
  std::set<std::pair<int64_t, int64_t>> seen;
  for (int64_t i = 0; i < n; ++i) {
    bool matched = false;
    for (int64_t dx = -2; dx <= 2 && !matched; ++dx)
      for (int64_t dy = -2; dy <= 2 && !matched; ++dy) {
        const std::vector<double> e = shift_images(narrow(batch, 0, i, 1), 6, 6, {dx}, {dy}).to_vector<double>();
        if (std::equal(e.begin(), e.end(), out.begin() + i * 36)) matched = true, seen.insert({dx, dy});
      }
    CHECK(matched);
  }
  CHECK(seen.size() > 5);
  require_values(random_shift_images(batch, 6, 6, 0, &gen), many, 0);

  require_error([&] { shift_images(img, 5, 5, {0}, {0}); }, {"shift_images", "24 values", "5 x 5"});
  require_error([&] { shift_images(img, 3, 4, {0, 1}, {0}); }, {"shift_images", "(1)", "2 and 1"});
  require_error([&] { random_shift_images(img, 3, 4, -1); }, {"random_shift_images", "got -1"});
}

TEST_CASE("mlp autoencoder parameter counts by hand and against the built model", "[generalization]") {
  // 784 -> 512 -> 256 -> 2 x 32, 32 -> 256 -> 512 -> 784 (W1): 401920 + 131328 + 16448 + 8448 + 131584 + 402192.
  CHECK(mlp_autoencoder_parameter_count(784, {512, 256}, 32) == 1091920);
  // 3 -> 2 -> 2 x 1, 1 -> 2 -> 3: 8 + 6 + 4 + 9.
  CHECK(mlp_autoencoder_parameter_count(3, {2}, 1) == 27);
  CHECK(mlp_autoencoder_parameter_count(3, {2}, 1, /*stochastic=*/false) == 24);
  for (const std::vector<int64_t>& widths : {std::vector<int64_t>{64, 16}, std::vector<int64_t>{8, 128}}) {
    training::RunConfig c;
    c.model = "vae";
    c.arch = "mlp";
    c.hidden = widths;
    c.latent = 5;
    std::unique_ptr<training::Trainable> vae = training::make_model(c, 784);
    int64_t n = 0;
    for (const Tensor& p : vae->parameters()) n += p.numel();
    CHECK(n == mlp_autoencoder_parameter_count(784, widths, 5));
  }
  require_error([] { mlp_autoencoder_parameter_count(784, {}, 32); }, {"mlp_autoencoder_parameter_count", "0 widths"});
}

TEST_CASE("render_line_plot draws the series in their colours and refuses what it cannot draw", "[generalization]") {
  training::CurveSeries a{"a", {1, 2, 3}, {0, 1, 4}, "#ff0000"};
  training::CurveSeries b{"b", {1, 2, 3}, {2, NAN, 1}, "#0000ff", training::CurveStyle::Markers};
  const Tensor img = training::render_line_plot("t", {a, b}, {.width = 300, .height = 200});
  REQUIRE(img.shape() == Shape{3, 200, 300});
  const std::vector<float> p = img.to_vector<float>();
  const int64_t plane = 200 * 300;
  int64_t red = 0, blue = 0;
  for (int64_t i = 0; i < plane; ++i) {
    red += p[i] == 1.f && p[plane + i] == 0.f && p[2 * plane + i] == 0.f;
    blue += p[i] == 0.f && p[plane + i] == 0.f && p[2 * plane + i] == 1.f;
  }
  CHECK(red > 50);
  CHECK(blue > 20);
  require_error([] { training::render_line_plot("t", {}); }, {"line plot \"t\"", "no series"});
  require_error([] { training::render_line_plot("t", {{"s", {1, 2}, {1}}}); }, {"series \"s\"", "2 x values but 1"});
  require_error([] { training::render_line_plot("t", {{"s", {1}, {NAN}}}); }, {"no finite point"});
  require_error([] { training::render_line_plot("t", {{"s", {-1}, {1}}}, {.log_x = true}); }, {"no finite point"});
}

TEST_CASE("strata analyze generalization parses its flags, runs at --quick size and writes its outputs",
          "[generalization]") {
  auto parse = [](std::vector<const char*> args) {
    args.insert(args.begin(), "strata");
    cli::CommandLine command_line;
    return command_line.parse(static_cast<int>(args.size()), args.data());
  };
  const cli::Command d = parse({"analyze", "generalization"});
  REQUIRE(d.action == cli::Action::AnalyzeGeneralization);
  CHECK(d.generalization.subset == 3000);
  CHECK(d.generalization.sweep);
  const std::string out = (std::filesystem::temp_directory_path() / "strata_test_generalization").string();
  std::filesystem::remove_all(out);
  cli::Command c = parse({"analyze", "generalization", "--quick", "--epochs", "3", "--hidden", "32,16",
                          "--regimes", "normal,synthetic,augmented", "--out", out.c_str(), "--threads", "1"});
  REQUIRE(c.generalization.epochs == 3);                          // given: kept
  CHECK(c.generalization.subset == 200);                          // not given: --quick's
  CHECK(c.generalization.hidden == std::vector<int64_t>{32, 16});
  CHECK(parse({"analyze", "generalization", "--skip-sweep"}).generalization.sweep == false);
  std::ostringstream log;
  c.generalization.log = &log;
  const training::GeneralizationReport r = training::generalization_report(c.generalization);
  CHECK(r.curves.size() == 9);  // 3 regimes x 3 epochs
  REQUIRE(r.summary.size() == 3);
  for (const auto& s : r.summary) {
    CHECK(std::isfinite(s.test_elbo));
    CHECK(s.elbo_gap == Approx(s.train_elbo - s.test_elbo).margin(1e-9));
    CHECK(s.test_iwae >= s.test_elbo - 5);  // K = 10: a bound at least about as tight as the ELBO
    CHECK(s.test_amortization_gap > -1);    // 5 Adam steps from the encoder's output do not make it much worse
  }
  CHECK(r.sweep.size() == 4);  // 2 inner + 2 outer widths
  for (const char* f : {"curves.csv", "summary.csv", "sweep.csv", "flow.csv", "elbo_curves.png",
                        "generalization_gap.png", "width_sweep.png", "flow_loss.png", "examples.png"})
    CHECK(std::filesystem::exists(std::filesystem::path(out) / f));
  std::ifstream curves(std::filesystem::path(out) / "curves.csv");
  int lines = 0;
  for (std::string line; std::getline(curves, line);) ++lines;
  CHECK(lines == 10);
  CHECK(log.str().find("synthetic epoch 3/3") != std::string::npos);
  std::filesystem::remove_all(out);

  require_error([&] { parse({"analyze", "generalization", "--regimes", "normal,gan"}); },
                {"analyze generalization", "unknown regime \"gan\"", "normal, synthetic, augmented"});
  require_error([&] { parse({"analyze", "generalization", "--synthetic-pixels", "round"}); },
                {"analyze generalization", "--synthetic-pixels must be bernoulli or threshold", "round"});
  require_error(
      [&] {
        training::GeneralizationOptions o;
        o.subset = 1;
        training::generalization_report(o);
      },
      {"analyze generalization", "--subset >= 2", "got 1"});
}
