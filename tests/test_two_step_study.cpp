// `strata analyze two-step` (training/two_step_report.h): its bar chart, and the command end to end
// at --quick size (the estimators' tests are in test_decoder_geometry.cpp).
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli/command_line.h"
#include "test_helpers.h"
#include "training/line_plot_png.h"
#include "training/two_step_report.h"

using namespace strata;
using namespace strata::test;

TEST_CASE("render_bar_chart draws each bar in its colour up to its value", "[two-step-study]") {
  const Tensor img = training::render_bar_chart("t", {"a", "b"}, {{"g1", {1.0, 2.0}}, {"g2", {0.5, NAN}}},
                                                {.y_label = "y", .colours = {"#ff0000", "#0000ff"}});
  REQUIRE(img.dim() == 3);
  CHECK(img.size(0) == 3);
  const std::vector<float> px = img.to_vector<float>();
  const int64_t h = img.size(1), w = img.size(2);
  int64_t red = 0, blue = 0;
  for (int64_t i = 0; i < h * w; ++i) {
    if (px[i] == 1 && px[h * w + i] == 0 && px[2 * h * w + i] == 0) ++red;
    if (px[i] == 0 && px[h * w + i] == 0 && px[2 * h * w + i] == 1) ++blue;
  }
  // Bars of one width: red holds 1 + 0.5 units of height (plus its legend swatch), blue 2.
  CHECK(red > 0);
  CHECK(blue > 0);
  CHECK(std::abs(static_cast<double>(red) / static_cast<double>(blue) - 0.75) < 0.1);
  require_error([] { training::render_bar_chart("t", {"a"}, {{"g", {-1.0}}}); }, {"bar chart", ">= 0"});
  require_error(
      [] {
        training::render_bar_chart("t", {"a", "b"}, {{"g", {1.0}}});
      },
      {"bar chart", "1 values for 2 bars"});
}

TEST_CASE("strata analyze two-step parses its flags, runs at --quick size and writes its outputs",
          "[two-step-study]") {
  auto parse = [](std::vector<const char*> args) {
    args.insert(args.begin(), "strata");
    cli::CommandLine command_line;
    return command_line.parse(static_cast<int>(args.size()), args.data());
  };
  const cli::Command d = parse({"analyze", "two-step"});
  REQUIRE(d.action == cli::Action::AnalyzeTwoStep);
  CHECK(d.two_step.n == 1000);
  CHECK(d.two_step.step_sizes == std::vector<double>{0.05, 0.1, 0.2, 0.4});
  const std::string base = (std::filesystem::temp_directory_path() / "strata_test_two_step_study").string();
  std::filesystem::remove_all(base);
  const std::string runs = base + "/runs", out = base + "/out";
  // No classifier (its validation pass over the 10,000 test images alone would take seconds), and
  // the VAE alone (each run loads Fashion-MNIST, 0.4 s; the deterministic AE differs only in having
  // no prior row).
  cli::Command c =
      parse({"analyze", "two-step", "--quick", "--latent", "3", "--classifier", "none", "--autoencoders",
             "vae", "--runs", runs.c_str(), "--out", out.c_str(), "--threads", "1"});
  CHECK(c.two_step.pixel_fm);
  CHECK_FALSE(parse({"analyze", "two-step", "--no-pixel-fm"}).two_step.pixel_fm);
  CHECK(c.two_step.latent == 3);         // given: kept
  CHECK(c.two_step.limit_train == 256);  // not given: --quick's
  std::ostringstream log;
  c.two_step.log = &log;
  const training::TwoStepReport r = training::two_step_report(c.two_step);
  REQUIRE(r.stages.size() == 4);  // vae, vae-lfm, pixel-lfm, pixel-fm
  for (const auto& s : r.stages) {
    CHECK(s.parameters > 0);
    CHECK(s.steps == (s.stage == "vae" ? 4 : 8));  // 256 images in batches of 64
    CHECK(s.step_s <= s.wall_s);
  }
  REQUIRE(r.bounds.size() == 2);  // vae + lfm, vae + prior
  for (const auto& b : r.bounds) {
    INFO(b.autoencoder << " + " << b.latent_model);
    // The triangle inequality holds exactly for these empirical measures; the bound with the
    // Lipschitz lower bound need not, but the decoded term must not exceed Lip_true W1.
    CHECK(b.left <= b.reconstruction + b.decoded_w1 + 1e-6);
    CHECK(b.lipschitz >= b.lipschitz_jacobian);
    CHECK(b.lipschitz > 0);
  }
  CHECK(r.samples.size() == 6);  // reference, reconstructions, vae + lfm, vae prior, pixel lfm, pixel fm
  for (const auto& s : r.samples) {
    CHECK(std::isnan(s.frechet));  // --classifier none
    CHECK(s.w1 > 0);
    CHECK(std::isfinite(s.sliced_w2));
  }
  CHECK(r.densities.size() == 3 * 4 * 8);  // 3 models x (test, noise 0.3, uniform, blank) x 8 images
  for (const char* f :
       {"stages.csv", "samples.csv", "bound.csv", "density.csv", "density_summary.csv", "lipschitz.csv",
        "bound.png", "training_time.png", "lipschitz.png", "decoder_spectrum.csv", "decoder_spectrum.png",
        "density-vae.png", "density-vae-vs-pixel.png", "samples-vae-lfm.png", "samples-pixel-lfm.png",
        "reconstructions-vae.png"})
    CHECK(std::filesystem::exists(std::filesystem::path(out) / f));
  std::ifstream bound(std::filesystem::path(out) / "bound.csv");
  int lines = 0;
  for (std::string line; std::getline(bound, line);) ++lines;
  CHECK(lines == 3);
  CHECK(log.str().find("pixel-lfm: training") != std::string::npos);
  // What --reuse loads instead of training: a finished run of the same settings, threads aside (a
  // second whole study here would double the test's time).
  const auto stages = training::two_step_stage_configs(c.two_step);
  REQUIRE(stages.size() == 4);
  for (auto [name, config] : stages) {
    INFO(name);
    CHECK(training::finished_run_of(config));
    config.threads = 2;
    CHECK(training::finished_run_of(config));
    config.lr *= 2;
    CHECK_FALSE(training::finished_run_of(config));
  }
  c.two_step.classifier_run = "";
  CHECK(training::two_step_stage_configs(c.two_step).front().first == "classifier");
  CHECK_FALSE(training::finished_run_of(training::two_step_stage_configs(c.two_step).front().second));
  std::filesystem::remove_all(base);

  require_error(
      [&] {
        parse({"analyze", "two-step", "--autoencoders", "vae,gan"});
      },
      {"analyze two-step", "unknown autoencoder \"gan\"", "vae, ae"});
  require_error(
      [&] {
        parse({"analyze", "two-step", "--blocks", "3"});
      },
      {"analyze two-step", "--blocks 3", "2 --step-sizes"});
  require_error(
      [&] {
        parse({"analyze", "two-step", "--solver", "dopri5"});
      },
      {"analyze two-step", "fixed-step"});
}
